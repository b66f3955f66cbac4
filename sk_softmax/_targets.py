"""Targets as pure functions: soft targets, class codes, class weights.

The estimator validates ``X`` and sets ``classes_``; everything here takes
arrays and returns new ones (a caller's array is never modified), so that it
can be tested without an estimator.
"""

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from ._penalty import check_weight_sum

__all__ = [
    "ROW_SUM_ATOL",
    "apply_class_weight",
    "check_weight_sum",
    "check_label_targets",
    "class_weights",
    "encode_labels",
    "encode_with_known_classes",
    "is_soft",
    "reweight_by_class",
    "row_sum_tolerance",
    "soft_classes",
    "soft_column_order",
    "validate_soft_targets",
]

# Rows of soft targets must sum to 1 within row_sum_tolerance (at least this);
# entries down to minus that count as rounding and are clipped to 0.
ROW_SUM_ATOL = 1e-6


def row_sum_tolerance(dtype, n_classes):
    """How far from 1 a row of soft targets of ``dtype`` may sum.

    ``max(ROW_SUM_ATOL, 2 sqrt(K) eps)`` with ``eps`` the machine epsilon of
    the given floating dtype (float64 for anything else). Probabilities
    stored in a floating type carry its rounding: each entry ``eps / 2``
    relatively, and a normalisation computed in that type a sum of ``K``
    terms, whose rounding errors grow like ``sqrt(K) eps`` (the worst-case
    bound ``K eps`` would accept float16 rows summing to 2 at ``K=1000``).
    Measured on ``torch.softmax`` of ``N(0, 9)`` scores, 2000 rows, as the
    largest ``|sum - 1| / eps``: float32 1.1 / 2.3 / 2.9 / 4.0 / 14.4 at
    ``K = 3 / 10 / 100 / 1000 / 10000`` (issue 20 reports 1.1e-6 = 9.2 eps
    at ``K=1000``; the bound is 63 eps there, 200 eps at 10000), float16
    (computed in float32, then cast) 0.29-0.38 at ``K = 3 ... 1000`` (bound
    3.5-63 eps). The fixed ``1e-6`` used before refused both.

    Parameters
    ----------
    dtype : numpy dtype or None
        The dtype the user's soft targets came in (None: float64).
    n_classes : int
        ``K``, the number of columns.

    Returns
    -------
    atol : float
    """
    if dtype is None or np.dtype(dtype).kind != "f":
        dtype = np.float64
    eps = float(np.finfo(dtype).eps)
    return max(ROW_SUM_ATOL, 2.0 * np.sqrt(n_classes) * eps)


def _float_dtype(Y):
    """The least precise floating dtype among ``Y``'s (a DataFrame's
    columns, pandas nullable ``Float32`` included), or None."""
    dtypes = getattr(Y, "dtypes", None)
    dtypes = [getattr(Y, "dtype", None)] if dtypes is None else list(dtypes)
    found = None
    for dtype in dtypes:
        try:
            dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        except TypeError:  # not a numpy dtype (e.g. a category)
            continue
        if dtype.kind == "f" and (found is None or dtype.itemsize < found.itemsize):
            found = dtype
    return found


def is_soft(y):
    """Whether ``y`` is a matrix of class probabilities (2-D, >= 2 columns).

    Parameters
    ----------
    y : array-like
        Targets.

    Returns
    -------
    soft : bool
    """
    shape = getattr(y, "shape", None)
    if shape is None:  # a list, or an array-like without shape
        shape = np.asarray(y, dtype=object).shape
    return len(shape) == 2 and shape[1] >= 2


