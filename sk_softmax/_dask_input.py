"""The estimator's side of Dask input: detection, validation, lazy predictions.

``SoftmaxRegression.fit`` on a Dask array or DataFrame must not bring ``X``
to the client: ``validate_data`` would (it calls ``np.asarray``). Here the
same checks run on the workers, one task per row block, in one round
(:func:`validate_dask_fit_input`): ``X`` finite, the labels' per-block
uniques (merged on the client into ``classes_``: one distributed unique),
soft targets valid, weights finite and non-negative, and the global weight
sum ``S``. A second round counts the (weighted) classes when
``class_weight`` is set. The targets the objective receives are validated
here too, as lazy Dask arrays with ``X``'s row blocks (:class:`DaskTarget`):
the class codes (or checked soft targets) and the class-weighted sample
weights, computed block by block on the workers where the objective's
blocks are built. The fit itself is the Dask objective's
(:mod:`sk_softmax._objective._dask`), which does no validation; predictions
on Dask input are lazy Dask arrays, one task per block
(:func:`lazy_on_dask`).

Dask is imported only when the input is a Dask collection: the estimator
does not depend on it.
"""

import functools
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._dask_cluster import per_block
from ._namespaces import log_probabilities, predicted_labels, probabilities, scores
from ._sklearn_compat import check_feature_names, check_n_features
from ._targets import (
    check_label_targets,
    class_weights,
    encode_with_known_classes,
    reweight_by_class,
    soft_column_order,
    validate_soft_targets,
)

__all__ = [
    "DaskScoreMixin",
    "DaskTarget",
    "is_dask_collection",
    "lazy_on_dask",
    "reject_dask",
    "validate_dask_fit_input",
]


def is_dask_collection(obj):
    """Whether ``obj`` is a Dask collection (without importing dask).

    Parameters
    ----------
    obj : object
        Any input.

    Returns
    -------
    is_dask : bool
    """
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(obj)


def reject_dask(X, method):
    """Raise a TypeError for Dask ``X`` in ``method`` (``partial_fit``).

    Parameters
    ----------
    X : object
        The input.
    method : str
        The method's name.
    """
    if is_dask_collection(X):
        raise TypeError(
            f"{method} takes in-memory blocks, not a Dask collection. Use "
            "fit on the whole Dask array (exact full-batch fit), or wrap the "
            "estimator in dask_ml.wrappers.Incremental, which calls "
            f"{method} on one block at a time."
        )


def _is_frame(obj):
    return hasattr(obj, "to_dask_array") and hasattr(obj, "dtypes")


def _numpy_dtype(dtype, name):
    """The numpy dtype for a pandas nullable (extension) column, or None.

    For ``X``, nullable floats, integers and booleans become float64, as
    ``check_array`` makes them in memory (``Float32`` too); for targets,
    ``Float32`` / ``Float64`` become their float (the soft targets'
    tolerance follows it) and labels are left alone. ``pd.NA`` becomes NaN,
    refused as in memory. Without this, a Dask DataFrame of ``Float64``
    columns became an object array (issue 20), while the same DataFrame in
    memory fits.
    """
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if isinstance(dtype, np.dtype) or numpy_dtype is None:
        return None
    if name == "X" and numpy_dtype.kind in "fbiu":
        return np.dtype(np.float64)
    return numpy_dtype if numpy_dtype.kind == "f" else None


def _numpy_columns(obj, name):
    """A Dask DataFrame / Series with its nullable columns as numpy dtypes."""
    # A Series has one dtype: ``dtypes`` in recent dask, only ``dtype`` in
    # dask 2024.8 (the oldest supported).
    dtypes = getattr(obj, "dtypes", None)
    if not hasattr(dtypes, "items"):
        dtype = _numpy_dtype(obj.dtype, name)
        return obj if dtype is None else obj.astype(dtype)
    mapping = {}
    for column, dtype in dtypes.items():
        numpy_dtype = _numpy_dtype(dtype, name)
        if numpy_dtype is not None:
            mapping[column] = numpy_dtype
    return obj.astype(mapping) if mapping else obj


def _as_array(obj, name):
    """A Dask DataFrame / Series as a Dask array with known row blocks."""
    if _is_frame(obj) or hasattr(obj, "to_dask_array"):
        obj = _numpy_columns(obj, name).to_dask_array(lengths=True)
    if any(np.isnan(c) for c in obj.chunks[0]):
        obj = obj.compute_chunk_sizes()
    return obj


