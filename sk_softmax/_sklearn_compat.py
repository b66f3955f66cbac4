"""scikit-learn 1.6 to 1.9: every private scikit-learn helper the package uses.

The package supports every scikit-learn from 1.6 (``pyproject.toml``); CI
runs the test suite on the newest release and on the oldest supported
scikit-learn, numpy and scipy (``.ci/constraints-oldest.txt``). The private
scikit-learn helpers that some of those versions lack are imported here
only, each behind a version guard, with a replacement of ours of the same
contract for the versions without it:

========================  ===============  ==================================
helper                    scikit-learn     before that version
========================  ===============  ==================================
``check_same_namespace``  1.9              :func:`check_same_namespace` here
``move_to``               1.8              :func:`move_to` here (via numpy)
``_align_api_if_sparse``  1.9              ``csr_matrix`` (the only sparse
                                           interface before 1.9's
                                           ``sparse_interface`` setting)
``array_api_compat``      1.7 (vendored)   the ``array_api_compat`` package,
                                           which 1.6 needs for array API
                                           dispatch anyway; without it, the
                                           array API protocol alone
``_convert_to_numpy``     1.7 (handles     :func:`_to_numpy` here
                          array-api-strict)
``sklearn.callback``      1.9              see :mod:`sk_softmax._callbacks`
========================  ===============  ==================================

The other private helpers the package uses exist with the same signatures
in 1.6 to 1.9 (both CI passes import and exercise them); they are imported
here too, without a guard, and re-exported under public names, so that the
rest of the package imports no private scikit-learn module or name (a
release that moves one breaks this module only):

- ``fit_context``: ``sklearn.base._fit_context``;
- ``Hidden``, ``Interval``, ``StrOptions``: the parameter constraints of
  ``sklearn.utils._param_validation``;
- ``check_sample_weight``, ``check_method_params``, ``check_feature_names``,
  ``check_n_features``: ``_check_sample_weight``, ``_check_method_params``,
  ``_check_feature_names``, ``_check_n_features`` of
  ``sklearn.utils.validation``;
- ``get_namespace``, ``get_namespace_and_device``, ``is_numpy_namespace``,
  ``max_precision_float_dtype``: ``sklearn.utils._array_api``'s (the last
  two with a leading underscore there);
- ``raise_for_params``, ``routing_enabled``: ``_raise_for_params``,
  ``_routing_enabled`` of ``sklearn.utils.metadata_routing``.

Besides these imports, the estimators override one private method of
scikit-learn's ``BaseEstimator``, with the same contract in 1.6 to 1.9:
``_get_param_names`` (a classmethod returning the constructor's parameter
names; cached per class in :mod:`sk_softmax._base`, where the measurement
is), and use on themselves the private ``_validate_params``,
``_init_callback_context`` and ``_skl_callbacks`` (the last two from 1.9,
see :mod:`sk_softmax._callbacks`).
"""

import re

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn import get_config
from sklearn.base import _fit_context as fit_context
from sklearn.utils._array_api import _is_numpy_namespace as is_numpy_namespace
from sklearn.utils._array_api import (
    _max_precision_float_dtype as max_precision_float_dtype,
)
from sklearn.utils._array_api import get_namespace, get_namespace_and_device
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params as raise_for_params
from sklearn.utils.metadata_routing import _routing_enabled as routing_enabled
from sklearn.utils.validation import _check_feature_names as check_feature_names
from sklearn.utils.validation import _check_method_params as check_method_params
from sklearn.utils.validation import _check_n_features as check_n_features
from sklearn.utils.validation import _check_sample_weight as check_sample_weight

__all__ = [
    "SKLEARN_VERSION",
    "Hidden",
    "Interval",
    "StrOptions",
    "align_sparse_interface",
    "array_namespace",
    "check_feature_names",
    "check_method_params",
    "check_n_features",
    "check_same_namespace",
    "check_sample_weight",
    "convert_to_numpy",
    "fit_context",
    "get_namespace",
    "get_namespace_and_device",
    "is_array_api_obj",
    "is_numpy_namespace",
    "max_precision_float_dtype",
    "move_to",
    "raise_for_params",
    "routing_enabled",
    "scorer_with_params",
]


def _parse_version(version):
    """``(major, minor)`` of a version string such as ``"1.9.1"`` or
    ``"1.10.dev0"``."""
    major, minor = re.match(r"(\d+)\.(\d+)", version).groups()
    return int(major), int(minor)


#: ``(major, minor)`` of the installed scikit-learn.
SKLEARN_VERSION = _parse_version(sklearn.__version__)


def _to_numpy(array, xp):
    """``array`` of namespace ``xp`` as a numpy array on the host
    (scikit-learn 1.6's ``_convert_to_numpy`` plus array-api-strict, whose
    arrays may refuse ``numpy.asarray`` off its CPU device)."""
    name = xp.__name__
    if name in {"array_api_compat.torch", "torch"}:
        return array.cpu().numpy()
    if name in {"array_api_compat.cupy", "cupy"}:  # pragma: no cover - no GPU
        return array.get()
    if name == "array_api_strict":
        return np.asarray(xp.asarray(array, device=xp.Device("CPU_DEVICE")))
    return np.asarray(array)


if SKLEARN_VERSION >= (1, 7):
    from sklearn.externals.array_api_compat import array_namespace, is_array_api_obj
    from sklearn.utils._array_api import _convert_to_numpy as convert_to_numpy
