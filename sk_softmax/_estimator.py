"""The :class:`SoftmaxRegression` estimator: API and input validation."""

import copy
import functools
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._callbacks import CallbackSupportMixin, IterationCallbacks
from ._convergence import convergence_message
from ._objective import SoftmaxCrossEntropyL2
from ._solvers import (
    SGDState,
    SolverResult,
    gradient_descent,
    lbfgs,
    newton_cg,
    newton_cholesky,
    sgd,
)
from ._vector import max_abs

__all__ = ["SoftmaxRegression"]

# max_iter=None means these. Chosen so that default fits reach tol=1e-4 on
# standardised real data sets (iris, wine, digits, C=1); see tests.
# "sgd" counts epochs, with MLPClassifier's default.
_DEFAULT_MAX_ITER = {"lbfgs": 1000, "newton-cholesky": 100, "gd": 10000, "sgd": 200}
# solver="auto" runs "newton-cholesky" when its Hessian is cheap: at most
# _NEWTON_MAX_WORK = n_samples * n_params ** 2 (about twice the multiply-adds
# of one Hessian) and at most _NEWTON_MAX_PARAMS parameters (the dense
# (n_params, n_params) solve). Measured at one thread against "lbfgs"
# (make_classification, tol=1e-4; Newton 5-7 iterations, L-BFGS 14-45):
# Newton's solver time is 0.5-0.9 of L-BFGS's up to n * p^2 = 4.5e6
# (iris 3.4e4, wine 3.1e5, breast_cancer 2.2e6), 0.9-1.1 around 3-5e6 and
# 1.6-7x beyond 7e6 (digits: 7.6e8, 400 ms instead of 22 ms).
_NEWTON_MAX_WORK = 3e6
_NEWTON_MAX_PARAMS = 256
_SCHEDULES = {"constant", "invscaling", "adaptive", "optimal"}
# Rows of soft targets must sum to 1 within this tolerance; entries down to
# -_ROW_SUM_ATOL count as rounding and are clipped to 0.
_ROW_SUM_ATOL = 1e-6
# Private state that a fit or partial_fit sets beside the public attributes
# ending in "_".
_PRIVATE_FIT_STATE = ("_sgd_run", "_fit_classes")


def _is_fit_state(name):
    return (name.endswith("_") and not name.startswith("_")) or (
        name in _PRIVATE_FIT_STATE
    )