def _validated_X(estimator, X):
    """``X`` as a float Dask array with one block of columns; sets
    ``n_features_in_`` and ``feature_names_in_``."""
    check_feature_names(estimator, getattr(X, "_meta", None), reset=True)
    X = _as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got a {X.ndim}D Dask array instead: "
            "reshape your data."
        )
    if X.dtype not in (np.float32, np.float64):
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"X has dtype {X.dtype}: numeric data are needed (float32 or "
                "float64 are used as they are, other numbers as float64)."
            )
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:  # each task needs whole rows
        X = X.rechunk({1: -1})
    check_n_features(estimator, X, reset=True)
    return X


def _aligned(a, X, name):
    """``a`` (n,) or (n, k) as a Dask array with ``X``'s row blocks."""
    import dask.array as da

    def check_length(a):
        if a.shape[0] != X.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{X.shape[0]}, {a.shape[0]}]"
            )

    if not is_dask_collection(a):
        a = np.asarray(a)
        if a.ndim == 0:  # a scalar weight
            a = np.full(X.shape[0], float(a))
        check_length(a)  # before X's blocks are imposed on it (issue 20)
        a = da.from_array(a, chunks=(X.chunks[0],) + a.shape[1:])
    a = _as_array(a, name)
    check_length(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    return a.rechunk((X.chunks[0],) + tuple((s,) for s in a.shape[1:]))


def aligned_groups(groups, X):
    """Cluster labels (Dask or in memory) as a 1d Dask array with ``X``'s
    row blocks (for ``cov_type="cluster"``).

    Parameters
    ----------
    groups : dask array or Series, or array-like of shape (n_samples,)
        One label per row of ``X``.
    X : dask.array.Array
        The validated data.

    Returns
    -------
    groups : dask.array.Array of shape (n_samples,)
    """
    groups = _aligned(groups, X, "groups")
    if groups.ndim != 1:
        raise ValueError(
            "groups must be a 1d array with one label per sample: got shape "
            f"{groups.shape}."
        )
    return groups


def _block_summary(X, y, sw, soft):
    """Checks of one row block, on its worker; what the client needs of it."""
    data = X.data if sp.issparse(X) else X
    summary = {"nan": bool(np.isnan(data).any()), "inf": bool(np.isinf(data).any())}
    if soft:
        validate_soft_targets(y)  # raises on the worker, re-raised by dask
        summary["labels"] = None
    else:
        y = np.asarray(y)
        check_label_targets(y)
        summary["labels"] = np.unique(y)
    if sw is not None:
        sw = np.asarray(sw, dtype=np.float64)
        summary["sw_finite"] = bool(np.isfinite(sw).all())
        summary["sw_min"] = float(sw.min()) if sw.size else 0.0
        with np.errstate(over="ignore"):  # an overflow: check_weight_sum raises
            summary["weight_sum"] = float(sw.sum())
    return summary


def _class_counts(_, y, sw, soft, classes):
    """(Weighted) count of each class in one row block."""
    from ._targets import encode_with_known_classes

    sw = np.ones(len(y)) if sw is None else np.asarray(sw, dtype=np.float64)
    if soft:
        return sw @ np.asarray(y, dtype=np.float64)
    codes = encode_with_known_classes(np.asarray(y), classes)
    return np.bincount(codes, weights=sw, minlength=len(classes))


def _blocks(a, n):
    return [None] * n if a is None else list(a.to_delayed().ravel())


class DaskTarget:
    """The validated targets of a Dask fit, for the objective.

    Parameters
    ----------
    y : dask.array.Array
        Class codes (n,) in ``0 .. K - 1``, or checked soft targets (n, K)
        (reweighted by class where ``class_weight`` is set); lazy, with
        ``X``'s row blocks.
    sample_weight : dask.array.Array or None
        The sample weights times the class weights (float64), or the given
        weights; lazy, with ``X``'s row blocks. None: all ones.
    soft : bool
        Whether ``y`` holds soft targets.
    weight_sum : float
        ``S``, the global sum of the (class-weighted) sample weights.
    """

    def __init__(self, y, sample_weight, soft, weight_sum):
        self.y, self.sample_weight = y, sample_weight
        self.soft, self.weight_sum = soft, weight_sum


def _encoded_block(y, classes):
    return encode_with_known_classes(np.asarray(y), classes)


def _soft_block(y, n_classes):
    return validate_soft_targets(np.asarray(y), n_classes=n_classes)


def _weighted_block(y, sw, weights, soft, part):
    """One block's class-weighted targets (``part=0``) or weights (``part=1``),
    by :func:`~sk_softmax._targets.reweight_by_class`."""
    sw = np.ones(y.shape[0]) if sw is None else sw
    sw = np.array(sw, dtype=np.float64)  # a copy: reweighted in place
    return reweight_by_class(weights, y, soft, sw)[part]


def _objective_targets(y, sample_weight, soft, classes, cw):
    """The lazy validated codes (or soft targets) and class-weighted weights."""
    import dask.array as da

    K = classes.shape[0]
    if soft:
        dtype = y.dtype if np.issubdtype(y.dtype, np.floating) else np.float64
        y = y.map_blocks(_soft_block, K, dtype=dtype)
    else:
        y = y.map_blocks(_encoded_block, classes, dtype=np.intp)
    if cw is None:
        return y, sample_weight
    y_ind = "ij" if soft else "i"
    args = (y, y_ind) + (() if sample_weight is None else (sample_weight, "i"))

    def weighted(part, out_ind, dtype):
        def fn(yb, swb=None):
            return _weighted_block(yb, swb, cw, soft, part)

        return da.blockwise(fn, out_ind, *args, dtype=dtype, concatenate=True)

    sw = weighted(1, "i", np.float64)
    if soft:
        y = weighted(0, "ij", y.dtype)
    return y, sw


def validate_dask_fit_input(estimator, X, y, sample_weight):
    """Validate Dask ``(X, y, sample_weight)`` on the workers; set ``classes_``.

    Nothing of ``X`` comes to the client: each row block is checked on its
    worker (one task per block, one round), and only small summaries
    return (flags, per-block unique labels, weight sums).

    Parameters
    ----------
    estimator : SoftmaxRegression
        The estimator (``classes_``, ``n_features_in_`` and
        ``feature_names_in_`` are set on it).
    X : dask.array.Array or dask.dataframe.DataFrame
        Training data (dense or scipy.sparse blocks).
    y : dask array, Series or DataFrame, or array-like
        Labels, or soft targets (n, K); rechunked to ``X``'s row blocks.
    sample_weight : dask array, Series, array-like or None
        Weights.

    Returns
    -------
    X : dask.array.Array
        Float data with one block of columns and known row blocks.
    target : DaskTarget
        The validated targets and weights, and the global weight sum.
    sample_weight : dask.array.Array or None
        Class-weighted weights with ``X``'s row blocks (``target``'s).
    """
    if estimator.solver == "sgd":
        raise ValueError(
            "solver='sgd' does not run on Dask input: mini-batches would move "
            "rows between workers. Use solver='lbfgs', 'newton-cholesky' or "
            "'gd' (exact full-batch fits), or partial_fit under "
            "dask_ml.wrappers.Incremental."
        )
    columns = getattr(y, "columns", None) if _is_frame(y) else None
    X = _validated_X(estimator, X)
    y = _aligned(y, X, "y")
    soft = y.ndim == 2
    if sample_weight is not None:
        sample_weight = _aligned(sample_weight, X, "sample_weight")
    n = len(X.chunks[0])
    parts = zip(_blocks(X, n), _blocks(y, n), _blocks(sample_weight, n), strict=True)
    parts = [(xb, yb, sb, soft) for xb, yb, sb in parts]
    summaries = per_block(_block_summary, parts, "summary")
    if any(s["nan"] for s in summaries):
        raise ValueError("Input X contains NaN.")
    if any(s["inf"] for s in summaries):
        raise ValueError(
            f"Input X contains infinity or a value too large for {X.dtype!r}."
        )
    if soft and columns is not None:  # sorted classes_, y's columns to match
        classes, order = soft_column_order(columns)
        y = y if order is None else y[:, order]
    elif soft:
        classes = np.arange(y.shape[1])
    else:  # the distributed unique: per-block uniques, merged here
        classes = np.unique(np.concatenate([s["labels"] for s in summaries]))
    estimator.classes_ = classes
    if classes.shape[0] < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes.tolist()[0]!r}"
        )
    weight_sum = float(X.shape[0])
    if sample_weight is not None:
        if not all(s["sw_finite"] for s in summaries):
            raise ValueError("Input sample_weight contains NaN or infinity.")
        if min(s["sw_min"] for s in summaries) < 0:
            raise ValueError("Negative values in data passed to `sample_weight`.")
        with np.errstate(over="ignore"):
            weight_sum = float(np.sum([s["weight_sum"] for s in summaries]))
    if not weight_sum > 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    cw = None
    if estimator.class_weight is not None:
        parts = zip(_blocks(y, n), _blocks(sample_weight, n), strict=True)
        parts = [(None, yb, sb, soft, classes) for yb, sb in parts]
        counts = per_block(_class_counts, parts, "counts")
        counts = np.sum(counts, axis=0)
        # The codes arange(K) weighted by the counts: class_weights' formula.
        K = classes.shape[0]
        cw = class_weights(estimator.class_weight, classes, np.arange(K), None, counts)
        weight_sum = float(cw @ counts)
        if not weight_sum > 0:
            raise ValueError(
                "Sample weights times class weights are all zero: nothing to fit."
            )
    y, sample_weight = _objective_targets(y, sample_weight, soft, classes, cw)
    return X, DaskTarget(y, sample_weight, soft, weight_sum), sample_weight


