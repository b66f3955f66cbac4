"""The estimator's side of Array API input: namespaces, copies, predictions.

With ``sklearn.set_config(array_api_dispatch=True)`` and ``X`` from another
namespace than numpy (torch, cupy, array-api-strict), the estimator keeps
``X`` on its device and fits with the Array API objective
(:mod:`sk_softmax._objective._array_api`). These functions are the few places
where the estimator meets such arrays: the labels and weights it validates on
the host, the fitted attributes it puts on ``X``'s device, and the predictions
it computes there. For numpy input each is the numpy code it replaced.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.utils.extmath import safe_sparse_dot

from ._sklearn_compat import (
    array_namespace,
    convert_to_numpy,
    get_namespace_and_device,
    is_array_api_obj,
    is_numpy_namespace,
    move_to,
)

__all__ = [
    "classes_like",
    "float_dtypes",
    "log_probabilities",
    "model_arrays",
    "predicted_labels",
    "probabilities",
    "scores",
    "to_host",
]


def to_host(a, dtype=None):
    """``a`` as a numpy array if it is an array of another namespace, else ``a``.

    The one device-to-host conversion of the package: the estimator's (the
    labels, weights and fitted attributes it validates on the host) and the
    Array API backend's (``(loss, gradient)`` of each evaluation, with
    ``dtype``).

    Parameters
    ----------
    a : object
        An array of any namespace, an array-like, or None.
    dtype : dtype or None, default=None
        If given, always a new, writeable numpy array of this dtype (one
        device-to-host copy, never a view of ``a``'s memory).

    Returns
    -------
    a : object
        A numpy array for a non-numpy array, ``a`` itself otherwise.
    """
    if dtype is not None:
        # np.array copies: a CPU tensor converts without a copy (DLPack) and
        # must not be aliased by a vector the solver writes to.
        return np.array(move_to(a, xp=np, device="cpu"), dtype=dtype)
    if isinstance(a, np.ndarray) or not is_array_api_obj(a):
        return a
    return convert_to_numpy(a, array_namespace(a))


def float_dtypes(X):
    """``[float64, float32]`` of ``X``'s namespace, for ``validate_data``.

    Parameters
    ----------
    X : array-like
        The input.

    Returns
    -------
    dtypes : list
    """
    if isinstance(X, np.ndarray):  # numpy's; skips the lookup (~4 us a fit)
        return [np.float64, np.float32]
    xp, _, _ = get_namespace_and_device(X)
    return [xp.float64, xp.float32]


def model_arrays(coef, intercept, X):
    """``coef_`` and ``intercept_`` in the namespace, device and dtype of ``X``.

    Parameters
    ----------
    coef : ndarray of shape (n_classes, n_features)
        Host weights (a view of the solver's vector).
    intercept : ndarray of shape (n_classes,)
        Host intercepts.
    X : array
        The training data.

    Returns
    -------
    coef, intercept : arrays
        New arrays (never views of the solver's vector).
    """
    if isinstance(X, np.ndarray):
        return np.array(coef, dtype=X.dtype), np.array(intercept, dtype=X.dtype)
    xp, _, device = get_namespace_and_device(X)
    if is_numpy_namespace(xp):
        return np.array(coef, dtype=X.dtype), np.array(intercept, dtype=X.dtype)
    coef = move_to(np.array(coef), xp=xp, device=device)
    intercept = move_to(np.array(intercept), xp=xp, device=device)
    return xp.astype(coef, X.dtype), xp.astype(intercept, X.dtype)


def classes_like(classes, y):
    """``classes`` in the namespace and on the device of ``y``.

    As ``LogisticRegression`` keeps ``classes_`` under array API dispatch:
    numpy for numpy arrays, lists and DataFrames.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        Host classes.
    y : object
        The targets passed to ``fit``.

    Returns
    -------
    classes : array
    """
    if isinstance(y, np.ndarray):
        return classes
    xp_y, _, device_y = get_namespace_and_device(y if is_array_api_obj(y) else None)
    if is_numpy_namespace(xp_y):
        return classes
    return move_to(classes, xp=xp_y, device=device_y)


def scores(X, coef, intercept, xp):
    """``X coef^T + intercept`` (n, K) and the namespace ``xp`` of ``X``.

    Parameters
    ----------
    X : {array, sparse matrix} of shape (n_samples, n_features)
        Validated input, in the fitted model's namespace.
    coef : array or sparse matrix of shape (n_classes, n_features)
        ``coef_``: dense, or a host CSR matrix after ``sparsify()``.
    intercept : array of shape (n_classes,)
        ``intercept_``.
    xp : namespace
        The namespace of ``X``.

    Returns
    -------
    Z : array of shape (n_samples, n_classes)
    xp : namespace
    """
    if sp.issparse(coef):
        if not is_numpy_namespace(xp):  # dense (K, d) values on X's device
            device = get_namespace_and_device(X)[2]
            coef = move_to(coef.toarray(), xp=xp, device=device)
        elif sp.issparse(X) and X.dtype != coef.dtype:
            # scipy multiplies sparse by sparse in one dtype only.
            dtype = np.result_type(X.dtype, coef.dtype)
            X, coef = X.astype(dtype, copy=False), coef.astype(dtype, copy=False)
    if is_numpy_namespace(xp):
        Z = safe_sparse_dot(X, coef.T, dense_output=True)
        Z += intercept
        return Z, xp
    dtype = xp.result_type(X.dtype, coef.dtype)  # numpy's promotion
    Z = xp.astype(X, dtype) @ xp.astype(coef, dtype).T
    return Z + xp.astype(intercept, dtype), xp


def probabilities(Z, xp):
    """``softmax(Z)`` along the classes (scipy's for numpy).

    Parameters
    ----------
    Z : array of shape (n_samples, n_classes)
        Scores.
    xp : namespace
        The namespace of ``Z``.

    Returns
    -------
    P : array of shape (n_samples, n_classes)
    """
    if is_numpy_namespace(xp):
        return softmax(Z, axis=1)
    E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
    return E / xp.sum(E, axis=1, keepdims=True)


def log_probabilities(Z, xp):
    """``log_softmax(Z) = Z - logsumexp(Z)`` along the classes.

    Parameters
    ----------
    Z : array of shape (n_samples, n_classes)
        Scores.
    xp : namespace
        The namespace of ``Z``.

    Returns
    -------
    log_P : array of shape (n_samples, n_classes)
    """
    if is_numpy_namespace(xp):
        return log_softmax(Z, axis=1)
    Z = Z - xp.max(Z, axis=1, keepdims=True)
    return Z - xp.log(xp.sum(xp.exp(Z), axis=1, keepdims=True))


def predicted_labels(classes, Z, xp):
    """The labels of the largest scores, as ``LinearClassifierMixin.predict``.

    Indices go to the namespace of ``classes``; the labels come back to the
    namespace and device of the scores, unless they are strings.

    Parameters
    ----------
    classes : array of shape (n_classes,)
        ``classes_``.
    Z : array of shape (n_samples, n_classes)
        Scores.
    xp : namespace
        The namespace of ``Z``.

    Returns
    -------
    labels : array of shape (n_samples,)
    """
    if is_numpy_namespace(xp) and isinstance(classes, np.ndarray):
        return classes[np.argmax(Z, axis=1)]
    indices = xp.argmax(Z, axis=1)
    xp_c, _, device_c = get_namespace_and_device(classes)
    labels = xp_c.take(classes, move_to(indices, xp=xp_c, device=device_c))
    if isinstance(classes, np.ndarray) and classes.dtype.kind in "OUS":
        return labels
    return move_to(labels, xp=xp, device=get_namespace_and_device(Z)[2])
