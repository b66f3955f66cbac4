"""The :class:`SoftmaxRegressionCV` estimator: ``C`` (and ``l1_ratio``) by
cross-validation, with ``LogisticRegressionCV``'s parameters and attributes.

The paths, the scorer and the attribute layouts are in
:mod:`sk_softmax._cv_path`; the predictions and the fitted state are
:class:`~sk_softmax._base.BaseSoftmaxRegression`'s, as for
:class:`SoftmaxRegression`.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import metadata_routing
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)

from ._base import BaseSoftmaxRegression, keep_fitted_state_on_error
from ._cv_path import (
    PathProblem,
    check_weights,
    collect,
    cv_attributes,
    cv_penalty_grid,
    final_model,
    fold_scorer,
    numpy_input_only,
    regularisation_grid,
    run_paths,
)
from ._estimator import SoftmaxRegression
from ._lr_compat import (
    LR_ONLY_SOLVERS,
    LR_PARAMETER_CONSTRAINTS,
    check_dual,
    check_solver,
)
from ._sklearn_compat import (
    Hidden,
    Interval,
    StrOptions,
    fit_context,
    raise_for_params,
    routing_enabled,
)
from ._targets import is_soft
from ._validation import validate_fit_input

__all__ = ["SoftmaxRegressionCV"]


class SoftmaxRegressionCV(BaseSoftmaxRegression):
    """Softmax regression with ``C`` chosen by cross-validation.

    :class:`SoftmaxRegression`'s model and objective, with
    ``LogisticRegressionCV``'s parameters and attributes (scikit-learn 1.9):
    for each fold of ``cv`` the models of all ``Cs`` are fitted on the
    training part, from the strongest penalty to the weakest, each starting
    from the previous optimum, and scored on the held-out part with
    ``scoring``. The ``(C, l1_ratio)`` with the best score summed over the
    folds is refitted on all the data, starting from the mean of the folds'
    models. The folds run in parallel with ``n_jobs``.

    For three or more classes the objective, hence the chosen ``C`` and the
    scores, are ``LogisticRegressionCV``'s (multinomial). Two classes are
    modelled with two rows as in :class:`SoftmaxRegression`: the model of
    ``C`` is ``LogisticRegression``'s of ``2 C``, so a grid ``Cs`` here
    matches ``2 * Cs`` there.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        Values of ``C`` (inverse regularisation strength; ``np.inf``: no
        penalty). An int ``n`` means ``np.logspace(-4, 4, n)``, as in
        ``LogisticRegressionCV``.
    l1_ratios : array-like of float or None, default="warn"
        Elastic-net mixing parameters to cross-validate, in [0, 1] (see
        ``l1_ratio`` of :class:`SoftmaxRegression`); each is a path over
        ``Cs`` per fold, and the best ``(C, l1_ratio)`` pair is chosen.
        ``None`` (deprecated in ``LogisticRegressionCV`` 1.8, with its
        ``FutureWarning``) and the default ``"warn"`` (``LogisticRegressionCV``
        1.9's: None with a ``FutureWarning`` that the default becomes
        ``(0.0,)``) mean L2 only, and drop the ``l1_ratio`` axis of the legacy
        attributes. Pass ``l1_ratios=(0.0,)`` for L2 without a warning.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per class.
    cv : int, cross-validation generator or iterable, default=None
        Folds, as in ``LogisticRegressionCV``: None is 5-fold
        ``StratifiedKFold``, an int that many stratified folds.
    dual : bool, default=False
        ``True`` is a ``ValueError`` (liblinear's dual formulation).
    penalty : {"l1", "l2", "elasticnet"}, default="deprecated"
        Deprecated in ``LogisticRegressionCV`` 1.8; mapped with
        ``l1_ratios`` as it does, with its ``FutureWarning``. Leave it unset.
    scoring : str, callable or None, default="warn"
        Score of the held-out parts (a scorer name or
        ``scorer(estimator, X, y)``); None is accuracy. The default
        ``"warn"`` is ``LogisticRegressionCV`` 1.9's: accuracy, with a
        ``FutureWarning`` that the default becomes ``"neg_log_loss"``. Also
        used by :meth:`score`.
    solver : {"auto", "lbfgs", "newton-cg", "newton-cholesky", "gd"}, \
            default="auto"
        As in :class:`SoftmaxRegression` (``"auto"`` is decided once per
        fold from its size). ``LogisticRegression``-only names are rejected
        with the reason.
    tol : float, default=1e-4
        Each fit of the paths and the refit stop when the largest absolute
        entry of the gradient of the mean-scaled objective is at most ``tol``.
    max_iter : int or None, default=None
        Iterations per fit; None is the solver's default (see
        :class:`SoftmaxRegression`).
    class_weight : dict, "balanced" or None, default=None
        Class weights, computed once on all the data (``"balanced"``) and
        multiplied into the training weights of every fold and of the refit,
        as in ``LogisticRegressionCV``. The held-out scores use the sample
        weights alone.
    n_jobs : int or None, default=None
        ``(fold, l1_ratio)`` paths run in parallel (joblib, threads by
        default). None means 1 unless in a ``joblib.parallel_backend``
        context. Each path's kernel also uses the cores that the others leave
        free.
    verbose : int, default=0
        joblib's verbosity, and the solvers' (one line per iteration) if
        > 1.
    refit : bool, default=True
        Refit with the best ``(C, l1_ratio)`` on all the data. If False, the
        model is the mean of the folds' best models, and ``C_`` (and
        ``l1_ratio_``) the mean of their ``C`` (and ``l1_ratio``).
    intercept_scaling : float, default=1.0
        Accepted, no effect (liblinear's).
    random_state : int, RandomState instance or None, default=None
        Accepted, no effect (no solver here is randomised); the folds come
        from ``cv``.
    use_legacy_attributes : bool, default="warn"
        The attribute layout of ``LogisticRegressionCV``:
        False (its default from 1.10) gives arrays and floats, True dicts
        keyed by class and arrays for ``C_`` and ``l1_ratio_``; see
        Attributes. The default ``"warn"`` is ``LogisticRegressionCV`` 1.9's:
        True, with a ``FutureWarning`` that the default becomes False.

    Notes
    -----
    The three ``"warn"`` defaults and their ``FutureWarning`` messages are
    ``LogisticRegressionCV`` 1.9.1's, so that code written for it runs
    unchanged (``scores_.values()``); the defaults will change when its do.
    They are the same whatever scikit-learn is installed: with 1.6 and 1.7,
    whose ``LogisticRegressionCV`` has no ``use_legacy_attributes`` and
    defaults to ``l1_ratios=None`` and ``scoring=None``, the ``"warn"``
    defaults give that version's behaviour (legacy attributes, L2, accuracy)
    plus the warnings. Silence them by passing the values, e.g.
    ``SoftmaxRegressionCV(l1_ratios=(0.0,), scoring="neg_log_loss",
    use_legacy_attributes=False)``.

    :meth:`set_callbacks` (scikit-learn >= 1.9) is accepted, as by
    ``LogisticRegressionCV`` 1.9.1, whose ``fit`` calls no callback either;
    here ``fit`` says so with a ``UserWarning`` instead of ignoring them
    silently. With scikit-learn < 1.9 it raises ``NotImplementedError``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (n_classes, n_features)
        Weights of the final model (a CSR matrix after :meth:`sparsify`).
    intercept_ : ndarray of shape (n_classes,)
        Intercepts of the final model.
    Cs_ : ndarray of shape (n_cs,)
        The grid of ``C``, in the given order.
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The grid of ``l1_ratio`` (``[None]`` for ``l1_ratios=None``).
    C_ : float
        The chosen ``C`` (legacy: ndarray of shape (n_classes,), or (1,) for
        two classes, the value repeated).
    l1_ratio_ : float
        The chosen ``l1_ratio`` (legacy: as ``C_``).
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes, \
n_dof)
        The folds' models along the paths, ``[W, b]`` per class (``n_dof =
        n_features + fit_intercept``). Legacy: a dict class ->
        ``(n_folds, n_cs, n_l1_ratios, n_dof)`` (without the ``l1_ratio``
        axis for ``l1_ratios=None``).
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out scores. Legacy: a dict class -> ``(n_folds, n_cs,
        n_l1_ratios)`` (the same for every class).
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Iterations of each fit of the paths. Legacy: ``(1, n_folds, n_cs,
        n_l1_ratios)``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    SoftmaxRegression : The model with a given ``C``.
    sklearn.linear_model.LogisticRegressionCV : The same search with
        scikit-learn's solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sk_softmax import SoftmaxRegressionCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegressionCV(
    ...     Cs=5, l1_ratios=(0.0,), scoring="neg_log_loss",
    ...     use_legacy_attributes=False,
    ... ).fit(X, y)
    >>> float(clf.C_)
    100.0
    >>> clf.scores_.shape  # (n_folds, n_l1_ratios, n_cs)
    (5, 1, 5)
    >>> clf.predict(X[:2])
    array([0, 0])
    """

    # score() takes sample_weight itself; routing it is the scorer's business.
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "fit_intercept": ["boolean"],
        "cv": ["cv_object"],
        "scoring": [
            StrOptions(set(get_scorer_names())),
            callable,
            None,
            Hidden(StrOptions({"warn"})),
        ],
        "solver": [
            StrOptions({"auto", "lbfgs", "newton-cg", "newton-cholesky", "gd"}),
            Hidden(StrOptions(set(LR_ONLY_SOLVERS))),  # rejected with a reason
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left"), None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "verbose": ["verbose"],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
        **LR_PARAMETER_CONSTRAINTS,  # dual, intercept_scaling, n_jobs
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            Hidden(StrOptions({"deprecated"})),
        ],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios="warn",
        fit_intercept=True,
        cv=None,
        dual=False,
        penalty="deprecated",
        scoring="warn",
        solver="auto",
        tol=1e-4,
        max_iter=None,
        class_weight=None,
        n_jobs=None,
        verbose=0,
        refit=True,
        intercept_scaling=1.0,
        random_state=None,
        use_legacy_attributes="warn",
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes

    @fit_context(prefer_skip_nested_validation=True)
    @keep_fitted_state_on_error
    def fit(self, X, y, sample_weight=None, **params):
        """Cross-validate the grid, then fit the final model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 is kept float32).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, for the fits and (as in
            ``LogisticRegressionCV``) the held-out scores.
        **params : dict
            Parameters of the scorer (and, with metadata routing enabled,
            routed to the splitter, e.g. ``groups``, and the scorer).

        Returns
        -------
        self : SoftmaxRegressionCV
            Fitted estimator.
        """
        raise_for_params(params, self, "fit")
        check_solver(self.solver)
        check_dual(self.dual)
        numpy_input_only(X)
        if is_soft(y):
            raise ValueError(
                "SoftmaxRegressionCV takes class labels y of shape (n_samples,); "
                "for soft targets, search C with GridSearchCV over "
                "SoftmaxRegression and a scorer that takes them."
            )
        penalty, l1_grid, l1_effective = cv_penalty_grid(self.penalty, self.l1_ratios)
        self._warn_defaults()
        Cs = regularisation_grid(self.Cs)
        score_weight = check_weights(sample_weight, X)
        X, codes, weights = validate_fit_input(self, X, y, sample_weight)
        labels = self.classes_[codes]
        if routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
            split_params, score_params = routed.splitter.split, routed.scorer.score
        else:
            split_params, score_params = {}, dict(params)
            if score_weight is not None:
                score_params["sample_weight"] = score_weight
        folds = list(
            check_cv(self.cv, labels, classifier=True).split(X, labels, **split_params)
        )
        template = SoftmaxRegression(
            solver=self.solver,
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=max(0, self.verbose - 1),
        )
        problem = PathProblem(
            X, codes, weights, self.classes_, self.fit_intercept, SoftmaxRegression
        )
        scorer = fold_scorer(self._scoring(), self.classes_)
        tasks = [
            (problem.objective, train, test, Cs, r, template, scorer)
            + (problem.model, X, labels, score_params)
            for train, test in folds
            for r in l1_effective
        ]
        results = run_paths(tasks, self.n_jobs, self.verbose)
        shape = (len(folds), len(l1_grid), len(Cs))
        paths, scores, n_iter = collect(results, shape, len(self.classes_), self.tol)
        w, C, l1_ratio = final_model(
            problem,
            paths,
            scores,
            (Cs, l1_grid, l1_effective, penalty),
            refit=self.refit,
            template=template,
        )
        self.coef_, self.intercept_ = problem.coef_intercept(w)
        self.Cs_, self.l1_ratios_ = Cs, np.asarray(l1_grid)
        attributes = cv_attributes(
            paths,
            scores,
            n_iter,
            C,
            l1_ratio,
            classes=self.classes_,
            l1_grid=l1_grid,
            penalty=penalty,
            legacy=self.use_legacy_attributes is not False,
        )
        for name, value in attributes.items():
            setattr(self, name, value)
        return self

    def _warn_defaults(self):
        """``LogisticRegressionCV`` 1.9.1's warnings for ``scoring="warn"``
        and ``use_legacy_attributes="warn"`` (``l1_ratios="warn"``: see
        ``cv_penalty_grid``), and the callbacks that ``fit`` does not call."""
        name = type(self).__name__
        if self.scoring == "warn":
            warnings.warn(
                "The default value of the parameter 'scoring' will change from "
                "None, i.e. accuracy, to 'neg_log_loss' in version 1.11. To "
                "silence this warning, explicitly set the scoring parameter: "
                "scoring='neg_log_loss' for the new, scoring='accuracy' or "
                "scoring=None for the old default.",
                FutureWarning,
            )
        if self.use_legacy_attributes == "warn":
            warnings.warn(
                f"The fitted attributes of {name} will be simplified in "
                "scikit-learn 1.10 to remove redundancy. Set"
                "`use_legacy_attributes=False` to enable the new behavior now, "
                "or set it to `True` to silence this warning during the "
                "transition period while keeping the deprecated behavior for "
                "the time being. The default value of use_legacy_attributes "
                "will change from True to False in scikit-learn 1.10. See the "
                f"docstring of {name} for more details.",
                FutureWarning,
            )
        if getattr(self, "_skl_callbacks", None):
            warnings.warn(
                f"{name}.fit calls no callback (as LogisticRegressionCV 1.9): "
                "the callbacks set with set_callbacks are ignored. Set them on "
                "SoftmaxRegression to follow a single fit."
            )

    def _scoring(self):
        # "warn" (LogisticRegressionCV's default) is None: accuracy.
        return None if self.scoring == "warn" else self.scoring

    def _get_scorer(self):
        scoring = self._scoring()
        return get_scorer("accuracy" if scoring is None else scoring)

    def score(self, X, y, sample_weight=None, **score_params):
        """Score of the model on ``(X, y)`` with ``scoring`` (accuracy if None).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **score_params : dict
            Parameters of the scorer (routed with metadata routing enabled).

        Returns
        -------
        score : float
        """
        raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        if routing_enabled():
            score_params = process_routing(self, "score", **score_params).scorer.score
        elif sample_weight is None:
            score_params = {}
        return self._get_scorer()(self, X, y, **score_params)

    def get_metadata_routing(self):
        """Metadata routing of this object: the splitter and the scorer.

        Returns
        -------
        routing : MetadataRouter
            Routes ``fit``'s metadata to ``cv.split`` and to the scorer, and
            ``score``'s to the scorer.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping()
                .add(caller="score", callee="score")
                .add(caller="fit", callee="score"),
            )
        )