def validate_soft_targets(Y, n_classes=None):
    """Check ``Y`` (n, K): finite, non-negative, rows summing to 1.

    Both within :func:`row_sum_tolerance` of ``Y``'s dtype and ``K``:
    entries in ``[-atol, 0)`` become 0 and rows are divided by their sums,
    in a new array (the caller's is never modified).

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_classes)
        Soft targets.
    n_classes : int or None, default=None
        Required number of columns (a fitted model's); None accepts any.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_classes), float64
    """
    given_dtype = _float_dtype(Y)
    Y = check_array(Y, dtype=np.float64, input_name="y")
    atol = row_sum_tolerance(given_dtype, Y.shape[1])
    if n_classes is not None and Y.shape[1] != n_classes:
        raise ValueError(
            f"Soft targets Y have {Y.shape[1]} columns, but the model has "
            f"{n_classes} classes: one column per class is needed."
        )
    if np.any(Y < 0):
        if np.any(Y < -atol):
            i, k = np.argwhere(Y < -atol)[0]
            raise ValueError(
                "Soft targets Y must be non-negative class probabilities; "
                f"Y[{i}, {k}] = {float(Y[i, k])!r}."
            )
        # Rounding below zero (e.g. 1 - sum of the other entries) gets the
        # row sums' tolerance; clipped in a new array, never in the user's.
        Y = np.maximum(Y, 0.0)
    sums = Y.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > atol)
    if bad.size:
        dtype_name = "float64" if given_dtype is None else given_dtype.name
        raise ValueError(
            "Each row of the soft targets Y must sum to 1 (within "
            f"{atol:.3g} for {Y.shape[1]} columns of {dtype_name}); row "
            f"{bad[0]} sums to {float(sums[bad[0]]):.10g} ({bad.size} such rows)."
        )
    if np.any(sums != 1.0):
        # Rounding in the rows' sums is divided out (in a new array): the
        # data term's gradient p - Y is that of the cross-entropy only for
        # rows summing to 1 (a row summing to s adds (1 - s) lse(z) to the
        # loss: a bias of 4e-4 lse for float16 probabilities).
        Y = Y / sums[:, None]
    return Y


def soft_classes(classes, n_columns, columns):
    """``classes`` given with soft targets: the names of ``Y``'s columns.

    Column ``k`` of ``Y`` is class ``classes_[k]``, and ``classes_`` is
    sorted, so ``classes`` must be sorted, one entry per column, and equal to
    the column names of a DataFrame ``Y``.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        The classes passed by the user.
    n_columns : int
        Number of columns of ``Y``.
    columns : array-like or None
        Column names of a DataFrame ``Y``, else None.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    """
    given = np.asarray(classes)
    if given.ndim != 1 or given.shape[0] != n_columns:
        raise ValueError(
            f"`classes={given.tolist()}` has {given.size} entries, but the "
            f"soft targets Y have {n_columns} columns: with soft targets, "
            "classes names the columns of Y, one per class."
        )
    if not np.array_equal(np.unique(given), given):
        raise ValueError(
            f"`classes={given.tolist()}` must be sorted and unique with soft "
            "targets: column k of Y is classes_[k], and classes_ is sorted."
        )
    if columns is not None:
        soft_column_order(columns, given)  # raises unless a permutation
    return given


def soft_column_order(columns, classes=None):
    """The classes named by a DataFrame's columns, and the column order.

    ``classes_`` is sorted (scikit-learn's scorers and ``partial_fit``'s
    ``classes`` rely on it), so the columns of a DataFrame ``Y`` named
    ``["c", "a", "b"]`` are reordered to ``["a", "b", "c"]`` (issue 20: the
    column order used to become ``classes_``).

    Parameters
    ----------
    columns : array-like of shape (n_classes,)
        Column names of ``Y``.
    classes : ndarray of shape (n_classes,) or None, default=None
        The classes the columns must name (a fitted model's, or the
        ``classes`` passed to ``partial_fit``); None: the sorted columns.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The sorted classes.
    order : ndarray of shape (n_classes,) or None
        ``Y[:, order]`` has its columns in the order of ``classes``; None
        when they already are.
    """
    columns = np.asarray(columns)
    if np.unique(columns).shape[0] != columns.shape[0]:
        raise ValueError(
            f"The column names of the soft targets Y must be unique (one "
            f"column per class), got {columns.tolist()}."
        )
    if classes is None:
        order = np.argsort(columns, kind="stable")
        classes = columns[order]
    else:
        position = {c: k for k, c in enumerate(columns.tolist())}
        order = np.array([position.get(c, -1) for c in classes.tolist()])
        if columns.shape[0] != classes.shape[0] or np.any(order < 0):
            raise ValueError(
                f"The column names of the soft targets Y, {columns.tolist()}, "
                f"are not the classes {classes.tolist()}."
            )
    if np.array_equal(order, np.arange(order.shape[0])):
        order = None
    return classes, order