# ------------------------------------------------------------------ predictions
def _predict_block(X, coef, intercept, classes, method):
    """One block's predictions, with the in-memory functions."""
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
    Z, xp = scores(X, coef, intercept, np)
    if method == "predict":
        return predicted_labels(classes, Z, xp)
    if method == "predict_proba":
        return probabilities(Z, xp)
    if method == "predict_log_proba":
        return log_probabilities(Z, xp)
    return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z


def _lazy_predictions(estimator, X, method):
    check_is_fitted(estimator)
    check_feature_names(estimator, getattr(X, "_meta", None), reset=False)
    if _is_frame(X):
        X = _numpy_columns(X, "X").to_dask_array()
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got a {X.ndim}D Dask array instead.")
    check_n_features(estimator, X, reset=False)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    coef, intercept = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)
    classes = np.asarray(estimator.classes_)
    x_dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    dtype = np.result_type(x_dtype, coef.dtype)
    K = classes.shape[0]
    if method == "predict" or (method == "decision_function" and K == 2):
        dtype = classes.dtype if method == "predict" else dtype
        kwargs = dict(drop_axis=1, meta=np.empty((0,), dtype=dtype))
    else:
        kwargs = dict(chunks=(X.chunks[0], (K,)), meta=np.empty((0, 0), dtype=dtype))
    return X.map_blocks(
        _predict_block, coef, intercept, classes, method, dtype=dtype, **kwargs
    )


