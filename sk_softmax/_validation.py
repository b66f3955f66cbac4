"""Input validation of the estimators (the validation layer).

:class:`~sk_softmax.SoftmaxRegression` and
:class:`~sk_softmax.SoftmaxRegressionCV` call these functions first, in
``fit``, ``partial_fit``, ``inference`` and the prediction methods; what they
return is what the layers below receive: ``X`` validated (float32 kept
float32, CSR, on its Array API device), the targets encoded (class codes or
soft targets, label smoothing aside) and the sample weights validated and
multiplied by the class weights, on the host in float64. Nothing here builds
an objective or runs a solver.

Like scikit-learn's ``validate_data``, the functions take the estimator and
set its input attributes (``n_features_in_``, ``feature_names_in_``) and, for
a fit, ``classes_``; they read its public parameters (``class_weight``) and
fitted attributes only. Dask input is validated on the workers by
:func:`sk_softmax._dask_input.validate_dask_fit_input`.
"""

import numpy as np
from sklearn import config_context
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._dask_input import is_dask_collection, reject_dask, validate_dask_fit_input
from ._namespaces import float_dtypes, to_host
from ._sklearn_compat import (
    check_same_namespace,
    check_sample_weight,
    get_namespace_and_device,
)
from ._targets import (
    apply_class_weight,
    check_label_targets,
    encode_labels,
    encode_with_known_classes,
    is_soft,
    soft_classes,
    soft_column_order,
    validate_soft_targets,
)

__all__ = [
    "check_partial_fit_input",
    "host_sample_weight",
    "partial_fit_classes",
    "validate_fit_input",
    "validate_prediction_input",
]


def host_sample_weight(sample_weight, X):
    """Validated float64 sample weights on the host, as a new array.

    Ones without weights, which is what ``_check_sample_weight`` returns
    (~15 us a fit less).

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The weights given to ``fit``.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The validated data (for the number of samples).

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), float64
        Non-negative weights (a ``ValueError`` otherwise).
    """
    if sample_weight is None:
        return np.ones(X.shape[0], dtype=np.float64)
    with config_context(array_api_dispatch=False):  # host weights
        return check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )


def _validate_X(estimator, X, reset):
    return validate_data(
        estimator,
        X,
        accept_sparse="csr",
        dtype=float_dtypes(X),
        order="C",
        reset=reset,
    )


def validate_fit_input(estimator, X, y, sample_weight, *, reset=True, classes=None):
    """Validated ``(X, target, sample_weight)``; sets ``classes_`` if reset.

    Array API input (``array_api_dispatch=True``, ``X`` not numpy): ``X``
    stays on its device; ``y`` and ``sample_weight`` (O(n) or O(n K),
    copied once) are validated and encoded on the host, and the objective
    copies the result to ``X``'s device once.

    Parameters
    ----------
    estimator : SoftmaxRegression or SoftmaxRegressionCV
        The estimator: its ``class_weight`` is read, its ``classes_`` read
        (``reset=False`` or ``classes`` given) or set, and
        ``n_features_in_`` / ``feature_names_in_`` checked or set.
    X : {array-like, sparse matrix, dask collection} of shape \
            (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        Labels, or soft targets.
    sample_weight : array-like of shape (n_samples,) or None
        Non-negative weights.
    reset : bool, default=True
        Whether this is a new fit (``classes_`` and the input attributes
        set) rather than a check against the fitted ones.
    classes : array-like or None, default=None
        The classes ``partial_fit`` was given (``classes_`` already set from
        them for labels; the names of the columns for soft targets).

    Returns
    -------
    X : {ndarray, sparse matrix, Array API array, dask array}
        Float data (float32 kept float32), CSR if sparse.
    target : ndarray of shape (n_samples,) or (n_samples, n_classes), or \
            DaskTarget
        The class codes, or the soft targets (columns in the order of
        ``classes_``, class-weighted and renormalised).
    sample_weight : ndarray of shape (n_samples,), float64, or None
        The weights times the class weights (Dask: see
        ``validate_dask_fit_input``).
    """
    if is_dask_collection(X):
        return validate_dask_fit_input(estimator, X, y, sample_weight)
    y, sample_weight = to_host(y), to_host(sample_weight)
    if is_soft(y):
        X = _validate_X(estimator, X, reset=reset)
        columns = getattr(y, "columns", None)
        Y = validate_soft_targets(
            y, n_classes=None if reset else estimator.classes_.shape[0]
        )
        check_consistent_length(X, Y)
        if reset and classes is not None:
            estimator.classes_ = soft_classes(classes, Y.shape[1], columns)
        elif reset and columns is None:
            estimator.classes_ = np.arange(Y.shape[1])
        if columns is not None:  # sorted classes_, Y's columns to match
            estimator.classes_, order = soft_column_order(
                columns, None if reset and classes is None else estimator.classes_
            )
            Y = Y if order is None else Y[:, order]
        y_codes = None
    else:
        X, y = validate_data(
            estimator,
            X,
            y,
            accept_sparse="csr",
            dtype=float_dtypes(X),
            order="C",
            reset=reset,
        )
        check_label_targets(y)
        Y = None
        if classes is not None or not reset:
            y_codes = encode_with_known_classes(y, estimator.classes_)
        else:
            estimator.classes_, y_codes = encode_labels(y)
    if estimator.classes_.shape[0] < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {estimator.classes_.tolist()[0]!r}"
        )
    sample_weight = host_sample_weight(sample_weight, X)
    if not np.any(sample_weight > 0):  # scikit-learn < 1.8 does not check
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if estimator.class_weight is not None:
        Y, sample_weight = apply_class_weight(
            estimator.class_weight, estimator.classes_, y_codes, Y, sample_weight
        )
    return X, (y_codes if Y is None else Y), sample_weight