def check_label_targets(y):
    """Raise if the labels ``y`` are not classification targets.

    Integer (or bool) labels, 1-D after ``validate_data``, are always
    "binary" or "multiclass" targets: the full check
    (``check_classification_targets``, whose ``type_of_target`` takes
    0.12 ms on iris) runs for the other dtypes only.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Validated labels.
    """
    if y.dtype.kind not in "biu":
        check_classification_targets(y)


def encode_labels(y):
    """The sorted classes of ``y`` and the codes of its labels.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels (any hashable, sortable values).

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted unique labels.
    codes : ndarray of shape (n_samples,), int
        ``classes[codes] == y``.
    """
    y_arr = np.asarray(y)
    lo = _small_int_range_start(y_arr)
    if lo is not None:
        # Integer labels in a range of at most a few times their count: a
        # count per value instead of np.unique's sort (1797 digits labels:
        # 13 us instead of 53-69 us), the same classes and codes.
        shifted = y_arr.astype(np.intp) - lo
        present = np.bincount(shifted) > 0
        codes = np.cumsum(present) - 1  # code of each present value
        return (np.flatnonzero(present) + lo).astype(y_arr.dtype), codes[shifted]
    if y_arr.ndim == 1 and y_arr.dtype.kind in "biuf":
        # What LabelEncoder computes for numbers, without its array-API
        # dispatch (0.07 ms on iris, np.unique 0.01 ms).
        return np.unique(y_arr, return_inverse=True)
    le = LabelEncoder()
    codes = le.fit_transform(y)
    return le.classes_, codes


def _small_int_range_start(y):
    """``min(y)`` (a Python int) where ``y`` is a non-empty vector of signed
    integers, or unsigned ones of at most 32 bits (both fit ``intp``),
    spanning at most ``2 * len(y) + 1024`` values; else None."""
    kind = y.dtype.kind
    if (
        y.ndim != 1
        or not y.size
        or not (kind == "i" or (kind == "u" and y.itemsize < 8))
    ):
        return None
    lo = int(y.min())
    return lo if int(y.max()) - lo <= 2 * y.shape[0] + 1024 else None


def encode_with_known_classes(y, classes):
    """Codes of ``y`` in the sorted ``classes``; unknown labels raise.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels.
    classes : ndarray of shape (n_classes,)
        Sorted known classes.

    Returns
    -------
    codes : ndarray of shape (n_samples,), int
    """
    y = np.asarray(y)
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, classes.shape[0] - 1)
    unknown = classes[codes] != y
    if np.any(unknown):
        raise ValueError(
            f"The labels {np.unique(y[unknown]).tolist()} are not in "
            f"classes {classes.tolist()}."
        )
    return codes


def class_weights(class_weight, classes, y_codes, Y, sample_weight):
    """Per-class weights ``(K,)`` from ``class_weight``, for codes or soft ``Y``.

    Parameters
    ----------
    class_weight : dict or "balanced"
        As ``LogisticRegression``'s.
    classes : ndarray of shape (n_classes,)
        The classes.
    y_codes : ndarray of shape (n_samples,) or None
        Class codes (None with soft targets).
    Y : ndarray of shape (n_samples, n_classes) or None
        Soft targets (None with codes).
    sample_weight : ndarray of shape (n_samples,)
        Sample weights.

    Returns
    -------
    weights : ndarray of shape (n_classes,)
        ``"balanced"``: ``S / (K * weighted count of each class)``,
        scikit-learn's formula since 1.8 (computed here so that it holds on
        older versions); soft targets count a row as ``Y_ik`` of class ``k``.
        A class without weight gets 0.
    """
    if class_weight != "balanced":  # a dict
        weights = compute_class_weight(class_weight, classes=classes, y=classes)
        _check_class_weight_values(np.asarray(weights, dtype=np.float64), classes)
        return weights
    K = classes.shape[0]
    if Y is None:
        counts = np.bincount(y_codes, weights=sample_weight, minlength=K)
    else:
        counts = sample_weight @ Y
    with np.errstate(over="ignore"):
        check_weight_sum(counts.sum())
    safe = np.where(counts > 0, counts, 1.0)
    return np.where(counts > 0, counts.sum() / (K * safe), 0.0)