else:
    convert_to_numpy = _to_numpy
    try:  # scikit-learn 1.6's array API dispatch requires it
        from array_api_compat import array_namespace, is_array_api_obj
    except ImportError:  # then no dispatch: only numpy arrays reach the estimator

        def is_array_api_obj(x):
            """Whether ``x`` has the array API protocol (``__array_namespace__``)."""
            return isinstance(x, np.ndarray) or hasattr(x, "__array_namespace__")

        def array_namespace(*arrays):
            """The namespace of an array with the array API protocol."""
            return arrays[0].__array_namespace__()


def _move_to(array, *, xp, device):
    """``array`` in namespace ``xp`` on ``device`` (through the host).

    scikit-learn 1.8's ``move_to`` for one array: None and scipy.sparse
    (numpy target only) pass through, an array already there is
    returned as is, float64 becomes float32 where the device has no
    float64.

    Parameters
    ----------
    array : array, sparse matrix or None
        The array to move.
    xp : namespace
        The target namespace.
    device : device
        The target device.

    Returns
    -------
    array : array, sparse matrix or None
    """
    if array is None:
        return None
    if sp.issparse(array):
        if not is_numpy_namespace(xp):
            raise TypeError(
                "Sparse arrays are only accepted (and passed through) when "
                "the target namespace is Numpy"
            )
        return array
    xp_array, _, device_array = get_namespace_and_device(array)
    if xp_array == xp and device_array == device:
        return array
    if (
        max_precision_float_dtype(xp, device) == xp.float32
        and array.dtype == xp_array.float64
    ):  # pragma: no cover - a float32-only device (Apple MPS)
        array = xp_array.astype(array, xp_array.float32)
    host = array if isinstance(array, np.ndarray) else _to_numpy(array, xp_array)
    if is_numpy_namespace(xp):
        return host
    return xp.asarray(host, device=device)


if SKLEARN_VERSION >= (1, 8):
    from sklearn.utils._array_api import move_to
else:
    move_to = _move_to


def _to_csr_matrix(X):
    """``X`` as a ``csr_matrix``: the sparse interface of scikit-learn
    before 1.9 (whose ``sparse_interface`` setting picks matrix or array).

    Parameters
    ----------
    X : sparse matrix or array
        A CSR matrix or array.

    Returns
    -------
    X : scipy.sparse.csr_matrix
    """
    return sp.csr_matrix(X)


def _check_same_namespace(X, estimator, *, attribute, method):
    """Raise if ``X`` is not in the namespace and on the device of the
    fitted ``attribute`` (scikit-learn 1.9's check, under
    ``array_api_dispatch`` only).

    Parameters
    ----------
    X : array-like
        The input of ``method``.
    estimator : estimator
        The fitted estimator.
    attribute : str
        A fitted array attribute (e.g. ``"intercept_"``).
    method : str
        The calling method, for the message.
    """
    if not get_config()["array_api_dispatch"]:
        return
    a_xp, _, a_device = get_namespace_and_device(getattr(estimator, attribute))
    # Lists, DataFrames and sparse matrices are numpy's (scikit-learn before
    # 1.9 refuses them in get_namespace under dispatch).
    is_array = is_array_api_obj(X) and not sp.issparse(X)
    X_xp, _, X_device = get_namespace_and_device(X if is_array else None)
    if X_xp == a_xp and X_device == a_device:
        return
    if is_numpy_namespace(a_xp) and is_numpy_namespace(X_xp):
        return  # array-likes and sparse input of a numpy-fitted model
    if not is_array:
        kind = "sparse array" if sp.issparse(X) else "array-like"
        detail = (
            f"Array namespace used during fit ({a_xp.__name__}) is not "
            f"compatible with the {kind} input passed to {method}. Only the "
            f"NumPy namespace is compatible with {kind} inputs."
        )
    elif X_xp != a_xp:
        detail = (
            f"Array namespaces used during fit ({a_xp.__name__}) and "
            f"{method} ({X_xp.__name__}) differ."
        )
    else:  # pragma: no cover - needs two devices
        detail = (
            f"Devices used during fit ({a_device}) and {method} ({X_device}) differ."
        )
    raise ValueError(
        f"Inputs passed to {type(estimator).__name__}.{method}() must use "
        "the same namespace and the same device as those passed to fit(). "
        f"{detail}"
    )


if SKLEARN_VERSION >= (1, 9):
    from sklearn.utils._array_api import check_same_namespace
    from sklearn.utils._sparse import _align_api_if_sparse as align_sparse_interface
else:
    align_sparse_interface = _to_csr_matrix
    check_same_namespace = _check_same_namespace


def scorer_with_params(scorer, **params):
    """``scorer`` rebuilt with ``params`` bound to its metric, or None.

    scikit-learn's scorers keep their metric, sign, response method and
    keyword arguments in private attributes; this is the one place that
    reads them (the same in 1.6 to 1.9). For the CV estimator's ``labels``
    / ``pos_label`` (a fold's held-out part may lack classes).

    Parameters
    ----------
    scorer : callable
        A scorer of :func:`sklearn.metrics.get_scorer`.
    **params
        Keyword arguments bound to the metric; only those it accepts.

    Returns
    -------
    scorer : callable or None
        The new scorer, or None where ``scorer`` has no metric or the metric
        takes no ``labels``.
    """
    import inspect

    from sklearn.metrics import make_scorer

    func = getattr(scorer, "_score_func", None)
    if func is None:
        return None
    accepted = inspect.signature(func).parameters
    params = {k: v for k, v in params.items() if k in accepted}
    if "labels" not in params:
        return None
    return make_scorer(
        func,
        greater_is_better=getattr(scorer, "_sign") == 1,  # noqa: B009
        response_method=getattr(scorer, "_response_method"),  # noqa: B009
        **params,
        **getattr(scorer, "_kwargs", {}),
    )