def _keep_fitted_state_on_error(method):
    """Make ``method`` (fit, partial_fit) all or nothing for the fitted state.

    If it raises (invalid input found late, a diverging solver, a
    KeyboardInterrupt), the attributes it set or replaced are put back as they
    were, so the estimator keeps its previous model (or stays unfitted)
    instead of holding ``classes_`` of one fit beside ``coef_`` of another.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = {k: v for k, v in vars(self).items() if _is_fit_state(k)}
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            for name in [k for k in vars(self) if _is_fit_state(k)]:
                delattr(self, name)
            vars(self).update(saved)
            raise

    return wrapper


class SoftmaxRegression(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Softmax (multinomial logistic) regression.

    Learns ``p(y = k | x) = softmax(W x + b)_k`` by minimising the L2-penalised
    cross-entropy, the objective of scikit-learn's ``LogisticRegression``::

        sum_i s_i * CE(y_i, softmax(W x_i + b)) + ||W||_F^2 / (2 C)

    where ``s_i`` are sample weights (times class weights) and the intercept
    ``b`` is not penalised. Parameters shared with ``LogisticRegression`` have
    the same names and meanings, so a parameter grid transfers as is.

    Two classes are modelled as a true two-class softmax: ``coef_`` has two
    rows. Since the penalty applies to both rows, the fitted model equals
    ``LogisticRegression(C=2 * C)`` on the same data (``coef_[1] - coef_[0]``
    is its coefficient vector), and :meth:`decision_function` returns
    ``z_1 - z_0``.

    Beyond ``LogisticRegression``, it learns from soft targets (class
    probabilities, e.g. another model's ``predict_proba`` or annotator votes),
    with optional label smoothing, and trains by mini-batch SGD and
    :meth:`partial_fit` for data that do not fit in memory.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularisation strength; must be positive. ``np.inf``
        means no penalty. Same meaning as in ``LogisticRegression``.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per class.
    solver : {"auto", "lbfgs", "newton-cholesky", "gd", "sgd"}, default="auto"
        ``"lbfgs"``: scipy's L-BFGS-B on the analytic loss and gradient
        (finished by Newton-CG where it stops short of ``tol``).
        ``"newton-cholesky"``: Newton's method with the exact Hessian, a
        dense ``(n_params, n_params)`` matrix, as in ``LogisticRegression``;
        few iterations, each costing about ``n_samples * n_params ** 2 / 2``
        multiply-adds, so only for few parameters (``n_params =
        n_classes * (n_features + fit_intercept)``).
        ``"gd"``: batch gradient descent ``w <- w - eta * grad`` (with
        momentum, see ``momentum``). ``"sgd"``: mini-batch stochastic gradient
        descent on the same objective (see ``batch_size``).
        ``"auto"``: ``"newton-cholesky"`` when
        ``n_samples * n_params ** 2 <= 3e6`` and ``n_params <= 256`` (where
        it was measured faster), ``"lbfgs"`` otherwise. Both stop at the same
        criterion and reach the same optimum; ``solver_`` tells which one
        ran.
    max_iter : int or None, default=None
        Maximum number of iterations: updates of the parameters for
        ``"lbfgs"``, ``"newton-cholesky"`` and ``"gd"``, epochs for ``"sgd"``.
        None means the solver's default: 1000 for ``"lbfgs"``, 100 for
        ``"newton-cholesky"``, 10000 for ``"gd"``, 200 for ``"sgd"`` (with
        ``"auto"``, the default of the solver that runs). 0 returns the
        starting model (zeros, or the previous model with ``warm_start``)
        with a ``ConvergenceWarning`` unless it meets ``tol``, as
        ``LogisticRegression(max_iter=0)`` accepts.
    tol : float, default=1e-4
        ``"lbfgs"``, ``"newton-cholesky"`` and ``"gd"`` stop when the largest
        absolute entry of the gradient of the mean-scaled objective is at most
        ``tol`` (the criterion of ``LogisticRegression(solver="lbfgs")``).
        ``"sgd"`` stops, as ``MLPClassifier`` does, when the epoch loss (or
        the validation score with ``early_stopping``) has not improved by
        ``tol`` for ``n_iter_no_change`` consecutive epochs.
    learning_rate : {"auto", "constant", "invscaling", "adaptive", "optimal"} \
or float, default="auto"
        Step of ``"gd"``, ``"sgd"`` and :meth:`partial_fit`. A float is a fixed
        step ``eta``. ``"constant"`` uses ``learning_rate_init`` throughout;
        ``"invscaling"`` (``"sgd"`` only) uses
        ``learning_rate_init / t ** power_t`` with ``t`` the number of updates;
        ``"adaptive"`` (``"sgd"`` only) divides the step by 5 whenever
        ``n_iter_no_change`` epochs pass without improvement
        (``MLPClassifier``'s meanings); ``"optimal"`` (``"sgd"`` only) uses
        ``eta0 / (1 + eta0 * mu * t)`` with ``eta0 = learning_rate_init`` and
        ``mu = 1 / (C * sum(sample_weight))`` the L2 strength of the
        mean-scaled objective, which converges to the optimum (see
        :meth:`partial_fit`). ``"auto"`` is ``"constant"`` for ``"gd"``,
        ``"adaptive"`` for ``"sgd"`` and ``"optimal"`` for
        :meth:`partial_fit`. Ignored by ``"lbfgs"`` and ``"newton-cholesky"``.
    learning_rate_init : "auto" or float, default="auto"
        Initial step of the schedules above. ``"auto"`` uses ``1 / L`` with
        ``L`` a guaranteed upper bound of the gradient's Lipschitz constant
        computed from the data, so that gradient descent never diverges,
        whatever the scale of the features.
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    momentum : float, default=0.9
        Momentum of ``"gd"`` and ``"sgd"`` in [0, 1), as in ``MLPClassifier``;
        0 gives plain gradient descent. For ``"gd"`` the momentum is reset
        whenever it points uphill (adaptive restart).
    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (gradient at the look-ahead point),
        as in ``MLPClassifier``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch of ``"sgd"`` and :meth:`partial_fit`; ``"auto"``
        is ``min(200, n_samples)`` (``MLPClassifier``'s rule).
    shuffle : bool, default=True
        Whether ``"sgd"`` shuffles the rows at each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split of ``"sgd"``.
    early_stopping : bool, default=False
        ``"sgd"`` only: hold out ``validation_fraction`` of the training data
        (stratified) and stop when its accuracy has not improved by ``tol``
        for ``n_iter_no_change`` epochs; the best epoch's model is kept.
    validation_fraction : float, default=0.1
        Share of the training data held out by ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without improvement tolerated by ``"sgd"``.
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1): the targets become ``(1 - eps) * onehot + eps / K``
        (PyTorch's definition), for labels and soft targets alike.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights, as in
        ``LogisticRegression``. ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))`` (weighted counts). With
        soft targets ``Y`` the weighted targets ``Y_ik w_k`` are renormalised
        and their sum becomes a sample weight, which keeps a soft row equal to
        its weighted one-hot copies.
    warm_start : bool, default=False
        Reuse the previous solution as the starting point of the next fit
        (when the classes and number of features are unchanged).
    verbose : int, default=0
        If > 0, print one line per iteration: iteration, objective and
        largest absolute gradient entry (per epoch for ``"sgd"``).
    chunk_size : int or None, default=None
        Rows of ``X`` processed at a time by the loss and gradient; bounds the
        extra memory to ``O(chunk_size * n_classes)``. None chooses it from the
        data shape (dense: a working set of about 2 MiB, at least 256 rows,
        split over the usable CPUs where that leaves 256 rows per chunk;
        sparse: at least ``2 * n_features`` non-zeros per chunk and about 2 MiB
        of scores; see ``sk_softmax._objective.auto_chunk_size``). It does
        not change the result beyond rounding.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for soft targets: ``arange(n_classes)`` or the column
        names of a DataFrame ``Y``).
    coef_ : ndarray of shape (n_classes, n_features)
        Weights ``W``; same dtype as the training data (float32 or float64).
    intercept_ : ndarray of shape (n_classes,)
        Intercepts ``b`` (zeros when ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.
    n_iter_ : int
        Number of iterations run by the solver (epochs for ``"sgd"`` and
        :meth:`partial_fit`).
    loss_curve_ : list of float
        Objective (mean-scaled: the ``LogisticRegression`` objective divided by
        the sum of sample weights), one entry per iteration. ``"lbfgs"`` and
        ``"newton-cholesky"``: the objective after each iteration (empty if
        the starting point already meets ``tol``). ``"gd"``: the objective
        after each update, at the point where the gradient is then evaluated
        (with Nesterov momentum, the look-ahead point); the last entry is the
        returned model's. ``"sgd"``: the mean mini-batch objective of each
        epoch.
    learning_rate_ : float or None
        Step used by ``"gd"``, and the current step of ``"sgd"`` (None for
        ``"lbfgs"`` and ``"newton-cholesky"``).
    solver_ : str
        The solver that ran: ``solver``, or what ``"auto"`` chose
        (``"sgd"`` after :meth:`partial_fit`).
    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping``, else None.
    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same objective, solved by
        scikit-learn's solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sk_softmax import SoftmaxRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegression(C=1.0).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"auto", "lbfgs", "newton-cholesky", "gd", "sgd"})],
        "max_iter": [Interval(Integral, 0, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [
            StrOptions({"auto"} | _SCHEDULES),
            Interval(Real, 0, None, closed="neither"),
        ],
        "learning_rate_init": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        C=1.0,
        *,
        fit_intercept=True,
        solver="auto",
        max_iter=None,
        tol=1e-4,
        learning_rate="auto",
        learning_rate_init="auto",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        batch_size="auto",
        shuffle=True,
        random_state=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        label_smoothing=0.0,
        class_weight=None,
        warm_start=False,
        verbose=0,
        chunk_size=None,
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.chunk_size = chunk_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------ validation
    def _validate_X(self, X, reset):
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=reset,
        )

    @staticmethod
    def _is_soft(y):
        """A 2-D target with >= 2 columns is a matrix of class probabilities."""
        shape = getattr(y, "shape", None)
        if shape is None:  # a list, or an array-like without shape
            shape = np.asarray(y, dtype=object).shape
        return len(shape) == 2 and shape[1] >= 2

    def _validate_soft_targets(self, Y, n_classes=None):
        """Check ``Y`` (n, K): finite, non-negative, rows summing to 1.

        Both within ``_ROW_SUM_ATOL``: entries in ``[-atol, 0)`` become 0 in
        a new array (the caller's is never modified).
        """
        Y = check_array(Y, dtype=np.float64, input_name="y")
        if n_classes is not None and Y.shape[1] != n_classes:
            raise ValueError(
                f"Soft targets Y have {Y.shape[1]} columns, but the model has "
                f"{n_classes} classes: one column per class is needed."
            )
        if np.any(Y < 0):
            if np.any(Y < -_ROW_SUM_ATOL):
                i, k = np.argwhere(Y < -_ROW_SUM_ATOL)[0]
                raise ValueError(
                    "Soft targets Y must be non-negative class probabilities; "
                    f"Y[{i}, {k}] = {float(Y[i, k])!r}."
                )
            # Rounding below zero (e.g. 1 - sum of the other entries) gets the
            # row sums' tolerance; clipped in a new array, never in the user's.
            Y = np.maximum(Y, 0.0)
        sums = Y.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_ATOL)
        if bad.size:
            raise ValueError(
                "Each row of the soft targets Y must sum to 1 (within "
                f"{_ROW_SUM_ATOL:g}); row {bad[0]} sums to {float(sums[bad[0]]):.10g} "
                f"({bad.size} such rows)."
            )
        return Y

    def _class_weights(self, y_codes, Y, sample_weight):
        """Per-class weights (K,) from ``class_weight``, for codes or soft Y."""
        if self.class_weight != "balanced":  # a dict
            return compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_
            )
        # "balanced": S / (K * weighted count of each class), scikit-learn's
        # formula since 1.8 (computed here so that it holds on older versions).
        # Soft targets count a row as Y_ik of class k.
        K = self.classes_.shape[0]
        if Y is None:
            counts = np.bincount(y_codes, weights=sample_weight, minlength=K)
        else:
            counts = sample_weight @ Y
        safe = np.where(counts > 0, counts, 1.0)
        return np.where(counts > 0, counts.sum() / (K * safe), 0.0)

    def _validate_fit_input(self, X, y, sample_weight, reset=True, classes=None):
        """Validated ``(X, target, sample_weight)``; sets ``classes_`` if reset.

        ``target`` is the class codes (n,) or the soft targets (n, K).
        """
        if self._is_soft(y):
            X = self._validate_X(X, reset=reset)
            columns = getattr(y, "columns", None)
            Y = self._validate_soft_targets(
                y, n_classes=None if reset else self.classes_.shape[0]
            )
            check_consistent_length(X, Y)
            if reset and classes is not None:
                self.classes_ = self._soft_classes(classes, Y.shape[1], columns)
            elif reset:
                self.classes_ = (
                    np.asarray(columns)
                    if columns is not None
                    else np.arange(Y.shape[1])
                )
            y_codes = None
        else:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse="csr",
                dtype=[np.float64, np.float32],
                order="C",
                reset=reset,
            )
            # Integer (or bool) labels, 1-D after validate_data, are always
            # "binary" or "multiclass" targets: the full check (type_of_target,
            # 0.12 ms on iris) is for the other dtypes.
            if y.dtype.kind not in "biu":
                check_classification_targets(y)
            Y = None
            if classes is not None or not reset:
                y_codes = self._encode_with_known_classes(y)
            elif y.dtype.kind in "biuf":
                # What LabelEncoder computes for numbers, without its
                # array-API dispatch (0.07 ms on iris, np.unique 0.01 ms).
                self.classes_, y_codes = np.unique(y, return_inverse=True)
            else:
                le = LabelEncoder()
                y_codes = le.fit_transform(y)
                self.classes_ = le.classes_
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_.tolist()[0]!r}"
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
        if not np.any(sample_weight > 0):  # scikit-learn < 1.8 does not check
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        if self.class_weight is not None:
            cw = self._class_weights(y_codes, Y, sample_weight)
            if Y is None:
                sample_weight *= cw[y_codes]
            else:
                # A soft row equals its one-hot copies weighted by Y_ik * w_k.
                Yw = Y * cw
                row = Yw.sum(axis=1)
                sample_weight *= row
                Y = np.divide(
                    Yw,
                    row[:, None],
                    out=np.full_like(Yw, 1 / Y.shape[1]),
                    where=row[:, None] > 0,
                )
            if not np.any(sample_weight > 0):
                raise ValueError(
                    "Sample weights times class weights are all zero: nothing to fit."
                )
        return X, (y_codes if Y is None else Y), sample_weight

    @staticmethod
    def _soft_classes(classes, n_columns, columns):
        """``classes`` given with soft targets: the names of ``Y``'s columns.

        Column ``k`` of ``Y`` is class ``classes_[k]``, and ``classes_`` is
        sorted, so ``classes`` must be sorted, one entry per column, and equal
        to the column names of a DataFrame ``Y``.
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
        if columns is not None and not np.array_equal(np.asarray(columns), given):
            raise ValueError(
                f"`classes={given.tolist()}` is not the column names of Y: "
                f"{np.asarray(columns).tolist()}."
            )
        return given

    def _encode_with_known_classes(self, y):
        """Codes of ``y`` in the known ``classes_``; unknown labels raise."""
        y = np.asarray(y)
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, self.classes_.shape[0] - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise ValueError(
                f"The labels {np.unique(y[unknown]).tolist()} are not in "
                f"classes {self.classes_.tolist()}."
            )
        return codes

    # ------------------------------------------------------------ objective
    def _objective(self, X, target, sample_weight, C=None):
        return SoftmaxCrossEntropyL2(
            X,
            target,
            n_classes=self.classes_.shape[0],
            sample_weight=sample_weight,
            C=self.C if C is None else C,
            fit_intercept=self.fit_intercept,
            chunk_size=self.chunk_size,
            label_smoothing=self.label_smoothing,
        )

    def _minibatch_objective(self, X, target, sample_weight, train=None):
        """``f(w, rows) -> (loss, grad)``, an unbiased estimate of the objective.

        With ``S`` the total weight, ``n`` the rows and ``B`` a batch,
        ``f_B = n / (|B| S) * sum_{i in B} s_i CE_i + ||W||^2 / (2 C S)`` has
        ``E[f_B] = f``: the penalty keeps its full-data scale in every batch,
        so SGD and the full-batch solvers share one optimum.

        ``train`` (sorted row indices, e.g. all but early stopping's
        validation rows) restricts the objective to those rows without
        copying them out of ``X``: ``rows`` then index ``train``, and only
        each batch's own rows are gathered.
        """
        if train is not None:
            # Row-sized (n,) copies, unlike X[train]; the batch's rows are the
            # same as in a copied split, so the iterates are identical.
            target, sample_weight = target[train], sample_weight[train]
        n = sample_weight.shape[0]
        S = float(sample_weight.sum())

        def batch_fun(w, rows):
            sw = sample_weight[rows]
            S_B = float(sw.sum())
            X_B = X[rows if train is None else train[rows]]
            if S_B <= 0:  # only the penalty is left
                obj = self._objective(X_B[:1], target[rows[:1]], None)
                W, _ = obj.unpack(w)
                l2 = 0.0 if np.isinf(self.C) else 1.0 / (self.C * S)
                grad = np.zeros_like(w).reshape(obj.n_classes, -1)
                grad[:, : W.shape[1]] = l2 * W
                return 0.5 * l2 * float(np.vdot(W, W)), grad.ravel()
            # The batch objective's own scaling is sum_B s CE / S_B plus
            # ||W||^2 / (2 C_B S_B); C_B = C n / |B| and a factor
            # r = n S_B / (|B| S) turn it into f_B.
            obj = self._objective(X_B, target[rows], sw, C=self.C * n / len(rows))
            f, g = obj.loss_gradient(w)
            r = n * S_B / (len(rows) * S)
            return r * f, r * g

        return batch_fun

    def _fitted_params(self):
        """A new flat float64 parameter vector from ``coef_``/``intercept_``.

        Always a copy: the solvers may use their starting vector as a work
        buffer (``lbfgs(overwrite_w0=True)``), and the previous model must
        stay untouched, also when the refit is interrupted.
        """
        Wb = np.asarray(self.coef_, dtype=np.float64)
        if self.fit_intercept:  # hstack makes a new array
            Wb = np.hstack([Wb, np.asarray(self.intercept_, dtype=np.float64)[:, None]])
        else:
            Wb = Wb.copy()
        return Wb.ravel()

    def _initial_params(self, objective):
        K, d = objective.n_classes, objective.n_features
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and self.coef_.shape == (K, d)
            and getattr(self, "_fit_classes", None) is not None
            and np.array_equal(self._fit_classes, self.classes_)
        ):
            return self._fitted_params()
        return np.zeros(objective.n_params, dtype=np.float64)

    def _schedule(self, solver):
        """The learning-rate schedule of ``"gd"`` / ``"sgd"`` and a fixed step."""
        lr = self.learning_rate
        if not isinstance(lr, str):
            return "constant", float(lr)
        if lr == "auto":
            # partial_fit's calls see different chunks: "adaptive" would
            # compare their losses (and collapse the step, issue 10, item 12).
            auto = {"gd": "constant", "sgd": "adaptive", "partial_fit": "optimal"}
            return auto[solver], None
        if solver == "gd" and lr != "constant":
            raise ValueError(
                f"learning_rate={lr!r} is a schedule for solver='sgd'; "
                "solver='gd' takes 'auto', 'constant' or a float."
            )
        return lr, None

    def _initial_step(self, objective, fixed_step):
        if fixed_step is not None:
            return fixed_step
        if self.learning_rate_init == "auto":
            L = objective.lipschitz_bound()
            # L == 0 only when X (with its intercept column) is all zeros and
            # C = inf: the scores are 0 for every w, so the objective is
            # constant, its gradient zero, and any step is safe; 1 is used.
            if L == 0:
                return 1.0
            # Features of order 1e154 and beyond: 1 / L underflows (to 0 or
            # a subnormal number without precision), no step can be taken.
            if not 1.0 / L >= np.finfo(np.float64).tiny:
                X = objective.X
                scale = float(abs(X).max())
                raise ValueError(
                    f"solver={self.solver!r} cannot take a gradient step on "
                    f"features this large (largest |X| = {scale:.3g}): the "
                    f"gradient's Lipschitz bound L = {L:.3g} leaves no "
                    "float64 step 1 / L. Scale the features, e.g. with "
                    "sklearn.preprocessing.StandardScaler."
                )
            return 1.0 / L
        return float(self.learning_rate_init)

    def _attributes(self, objective, dtype):
        """``w -> {coef_, intercept_}``, as the fitted model would hold them."""

        def attributes(w):
            coef, intercept = objective.unpack(np.asarray(w))
            return {
                "coef_": np.array(coef, dtype=dtype),
                "intercept_": np.array(intercept, dtype=dtype),
            }

        return attributes

    def _set_fitted(self, objective, w, dtype):
        attrs = self._attributes(objective, dtype)(w)
        self.coef_, self.intercept_ = attrs["coef_"], attrs["intercept_"]
        self._fit_classes = self.classes_

    # ----------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    @_keep_fitted_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimising the penalised cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is kept float32 (no float64 copy), as
            are ``coef_`` and ``intercept_``. CSC input is converted to CSR.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Target labels (any hashable, sortable values), or soft targets: a
            matrix of non-negative class probabilities whose rows sum to 1
            (``classes_`` is then ``arange(n_classes)``, or the column names
            of a DataFrame).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a sample with weight ``k`` counts as ``k``
            copies of it.

        Returns
        -------
        self : SoftmaxRegression
            Fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_softmax import SoftmaxRegression
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
        >>> y = np.array(["a", "b", "b", "a"])
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> clf.classes_
        array(['a', 'b'], dtype='<U1')
        >>> clf.coef_.shape  # one row per class, also for two classes
        (2, 2)

        Sample weights count as repetitions; the trace of the solver is kept:

        >>> clf = SoftmaxRegression().fit(X, y, sample_weight=[1, 2, 1, 1])
        >>> len(clf.loss_curve_) == clf.n_iter_
        True
        """
        X, target, sample_weight = self._validate_fit_input(X, y, sample_weight)
        objective = self._objective(X, target, sample_weight)
        w0 = self._initial_params(objective)
        solver = self._resolve_solver(objective)
        max_iter = self.max_iter
        if max_iter is None:
            max_iter = _DEFAULT_MAX_ITER[solver]
        metadata = {"sample_weight": sample_weight}
        callbacks = IterationCallbacks(
            self, X, y, metadata, max_iter, self._attributes(objective, X.dtype), w0
        )
        self.learning_rate_ = None
        self.validation_scores_ = None
        self._sgd_run = None
        self.solver_ = solver
        common = dict(max_iter=max_iter, verbose=self.verbose, callback=callbacks)
        if solver == "newton-cholesky":
            result = newton_cholesky(
                objective.loss_gradient_hessian,
                w0,
                tol=self.tol,
                null_space=objective.invariant_directions(),
                **common,
            )
        elif solver == "lbfgs":
            # w0 is not used after this: the solver may reuse its memory.
            # An objective that runs threads on every allowed core gets an
            # L-BFGS that makes no BLAS call (see lbfgs's use_blas).
            result = lbfgs(
                objective.loss_gradient,
                w0,
                tol=self.tol,
                overwrite_w0=True,
                use_blas=objective.n_workers() <= 1,
                **common,
            )
            if (
                not result.converged
                and not result.stopped_by_callback
                and result.n_iter < max_iter
                and X.dtype == np.float64
                and np.isfinite(result.fun)
            ):
                result = self._newton_polish(objective, result, max_iter, common)
        elif solver == "gd":
            _, fixed_step = self._schedule("gd")
            step = self._initial_step(objective, fixed_step)
            self.learning_rate_ = step
            result = gradient_descent(
                objective.loss_gradient,
                w0,
                step=step,
                tol=self.tol,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
                **common,
            )
        else:
            result = self._fit_sgd(X, target, sample_weight, objective, w0, common)
        callbacks.close(result.x)
        if not np.isfinite(max_abs(result.x)):
            raise ValueError(self._diverged_message(result.message))
        if not result.converged:
            scores = self.validation_scores_
            warnings.warn(
                convergence_message(
                    solver,
                    dtype=X.dtype,
                    tol=self.tol,
                    max_iter=max_iter,
                    result=result,
                    momentum=self.momentum,
                    learning_rate=self.learning_rate,
                    validation_score=max(scores) if scores else None,
                ),
                ConvergenceWarning,
                stacklevel=3,  # user code -> _fit_context wrapper -> fit
            )
        self._set_fitted(objective, result.x, X.dtype)
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = list(result.loss_curve)
        return self

    def _resolve_solver(self, objective):
        """``solver``, with ``"auto"`` decided from the problem's size.

        ``"newton-cholesky"`` where its Hessian is cheap (see
        ``_NEWTON_MAX_WORK`` for the measurement), ``"lbfgs"`` otherwise.
        """
        if self.solver != "auto":
            return self.solver
        p = objective.n_params
        if p <= _NEWTON_MAX_PARAMS and objective.n_samples * p * p <= _NEWTON_MAX_WORK:
            return "newton-cholesky"
        return "lbfgs"

    def _newton_polish(self, objective, result, max_iter, common):
        """Finish an L-BFGS run that stopped short of ``tol`` with Newton-CG.

        L-BFGS-B also stops when an iteration reduces the objective by less
        than ``64 * eps`` relatively (``LogisticRegression``'s ``ftol``), which
        at a tight ``tol`` (about 1e-8 and below) often happens first: measured
        on standardised digits, both estimators then stop 1.5e-6 (C=1) to 6e-6
        (C=10) away from the optimum in probability. Inexact Newton iterations
        with the exact Hessian-vector product reach ``tol``, usually in one
        iteration whose conjugate gradients stop as soon as the predicted
        gradient is within ``tol / 2``. float32 data are not polished: their
        gradients cannot resolve such a ``tol``.
        """
        polish = newton_cg(
            objective.loss_gradient,
            objective.hessian_product,
            result.x,
            tol=self.tol,
            max_iter=max_iter - result.n_iter,
            verbose=common["verbose"],
            callback=common["callback"],
            first_iter=result.n_iter + 1,
        )
        if polish.n_iter == 0:  # no step accepted: keep L-BFGS's own result
            return result
        return SolverResult(
            x=polish.x,
            fun=polish.fun,
            grad_max=polish.grad_max,
            n_iter=result.n_iter + polish.n_iter,
            loss_curve=result.loss_curve + polish.loss_curve,
            converged=polish.converged,
            message=f"L-BFGS: {result.message}; then Newton-CG: {polish.message}",
            stopped_by_callback=polish.stopped_by_callback,
        )

    def _diverged_message(self, detail, method="fit"):
        """The error for a solver run whose parameters became non-finite.

        Raised rather than warned (as ``SGDClassifier`` and ``MLPClassifier``
        do): the last finite iterate of a diverging run is no model either.
        """
        if not isinstance(self.learning_rate, str):
            advice = (
                "Lower learning_rate, or use learning_rate='auto' with "
                "learning_rate_init='auto' (a 1 / L step from the data)."
            )
        elif self.learning_rate_init != "auto":
            advice = (
                "Lower learning_rate_init, or use learning_rate_init='auto' "
                "(a 1 / L step from the data)."
            )
        else:
            advice = (
                "Scale the data (e.g. StandardScaler), or set a lower "
                "learning_rate_init."
            )
        where = (
            "SoftmaxRegression.partial_fit"  # always SGD, whatever the solver
            if method == "partial_fit"
            else f"SoftmaxRegression(solver={self.solver!r}).fit"
        )
        return f"{where} found no finite model: {detail}. {advice}"

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _fit_sgd(self, X, target, sample_weight, objective, w0, common):
        """``solver="sgd"``: epochs of mini-batch SGD, optional early stopping."""
        rng = check_random_state(self.random_state)
        schedule, fixed_step = self._schedule("sgd")
        step0 = self._initial_step(objective, fixed_step)
        l2 = objective.l2_reg_strength  # 1 / (C S), S of all rows
        train = None  # all rows
        validation_score = None
        if self.early_stopping:
            stratify = target if target.ndim == 1 else None
            train, val = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                random_state=rng,
                stratify=stratify,
            )
            # Split by index: the training rows stay in X (a copy of them was
            # 90% of X at the memory peak); the validation rows are copied
            # (validation_fraction of X) and scored once per epoch.
            train, val = np.sort(train), np.sort(val)
            l2 *= sample_weight.sum() / sample_weight[train].sum()
            X_val = X[val]
            y_val = target[val] if target.ndim == 1 else target[val].argmax(axis=1)
            self.validation_scores_ = []

            def validation_score(w):
                coef, intercept = objective.unpack(w)
                Z = safe_sparse_dot(X_val, coef.T.astype(X.dtype)) + intercept
                score = float(np.mean(np.argmax(Z, axis=1) == y_val))
                self.validation_scores_.append(score)
                return score

        n_train = X.shape[0] if train is None else train.shape[0]
        result, state = sgd(
            self._minibatch_objective(X, target, sample_weight, train),
            n_train,
            w0,
            batch_size=self._batch_size(n_train),
            schedule=schedule,
            step0=step0,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            power_t=self.power_t,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
            rng=rng if self.shuffle else None,
            validation_score=validation_score,
            mu=l2,
            **common,
        )
        self.learning_rate_ = state.step
        # partial_fit continues this run (momentum, schedule state, shuffling).
        self._sgd_run = dict(state=state, step0=step0, rng=rng)
        return result

    @_keep_fitted_state_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch SGD on ``(X, y)``, continuing the last model.

        Works for out-of-core learning (a loop over chunks read from disk) and
        under ``dask_ml.wrappers.Incremental``. Each call makes one pass over
        its data with the ``"sgd"`` settings (``batch_size``, the learning-rate
        schedule, momentum, ``shuffle``), whatever ``solver`` is, and keeps the
        momentum and schedule state for the next call.

        The penalty is scaled as if the call's data were the whole data set
        (the objective of ``fit(X, y)`` on the chunk). With ``k`` chunks of
        ``m = n / k`` samples (and equal weights), ``C * n / m`` makes the mean
        of the chunks' objectives ``fit``'s objective with ``C`` on all ``n``
        samples, so repeated passes over the chunks approach ``fit``'s model;
        with ``C`` unchanged, the penalty weighs ``n / m`` times more.

        The default ``learning_rate="auto"`` is ``"optimal"`` here: the step
        of update ``t`` (counted over all calls) is
        ``eta0 / (1 + eta0 * mu * t)``, with ``eta0`` the ``1 / L`` step of
        the first call's data (or ``learning_rate_init``) and
        ``mu = 1 / (C * sum(sample_weight))`` the L2 strength of the call's
        objective. For an objective that is ``mu``-strongly convex this step
        makes SGD converge to the optimum (at rate ``O(1 / t)``), whichever
        order the chunks come in, and it compares no losses, which differ
        from chunk to chunk (``"adaptive"`` does, and collapses there). It
        decays slowly when ``mu`` is small (large ``C`` or ``n``); with
        ``C=np.inf`` it is constant. Measured on standardised iris in 5
        ordered chunks with ``C * n / m``: the largest difference in
        probability to ``fit``'s model is 0.17 after 10 passes, 0.027 after
        30 and 0.016 after 100.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels of the batch, or soft targets.
        classes : array-like of shape (n_classes,), default=None
            All the classes that can appear in any batch. Required on the first
            call with labels (as in ``SGDClassifier``); a batch may lack some
            classes. With soft targets it is optional and names the columns of
            ``Y``: sorted, one per column. On later calls it may be omitted,
            and must otherwise equal ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch.

        Returns
        -------
        self : SoftmaxRegression
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = SoftmaxRegression(C=3.0, random_state=0)  # 3 chunks: C * n / m
        >>> for _ in range(50):
        ...     for rows in np.array_split(np.arange(len(y)), 3):
        ...         _ = clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        >>> clf.n_iter_
        150

        The model approaches ``fit``'s with ``C=1`` on all the data:

        >>> full = SoftmaxRegression(C=1.0).fit(X, y)
        >>> gap = np.abs(clf.predict_proba(X) - full.predict_proba(X)).max()
        >>> print(f"{clf.score(X, y):.2f}", bool(gap < 0.05))
        0.97 True
        """
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: a "
                "batch does not show the class frequencies. Pass a dict of "
                "class weights instead."
            )
        first = not hasattr(self, "coef_")
        if first:
            self._validate_params()
            if classes is None and not self._is_soft(y):
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            if classes is not None:
                self.classes_ = np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"`classes={np.asarray(classes).tolist()}` is not the same as on "
                f"the first call to partial_fit, was: {self.classes_.tolist()}"
            )
        X, target, sample_weight = self._validate_fit_input(
            X, y, sample_weight, reset=first, classes=classes
        )
        objective = self._objective(X, target, sample_weight)
        if first:
            w = np.zeros(objective.n_params)
            self.n_iter_, self.loss_curve_ = 0, []
        else:
            w = self._fitted_params()
        schedule, fixed_step = self._schedule("partial_fit")
        if getattr(self, "_sgd_run", None) is None:  # first SGD epoch
            step0 = self._initial_step(objective, fixed_step)
            self._sgd_run = dict(
                state=SGDState(step=step0),
                step0=step0,
                rng=check_random_state(self.random_state),
            )
        run = self._sgd_run
        # On a copy: a diverging epoch must not leave its state behind.
        result, state = sgd(
            self._minibatch_objective(X, target, sample_weight),
            X.shape[0],
            w,
            batch_size=self._batch_size(X.shape[0]),
            schedule=schedule,
            step0=run["step0"],
            max_iter=1,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            power_t=self.power_t,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
            rng=run["rng"] if self.shuffle else None,
            state=copy.deepcopy(run["state"]),
            verbose=self.verbose,
            mu=objective.l2_reg_strength,  # 1 / (C S) of this call's data
        )
        if not np.isfinite(max_abs(result.x)):
            raise ValueError(self._diverged_message(result.message, "partial_fit"))
        run["state"] = state
        self._set_fitted(objective, result.x, X.dtype)
        self.learning_rate_ = state.step
        self.validation_scores_ = None
        self.solver_ = "sgd"
        self.n_iter_ += 1
        self.loss_curve_.extend(result.loss_curve)
        return self

    # ------------------------------------------------------------- predict
    def _raw_scores(self, X):
        """Validated ``X`` times ``coef_^T`` plus ``intercept_``: (n, K)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        Z = safe_sparse_dot(X, self.coef_.T, dense_output=True)
        Z += self.intercept_
        return Z

    def decision_function(self, X):
        """Raw class scores ``z = W x + b``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Scores per class; for two classes, ``z_1 - z_0`` of shape
            (n_samples,), positive meaning ``classes_[1]`` (scikit-learn's
            binary convention).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> scores = clf.decision_function(X[:2])
        >>> scores.shape
        (2, 3)
        >>> np.allclose(scores, X[:2] @ clf.coef_.T + clf.intercept_)
        True

        For two classes, one score per sample, ``z_1 - z_0``:

        >>> binary = SoftmaxRegression().fit(X[:100], y[:100])
        >>> binary.decision_function(X[:2]).shape
        (2,)
        """
        Z = self._raw_scores(X)
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> clf.predict(X[[0, 50, 100]])
        array([0, 1, 2])
        """
        scores = self._raw_scores(X)  # checks fitted before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities ``softmax(W x + b)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``; rows sum to 1.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> proba = clf.predict_proba(X[[0, 50, 100]])
        >>> proba.round(1)
        array([[1. , 0. , 0. ],
               [0. , 0.9, 0.1],
               [0. , 0. , 1. ]])
        >>> proba.sum(axis=1)
        array([1., 1., 1.])
        """
        return softmax(self._raw_scores(X), axis=1)

    def predict_log_proba(self, X):
        """Log of the class probabilities, from log-softmax.

        Computed as ``z - logsumexp(z)``, so it stays finite (and accurate)
        where a probability underflows to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> np.allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))
        True

        Far from the data a probability can underflow to 0; its logarithm is
        still finite:

        >>> x_far = 1000 * X[:1]
        >>> float(clf.predict_proba(x_far).min())
        0.0
        >>> bool(np.isfinite(clf.predict_log_proba(x_far)).all())
        True
        """
        return log_softmax(self._raw_scores(X), axis=1)