def _check_class_weight_values(weights, classes):
    """A dict ``class_weight``'s values: finite and non-negative, with
    ``sample_weight``'s wording (negative or NaN class weights made gd/sgd
    raise ``LinAlgError`` and lbfgs/newton return all-zero or absurd models,
    issue 20)."""
    for bad, message in (
        (np.isnan(weights), "Input class_weight contains NaN"),
        (np.isinf(weights), "Input class_weight contains infinity"),
        (weights < 0, "Negative values in data passed to `class_weight`"),
    ):
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{message}: class {classes.tolist()[k]!r} has weight "
                f"{float(weights[k])!r}. "
                "Class weights must be finite and non-negative."
            )


def apply_class_weight(class_weight, classes, y_codes, Y, sample_weight):
    """Multiply the class weights into the sample weights (and soft targets).

    With codes, ``s_i *= w_{y_i}``. With soft targets, a soft row must equal
    its one-hot copies weighted by ``Y_ik w_k``: the weighted row
    ``Y_ik w_k`` is renormalised (uniform if it is all zero) and its sum
    becomes a factor of the sample weight.

    Parameters
    ----------
    class_weight : dict or "balanced"
        As ``LogisticRegression``'s.
    classes : ndarray of shape (n_classes,)
        The classes.
    y_codes : ndarray of shape (n_samples,) or None
        Class codes (None with soft targets).
    Y : ndarray of shape (n_samples, n_classes) or None
        Soft targets (None with codes).
    sample_weight : ndarray of shape (n_samples,), float64
        Sample weights; multiplied in place (pass the caller's own copy).

    Returns
    -------
    Y : ndarray or None
        The reweighted soft targets (a new array), or None with codes.
    sample_weight : ndarray of shape (n_samples,)
        The same array, multiplied.
    """
    cw = class_weights(class_weight, classes, y_codes, Y, sample_weight)
    soft = Y is not None
    target, sample_weight = reweight_by_class(
        cw, Y if soft else y_codes, soft, sample_weight
    )
    Y = target if soft else None
    if not np.any(sample_weight > 0):
        raise ValueError(
            "Sample weights times class weights are all zero: nothing to fit."
        )
    return Y, sample_weight


def reweight_by_class(weights, target, soft, sample_weight):
    """``s_i *= w_{y_i}`` (codes), or the soft rows reweighted and renormalised.

    The rule of :func:`apply_class_weight` for given per-class ``weights``,
    row by row, so that it also applies to one row block at a time.

    Parameters
    ----------
    weights : ndarray of shape (n_classes,)
        Per-class weights.
    target : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Class codes, or soft targets ``Y``.
    soft : bool
        Whether ``target`` is ``Y``.
    sample_weight : ndarray of shape (n_samples,), float64
        Sample weights; multiplied in place.

    Returns
    -------
    target : ndarray
        The codes as given, or the reweighted soft targets (a new array).
    sample_weight : ndarray of shape (n_samples,)
        The same array, multiplied.
    """
    if not soft:
        with np.errstate(over="ignore"):  # inf: check_weight_sum raises
            sample_weight *= weights[target]
        return target, sample_weight
    Yw = target * weights
    row = Yw.sum(axis=1)
    sample_weight *= row
    Y = np.divide(
        Yw,
        row[:, None],
        out=np.full_like(Yw, 1 / target.shape[1]),
        where=row[:, None] > 0,
    )
    return Y, sample_weight
