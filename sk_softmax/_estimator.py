"""The :class:`SoftmaxRegression` estimator: parameters, ``fit``,
``partial_fit`` and ``inference``.

The predictions and the fitted state are :class:`~sk_softmax._base.
BaseSoftmaxRegression`'s (shared with :class:`~sk_softmax.SoftmaxRegressionCV`),
the input validation is :mod:`sk_softmax._validation`'s; ``fit`` validates,
builds the objective and hands it to the fit layer (:mod:`sk_softmax._fit`).
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSoftmaxRegression, keep_fitted_state_on_error
from ._callbacks import IterationCallbacks
from ._convergence import convergence_message, diverged_message
from ._dask_input import DaskScoreMixin, DaskTarget, aligned_groups
from ._fit import FitSettings, fit_solver, partial_fit_epoch, start_sgd_run
from ._inference import check_inference_params, softmax_inference
from ._lr_compat import (
    LR_ONLY_SOLVERS,
    LR_PARAMETER_CONSTRAINTS,
    lr_penalty,
)
from ._namespaces import classes_like, model_arrays
from ._objective import make_objective
from ._sklearn_compat import (
    Hidden,
    Interval,
    StrOptions,
    fit_context,
)
from ._validation import (
    check_partial_fit_input,
    partial_fit_classes,
    validate_fit_input,
)
from ._vector import max_abs

__all__ = ["SoftmaxRegression"]

_SCHEDULES = {"constant", "invscaling", "adaptive", "optimal"}


class SoftmaxRegression(DaskScoreMixin, BaseSoftmaxRegression):
    """Softmax (multinomial logistic) regression.

    Learns ``p(y = k | x) = softmax(W x + b)_k`` by minimising the penalised
    cross-entropy, the objective of scikit-learn's ``LogisticRegression``::

        sum_i s_i * CE(y_i, softmax(W x_i + b))
            + (l1_ratio * ||W||_1 + (1 - l1_ratio) / 2 * ||W||_F^2) / C

    where ``s_i`` are sample weights (times class weights) and the intercept
    ``b`` is not penalised (``l1_ratio=0``, the default, is the L2 penalty).
    Parameters shared with ``LogisticRegression`` have the same names and
    meanings, so a parameter grid transfers as is.

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
    l1_ratio : float, default=0.0
        The elastic-net mixing parameter, in ``[0, 1]``, as in
        ``LogisticRegression``: ``0`` is the L2 penalty ``||W||_F^2 / (2 C)``,
        ``1`` the L1 penalty ``||W||_1 / C``, in between the elastic net
        ``(l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||_F^2) / C``. With
        ``l1_ratio > 0`` (and a finite ``C``) the L1 part sets weights to
        exact zeros; ``"lbfgs"`` and ``"auto"`` then run OWL-QN (L-BFGS on
        the orthant of the iterate), ``"gd"`` runs FISTA (proximal gradient
        with Nesterov's momentum), ``"sgd"`` and :meth:`partial_fit` take a
        proximal (soft-thresholding) step after each update, and
        ``"newton-cholesky"`` raises a ValueError, as in
        ``LogisticRegression``. ``tol`` then bounds the minimum-norm
        subgradient (see ``tol``). See the user guide's "Penalties" section.
        None (deprecated in ``LogisticRegression`` 1.8) means 0, with its
        ``FutureWarning``.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per class.
    solver : {"auto", "lbfgs", "newton-cg", "newton-cholesky", "gd", "sgd"}, \
default="auto"
        ``"lbfgs"``: L-BFGS on the analytic loss and gradient, with the
        update, line search and stopping tests of scipy's L-BFGS-B as
        ``LogisticRegression`` runs it (finished by Newton-CG where it stops
        short of ``tol``).
        ``"newton-cg"``: Newton's method whose steps are solved by conjugate
        gradients with the Hessian's diagonal as preconditioner (Hessian-
        vector products only); the fastest on sparse, high-dimensional data
        such as text.
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
        it was measured faster), else ``"newton-cg"`` for sparse ``X`` with
        ``n_samples * n_classes <= n_params`` (wide data, e.g. TF-IDF
        features), ``"lbfgs"`` otherwise. All stop at the same criterion and
        reach the same optimum; ``solver_`` tells which one ran.
    max_iter : int or None, default=None
        Maximum number of iterations: updates of the parameters for
        ``"lbfgs"``, the Newton solvers and ``"gd"``, epochs for ``"sgd"``.
        None means the solver's default: 1000 for ``"lbfgs"``, 100 for
        ``"newton-cg"`` and ``"newton-cholesky"``, 10000 for ``"gd"``, 200
        for ``"sgd"`` (with ``"auto"``, the default of the solver that
        runs). 0 returns the
        starting model (zeros, or the previous model with ``warm_start``)
        with a ``ConvergenceWarning`` unless it meets ``tol``, as
        ``LogisticRegression(max_iter=0)`` accepts.
    tol : float, default=1e-4
        ``"lbfgs"``, the Newton solvers and ``"gd"`` stop when the largest
        absolute entry of the gradient of the mean-scaled objective is at most
        ``tol`` (the criterion of ``LogisticRegression(solver="lbfgs")``).
        With ``l1_ratio > 0`` the gradient is replaced by the minimum-norm
        subgradient, ``grad_j + l1 * sign(W_j)`` for non-zero weights and
        ``max(|grad_j| - l1, 0)`` for zero weights (``l1 = l1_ratio / (C *
        sum(sample_weight))``), which is 0 exactly at the optimum.
        ``"sgd"`` stops, as ``MLPClassifier`` does, when the epoch loss (or
        the validation score with ``early_stopping``) has not improved by
        ``tol`` for ``n_iter_no_change`` consecutive epochs.
        ``tol`` bounds the gradient, not the distance to the optimum: on
        ill-conditioned problems (many classes) ``tol=1e-4`` can stop well
        above the minimum, and two solvers at the same ``tol`` at different
        objectives; lower it (e.g. ``1e-6``) to compare objectives or to read
        ``coef_`` as the optimum's (user guide, "Convergence").
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
        :meth:`partial_fit`. Ignored by ``"lbfgs"`` and the Newton solvers.
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
    penalty : {"l1", "l2", "elasticnet"} or None, default="deprecated"
        ``LogisticRegression``'s argument, deprecated there since
        scikit-learn 1.8 and mapped the same way, with the same
        ``FutureWarning``: ``"l2"`` means ``l1_ratio=0``, ``"l1"``
        ``l1_ratio=1``, ``"elasticnet"`` keeps ``l1_ratio`` and ``None`` means
        ``C=np.inf``. Leave it unset and use ``l1_ratio`` and ``C``.
    dual : bool, default=False
        ``LogisticRegression``'s (liblinear only); ``True`` is a
        ``ValueError``: the solvers here work on the primal problem.
    intercept_scaling : float, default=1.0
        ``LogisticRegression``'s (liblinear only); accepted, no effect: the
        intercept is never penalised here.
    n_jobs : int or None, default=None
        Accepted, no effect, as in ``LogisticRegression`` since 1.8. The
        kernel's threads follow numpy's BLAS thread limit (e.g.
        ``threadpoolctl.threadpool_limits``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted (for soft targets: ``arange(n_classes)`` or the
        sorted column names of a DataFrame ``Y``).
    coef_ : ndarray of shape (n_classes, n_features)
        Weights ``W``; same dtype as the training data (float32 or float64).
        A scipy.sparse CSR matrix after :meth:`sparsify`.
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
        the Newton solvers: the objective after each iteration (empty if
        the starting point already meets ``tol``). ``"gd"``: the objective
        after each update, at the point where the gradient is then evaluated
        (with Nesterov momentum, the look-ahead point); the last entry is the
        returned model's. ``"sgd"``: the mean mini-batch objective of each
        epoch.
    learning_rate_ : float or None
        Step used by ``"gd"``, and the current step of ``"sgd"`` (None for
        ``"lbfgs"`` and the Newton solvers).
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
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],  # None: deprecated
        "fit_intercept": ["boolean"],
        "solver": [
            StrOptions({"auto", "lbfgs", "newton-cg", "newton-cholesky", "gd", "sgd"}),
            Hidden(StrOptions(set(LR_ONLY_SOLVERS))),  # rejected with a reason
        ],
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
        **LR_PARAMETER_CONSTRAINTS,  # penalty, dual, intercept_scaling, n_jobs
    }

    def __init__(
        self,
        C=1.0,
        *,
        l1_ratio=0.0,
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
        penalty="deprecated",
        dual=False,
        intercept_scaling=1.0,
        n_jobs=None,
    ):
        self.C = C
        self.l1_ratio = l1_ratio
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
        self.penalty = penalty
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    # ------------------------------------------------------------ objective
    def _objective(self, X, target, sample_weight, penalty=None, groups=None):
        """The objective of the backend for ``X``: numpy / scipy.sparse, or
        the Array API one for other arrays under ``array_api_dispatch``.
        ``penalty``: the effective ``(C, l1_ratio)`` (see ``lr_penalty``), or
        None for ``(self.C, self.l1_ratio)``; ``groups``: Dask only, the
        aligned cluster labels its blocks keep."""
        C, l1_ratio = (self.C, self.l1_ratio) if penalty is None else penalty
        weight_sum = None
        if isinstance(target, DaskTarget):  # validated on the workers
            target, weight_sum = target.y, target.weight_sum
        return make_objective(
            X,
            target,
            self.classes_.shape[0],
            sample_weight,
            C=C,
            l1_ratio=l1_ratio,
            fit_intercept=self.fit_intercept,
            chunk_size=self.chunk_size,
            label_smoothing=self.label_smoothing,
            weight_sum=weight_sum,
            groups=groups,
        )

    def _initial_params(self, objective):
        K, d = objective.n_classes, objective.n_features
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and self.coef_.shape == (K, d)
            and getattr(self, "_fit_classes", None) is not None
            and np.array_equal(np.asarray(self._fit_classes), self.classes_)
        ):
            return self._fitted_params()
        return np.zeros(objective.n_params, dtype=np.float64)

    def _attributes(self, objective, X):
        """``w -> {coef_, intercept_}``, as the fitted model would hold them
        (in the namespace, on the device and in the dtype of ``X``)."""

        def attributes(w):
            coef, intercept = model_arrays(*objective.unpack(np.asarray(w)), X)
            return {"coef_": coef, "intercept_": intercept}

        return attributes

    def _set_fitted(self, objective, w, X, y):
        attrs = self._attributes(objective, X)(w)
        self.coef_, self.intercept_ = attrs["coef_"], attrs["intercept_"]
        # The labels as a tuple, not an array: scikit-learn's array API
        # checks want every array attribute in X's namespace.
        self._fit_classes = tuple(self.classes_.tolist())
        self.classes_ = classes_like(self.classes_, y)  # LogisticRegression's

    # ----------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    @keep_fitted_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimising the penalised cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is kept float32 (no float64 copy), as
            are ``coef_`` and ``intercept_``. CSC input is converted to CSR.
            A Dask array or DataFrame is fitted where its blocks are, with
            the same result (user guide: "Dask arrays and clusters").
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Target labels (any hashable, sortable values), or soft targets: a
            matrix of non-negative class probabilities whose rows sum to 1
            (``classes_`` is then ``arange(n_classes)``, or the sorted column
            names of a DataFrame, whose columns are reordered to match).
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
        penalty = lr_penalty(self)  # (C, l1_ratio): LogisticRegression's mapping
        X, target, sample_weight = validate_fit_input(self, X, y, sample_weight)
        objective = self._objective(X, target, sample_weight, penalty)
        w0 = self._initial_params(objective)
        settings = FitSettings.for_fit(self, objective)  # solver "auto" decided
        self.solver_, max_iter = settings.solver, settings.max_iter
        metadata = {"sample_weight": sample_weight}
        callbacks = IterationCallbacks(
            self._callback_context(max_iter),
            self,
            X,
            y,
            metadata,
            self._attributes(objective, X),
            w0,
        )
        early_stopping = self.solver == "sgd" and self.early_stopping
        self.validation_scores_ = [] if early_stopping else None  # filled per epoch
        outcome = fit_solver(
            objective,
            w0,  # not used after this: the solver may reuse its memory
            settings,
            # No callbacks: no per-iteration call (nor a copy of the model
            # for it, e.g. two-class Newton's full parameters).
            callback=callbacks if callbacks.ctx is not None else None,
            validation_scores=self.validation_scores_,
        )
        result = outcome.result
        self.learning_rate_, self._sgd_run = outcome.step, outcome.sgd_run
        callbacks.close(result.x)
        finite = np.isfinite(max_abs(result.x))
        if result.diverged or not finite:
            raise ValueError(
                diverged_message(self.get_params(), result.message, finite=finite)
            )
        if not result.converged:
            scores = self.validation_scores_
            warnings.warn(
                convergence_message(
                    self.solver_,
                    dtype=objective.dtype,
                    tol=self.tol,
                    max_iter=max_iter,
                    result=result,
                    momentum=self.momentum,
                    learning_rate=self.learning_rate,
                    validation_score=max(scores) if scores else None,
                    measure=(
                        "max|subgradient|" if objective.nonsmooth else "max|gradient|"
                    ),
                ),
                ConvergenceWarning,
                stacklevel=3,  # user code -> _fit_context wrapper -> fit
            )
        self._set_fitted(objective, result.x, X, y)
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = list(result.loss_curve)
        return self

    @keep_fitted_state_on_error
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
        check_partial_fit_input(self, X)  # class_weight="balanced", Dask X
        first = not hasattr(self, "coef_")
        if first:
            self._validate_params()
        classes = partial_fit_classes(self, y, classes, first)
        penalty = lr_penalty(self)  # (C, l1_ratio): LogisticRegression's mapping
        X, target, sample_weight = validate_fit_input(
            self, X, y, sample_weight, reset=first, classes=classes
        )
        objective = self._objective(X, target, sample_weight, penalty)
        if first:
            w = np.zeros(objective.n_params)
            self.n_iter_, self.loss_curve_ = 0, []
        else:
            w = self._fitted_params()
        settings = FitSettings.from_estimator(self, max_iter=1)
        if getattr(self, "_sgd_run", None) is None:  # first SGD epoch
            self._sgd_run = start_sgd_run(objective, settings)
        result, state = partial_fit_epoch(objective, w, settings, self._sgd_run)
        finite = np.isfinite(max_abs(result.x))
        if result.diverged or not finite:
            raise ValueError(
                diverged_message(
                    self.get_params(), result.message, "partial_fit", finite
                )
            )
        self._sgd_run.state = state
        self._set_fitted(objective, result.x, X, y)
        self.learning_rate_ = state.step
        self.validation_scores_ = None
        self.solver_ = "sgd"
        self.n_iter_ += 1
        self.loss_curve_.extend(result.loss_curve)
        return self

    def inference(
        self,
        X,
        y,
        sample_weight=None,
        *,
        reference=None,
        cov_type="nonrobust",
        groups=None,
    ):
        """Standard errors, tests and marginal effects of the fitted model.

        Computed at ``coef_`` and ``intercept_`` from the training data, with
        statsmodels' ``MNLogit`` definitions (user guide: "Inference"). Valid
        at the maximum-likelihood fit (``C=np.inf`` or ``penalty=None``, fitted
        to convergence); with an L2 penalty the covariance is that of the
        penalised estimate, labelled so; an L1 part is refused.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            The training data of the fit.
        y : array-like of shape (n_samples,)
            Its labels (soft targets are refused).
        sample_weight : array-like of shape (n_samples,), default=None
            The fit's weights, as frequency weights: a row of weight 2 counts
            as two rows.
        reference : object, default=None
            The class the coefficients are contrasted with; None means
            ``classes_[0]``.
        cov_type : {"nonrobust", "HC0", "cluster"}, default="nonrobust"
            The inverse information matrix, the sandwich estimator, or the
            sandwich with the scores summed per group of ``groups`` (times
            ``G / (G - 1) * (N - 1) / (N - p)``).
        groups : {array-like, dask array, dask Series} of shape (n_samples,), \
                default=None
            Cluster labels, for ``cov_type="cluster"`` only. With Dask ``X``
            they are split to (or rechunked to) ``X``'s row blocks and the
            scores are summed per group on the workers.

        Returns
        -------
        results : InferenceResults
            ``params``, ``bse``, ``pvalues``, ``conf_int()``, ``summary()``,
            ``get_margeff()``, ``wald_test()``, ... (statsmodels' names).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_wine
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_wine(return_X_y=True)
        >>> X = X[:, [0, 1]]  # alcohol, malic acid
        >>> clf = SoftmaxRegression(C=np.inf, tol=1e-8).fit(X, y)
        >>> res = clf.inference(X, y)
        >>> res.params.shape, res.bse.shape  # (const + 2 features, 3 - 1 classes)
        ((3, 2), (3, 2))
        >>> print(f"{res.params[1, 0]:.2f} +/- {res.bse[1, 0]:.2f}")
        -5.09 +/- 0.73
        """
        check_is_fitted(self)
        C, l1_ratio = lr_penalty(self)
        check_inference_params(l1_ratio, self.label_smoothing)
        name = getattr(y, "name", None)
        X, target, sample_weight = validate_fit_input(
            self, X, y, sample_weight, reset=False
        )
        dask_groups = None
        if (
            isinstance(target, DaskTarget)
            and cov_type == "cluster"
            and groups is not None
        ):
            dask_groups = aligned_groups(groups, X)  # kept with X's blocks
        return softmax_inference(
            self._objective(X, target, sample_weight, (C, l1_ratio), dask_groups),
            self._fitted_params(),
            classes=self.classes_,
            term_names=getattr(
                self, "feature_names_in_", [f"x{j}" for j in range(X.shape[1])]
            ),
            reference=reference,
            cov_type=cov_type,
            groups=groups,
            C=C,
            tol=self.tol,
            dep_name="y" if name is None else str(name),
        )
