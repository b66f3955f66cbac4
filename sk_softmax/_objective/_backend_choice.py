"""The one place where a backend of the objective is chosen: :func:`make_objective`.

- a Dask array: the Dask backend (:mod:`sk_softmax._objective._dask`), the
  numpy kernel on each row block, on the worker holding it;
- a numpy array or a scipy.sparse matrix, or any array of the numpy
  namespace: the numpy / scipy.sparse backend
  (:mod:`sk_softmax._objective._numpy`);
- an array of another Array API namespace (torch, cupy, array-api-strict,
  under ``array_api_dispatch``): the Array API backend
  (:mod:`sk_softmax._objective._array_api`), on the array's device.

Everything above the objective (the estimators, the CV paths, inference)
builds its objective here and uses only the public protocol
(:class:`~sk_softmax._objective._protocol.DataTerm` and the penalized
objective's methods) afterwards.
"""

import numpy as np
import scipy.sparse as sp

from .._sklearn_compat import get_namespace_and_device, is_numpy_namespace
from ._array_api import ArrayAPISoftmaxCrossEntropy
from ._numpy import ChunkedSoftmaxCrossEntropy

__all__ = ["make_objective"]


def _is_dask_array(X):
    """Whether ``X`` is a Dask array (without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def make_objective(
    X,
    y,
    n_classes,
    sample_weight=None,
    *,
    C=1.0,
    l1_ratio=0.0,
    fit_intercept=True,
    chunk_size=None,
    label_smoothing=0.0,
    weight_sum=None,
    groups=None,
    client=None,
):
    """The objective of validated data, on the backend of ``X``.

    Parameters
    ----------
    X : {ndarray, sparse matrix, Array API array, dask.array.Array}
        Validated training data, float32 or float64.
    y : array of shape (n_samples,) or (n_samples, n_classes)
        Validated class codes in ``0 .. n_classes - 1`` or soft targets
        (host numpy arrays; a Dask array with ``X``'s row blocks for Dask
        ``X``).
    n_classes : int
        Number of classes ``K``.
    sample_weight : array of shape (n_samples,) or None, default=None
        Validated (class-weighted) sample weights; None means all ones.
    C : float, default=1.0
        Inverse of the regularisation strength (``np.inf``: none).
    l1_ratio : float, default=0.0
        The elastic-net mixing parameter.
    fit_intercept : bool, default=True
        Whether the model has intercepts.
    chunk_size : int or None, default=None
        Rows per chunk of the kernels; None: the backend's choice.
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1).
    weight_sum : float or None, default=None
        ``S``, the sum the data term is divided by; None means
        ``sum(sample_weight)`` (Dask: the validation's global sum).
    groups : dask.array.Array or None, default=None
        Dask only: the rows' cluster labels, kept with the blocks (for
        inference's ``cov_type="cluster"``).
    client : distributed.Client or None, default=None
        Dask only: the cluster; None uses the current client, if any.

    Returns
    -------
    objective : SoftmaxObjective
        The penalized objective of the chosen backend.
    """
    kwargs = dict(
        sample_weight=sample_weight,
        C=C,
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
        label_smoothing=label_smoothing,
        weight_sum=weight_sum,
    )
    if _is_dask_array(X):  # summed over its blocks, on the workers
        from ._dask import DaskSoftmaxObjective

        return DaskSoftmaxObjective(
            X, y, n_classes, groups=groups, client=client, **kwargs
        )
    if groups is not None:
        raise ValueError("groups are kept with the blocks of Dask input only.")
    if isinstance(X, np.ndarray) or sp.issparse(X):  # skips the lookup
        return ChunkedSoftmaxCrossEntropy(X, y, n_classes, **kwargs)
    xp, _, device = get_namespace_and_device(X)
    if is_numpy_namespace(xp):
        return ChunkedSoftmaxCrossEntropy(X, y, n_classes, **kwargs)
    return ArrayAPISoftmaxCrossEntropy(X, y, n_classes, xp=xp, device=device, **kwargs)