def check_partial_fit_input(estimator, X):
    """Reject what ``partial_fit`` cannot take, before anything else.

    Parameters
    ----------
    estimator : SoftmaxRegression
        The estimator (its ``class_weight``).
    X : object
        The batch.

    Raises
    ------
    ValueError
        For ``class_weight="balanced"`` (a batch does not show the class
        frequencies) and for Dask input.
    """
    if estimator.class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: a "
            "batch does not show the class frequencies. Pass a dict of "
            "class weights instead."
        )
    reject_dask(X, "partial_fit")


def partial_fit_classes(estimator, y, classes, first):
    """Check ``partial_fit``'s ``classes``; set ``classes_`` on the first call.

    On later calls ``classes_`` is put on the host while the batch is
    validated (the fitted state is put back if the call fails).

    Parameters
    ----------
    estimator : SoftmaxRegression
        The estimator (``classes_`` read or set).
    y : array-like
        The batch's labels or soft targets.
    classes : array-like or None
        The ``classes`` argument.
    first : bool
        Whether this is the first call (no model yet).

    Returns
    -------
    classes : ndarray or None
        ``classes`` on the host.
    """
    classes = to_host(classes)
    if not first:  # host labels while validating (put back on error)
        estimator.classes_ = to_host(estimator.classes_)
    if first:
        if classes is None and not is_soft(y):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            estimator.classes_ = np.unique(np.asarray(classes))
    elif classes is not None and not np.array_equal(
        np.unique(np.asarray(classes)), estimator.classes_
    ):
        raise ValueError(
            f"`classes={np.asarray(classes).tolist()}` is not the same as on "
            f"the first call to partial_fit, was: {estimator.classes_.tolist()}"
        )
    return classes


def validate_prediction_input(estimator, X, method):
    """``X`` validated for a prediction of the fitted ``estimator``.

    Parameters
    ----------
    estimator : SoftmaxRegression or SoftmaxRegressionCV
        A fitted estimator (``NotFittedError`` otherwise).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The input of ``method``: numpy or, under ``array_api_dispatch``, in
        the namespace and on the device of the fitted model.
    method : str
        The calling method, for the messages.

    Returns
    -------
    X : {ndarray, sparse matrix, Array API array}
        Float data, CSR if sparse, with the fitted number of features.
    xp : namespace
        The namespace of ``X``.
    """
    check_is_fitted(estimator)
    # intercept_, not coef_: coef_ may be a host CSR after sparsify().
    check_same_namespace(X, estimator, attribute="intercept_", method=method)
    xp, _, _ = get_namespace_and_device(X)
    X = validate_data(
        estimator, X, accept_sparse="csr", dtype=[xp.float64, xp.float32], reset=False
    )
    return X, xp