def lazy_on_dask(method):
    """Make a prediction method return a lazy Dask array on Dask input.

    Parameters
    ----------
    method : callable
        ``method(self, X)``, e.g. ``predict``.

    Returns
    -------
    wrapper : callable
        The method; on a Dask array or DataFrame ``X``, a Dask array with
        ``X``'s row blocks, one task per block (nothing computed).
    """

    @functools.wraps(method)
    def wrapper(self, X):
        if is_dask_collection(X):
            return _lazy_predictions(self, X, method.__name__)
        return method(self, X)

    return wrapper


# ------------------------------------------------------------------ score
def _score_block(X, y, sw, coef, intercept, classes):
    """One block's (weighted) count of right predictions and its weight."""
    hit = np.asarray(_predict_block(X, coef, intercept, classes, "predict") == y)
    if sw is None:
        return float(hit.sum()), float(hit.shape[0])
    sw = np.asarray(sw, dtype=np.float64)
    return float(sw @ hit.astype(np.float64)), float(sw.sum())


def _dask_score(estimator, X, y, sample_weight):
    check_is_fitted(estimator)
    check_feature_names(estimator, getattr(X, "_meta", None), reset=False)
    X = _as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got a {X.ndim}D Dask array instead.")
    check_n_features(estimator, X, reset=False)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    y = _aligned(y, X, "y")
    if y.ndim != 1:
        raise ValueError(
            "score needs labels (n_samples,), got y of shape "
            f"{y.shape}: the accuracy of soft targets is not defined."
        )
    if sample_weight is not None:
        sample_weight = _aligned(sample_weight, X, "sample_weight")
    n = len(X.chunks[0])
    coef, intercept = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)
    classes = np.asarray(estimator.classes_)
    parts = zip(_blocks(X, n), _blocks(y, n), _blocks(sample_weight, n), strict=True)
    parts = [(xb, yb, sb, coef, intercept, classes) for xb, yb, sb in parts]
    counts = per_block(_score_block, parts, "score")
    right = float(np.sum([c[0] for c in counts]))
    total = float(np.sum([c[1] for c in counts]))
    if total == 0:  # as np.average in accuracy_score
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return right / total


class DaskScoreMixin:
    """``score`` on Dask input computed where the blocks are."""

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``X`` against the labels ``y``.

        As scikit-learn's ``ClassifierMixin.score``; on a Dask array or
        DataFrame ``X`` it runs on the workers, one task per row block, and
        only two numbers per block (the weighted count of right predictions
        and the block's weight) come to the client.

        Parameters
        ----------
        X : array-like, sparse matrix, Dask array or DataFrame of shape \
                (n_samples, n_features)
            Test samples.
        y : array-like, Dask array or Series of shape (n_samples,)
            True labels (split into ``X``'s row blocks for Dask ``X``).
        sample_weight : array-like, Dask array or Series of shape \
                (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        if is_dask_collection(X):
            return _dask_score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
