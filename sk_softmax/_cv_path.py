"""The regularisation paths of :class:`~sk_softmax.SoftmaxRegressionCV`.

The estimator mirrors scikit-learn 1.9's ``LogisticRegressionCV``: for each
fold of ``cv`` and each ``l1_ratio`` of the grid, the models of all ``Cs`` are
fitted on the training part and scored on the held-out part; the best
``(C, l1_ratio)`` (the largest score summed over the folds) is refitted on all
the data, or with ``refit=False`` the folds' best models are averaged.

Speed comes from three places, each kept here rather than in the solvers:

- a path, not separate fits: the ``Cs`` of a fold are fitted from the
  strongest penalty (smallest ``C``) to the weakest, each fit starting from
  the previous optimum (:func:`fold_path`). The objective of a fold is built
  once (one copy of the fold's rows); only its penalty changes along the
  path.
- the refit starts from the mean of the folds' optima at the chosen
  ``(C, l1_ratio)``, as ``LogisticRegressionCV`` does;
- the ``(fold, l1_ratio)`` paths run in parallel with joblib, in threads by
  default: the objective's kernel releases the GIL, shares ``X`` between the
  paths without copying it to workers, and its own worker threads count
  the paths already running against the usable CPUs
  (:func:`sk_softmax._threadpool.run_in_threads`), so that ``n_jobs`` paths
  do not oversubscribe the cores. No BLAS thread setting is changed.
"""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.utils.parallel import Parallel, delayed

from ._fit import FitSettings, fit_solver
from ._namespaces import model_arrays
from ._objective import make_objective
from ._sklearn_compat import (
    check_method_params,
    check_sample_weight,
    get_namespace,
    is_numpy_namespace,
    scorer_with_params,
)

__all__ = [
    "PathProblem",
    "check_weights",
    "collect",
    "cv_penalty_grid",
    "final_model",
    "fold_path",
    "fold_scorer",
    "numpy_input_only",
    "regularisation_grid",
    "run_paths",
    "warn_unconverged",
]


def regularisation_grid(Cs):
    """The ``Cs`` grid: ``logspace(-4, 4, Cs)`` for an int, else the values.

    Parameters
    ----------
    Cs : int or array-like of float
        The estimator's ``Cs``.

    Returns
    -------
    Cs : ndarray of shape (n_cs,)
        In the given order (``np.inf`` allowed: no penalty).
    """
    if isinstance(Cs, numbers.Integral):
        return np.logspace(-4, 4, Cs)
    values = np.asarray(Cs, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values > 0):  # also rejects NaN
        raise ValueError(
            "Cs must be a positive int or a non-empty array-like of positive "
            f"floats (np.inf: no penalty); got Cs={Cs!r}."
        )
    return values


def cv_penalty_grid(penalty, l1_ratios):
    """``LogisticRegressionCV.fit`` 1.9.1's ``penalty`` / ``l1_ratios`` logic.

    Parameters
    ----------
    penalty : {"deprecated", "l1", "l2", "elasticnet"}
        The estimator's ``penalty``.
    l1_ratios : array-like of float, None or "warn"
        The estimator's ``l1_ratios`` (``"warn"``, ``LogisticRegressionCV``'s
        default, is None with its ``FutureWarning``).

    Returns
    -------
    penalty : {"l1", "l2", "elasticnet"}
        The penalty ``LogisticRegressionCV`` would use.
    grid : list
        ``l1_ratios_``: the values as given, or ``[None]`` for None.
    effective : list of float
        The ``l1_ratio`` each grid entry is fitted with (0 for an explicit
        ``"l2"``, 1 for ``"l1"``).
    """
    given = None if isinstance(l1_ratios, str) else l1_ratios
    if given is not None and len(given) == 0:
        # An empty grid has nothing to fit ("need at least one array to
        # stack" deep in fit, issue 20): the error of LogisticRegressionCV's
        # elasticnet check, for every penalty.
        raise ValueError(
            "l1_ratios must be an array-like of numbers between "
            f"0 and 1; got (l1_ratios={l1_ratios!r})"
        )
    if isinstance(l1_ratios, str) and l1_ratios == "warn":
        warnings.warn(
            "The default value for l1_ratios will change from None to (0.0,) "
            "in version 1.10. From version 1.10 onwards, only array-like "
            "with values in [0, 1] will be allowed, None will be forbidden. "
            "To avoid this warning, explicitly set a value, "
            "e.g. l1_ratios=(0,).",
            FutureWarning,
        )
    explicit = penalty != "deprecated"
    if not explicit:
        if l1_ratios is None:
            warnings.warn(
                "'l1_ratios=None' was deprecated in version 1.8 and will "
                "trigger an error in 1.10. Use an array-like with values"
                "in [0, 1] instead.",
                FutureWarning,
            )
        values = np.asarray(given if given is not None else [0.0])
        penalty = "l2"
        if given is not None and not np.all(values == 0):
            penalty = "l1" if np.all(values == 1) else "elasticnet"
    else:
        warnings.warn(
            "'penalty' was deprecated in version 1.8 and will be removed in"
            " 1.10. To avoid this warning, leave 'penalty' set to its default"
            " value and use 'l1_ratios' and 'Cs' instead."
            " Use l1_ratios=(0,) instead of penalty='l2',"
            " l1_ratios=(1,) instead of penalty='l1',"
            " l1_ratios set to floats between 0 and 1 instead of"
            " penalty='elasticnet', and Cs=(np.inf,) instead of penalty=None.",
            FutureWarning,
        )
    if penalty == "elasticnet":
        if (
            given is None
            or len(given) == 0
            or any(not isinstance(r, numbers.Number) or not 0 <= r <= 1 for r in given)
        ):
            raise ValueError(
                "l1_ratios must be an array-like of numbers between "
                f"0 and 1; got (l1_ratios={l1_ratios!r})"
            )
        grid = list(given)
        return penalty, grid, [float(r) for r in grid]
    if given is not None and explicit:
        warnings.warn(
            "l1_ratios parameter is only used when penalty is 'elasticnet'. "
            f"Got (penalty={penalty})"
        )
    grid = [None] if given is None else list(given)
    return penalty, grid, [1.0 if penalty == "l1" else 0.0] * len(grid)


def fold_scorer(scoring, classes):
    """The scorer of the held-out parts, as ``LogisticRegressionCV`` builds it.

    ``None`` is accuracy. A scorer whose metric takes ``labels`` (log loss,
    Brier score...) gets all the classes, since a fold's test part may lack
    some; for two classes its ``pos_label`` is ``classes[-1]``.

    Parameters
    ----------
    scoring : str, callable or None
        The estimator's ``scoring``.
    classes : ndarray of shape (n_classes,)
        All the classes.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``.
    """
    scorer = get_scorer("accuracy" if scoring is None else scoring)
    extra = {"labels": classes}
    if len(classes) <= 2:
        extra["pos_label"] = classes[-1]
    with_labels = scorer_with_params(scorer, **extra)
    return scorer if with_labels is None else with_labels


def fold_path(
    make_objective,
    train,
    test,
    Cs,
    l1_ratio,
    template,
    scorer,
    score_model,
    X,
    y,
    score_params,
):
    """Fit the path of ``Cs`` on ``train`` with warm starts; score on ``test``.

    Parameters
    ----------
    make_objective : callable
        ``make_objective(rows, C, l1_ratio) -> objective`` on the training
        rows.
    train, test : ndarray of int
        Rows of the fold.
    Cs : ndarray of shape (n_cs,)
        The grid, in the user's order; fitted in increasing order (strongest
        penalty first), each fit starting from the previous optimum.
    l1_ratio : float
        The effective mixing parameter (0: L2 only), the same along the
        path.
    template : SoftmaxRegression
        Solver settings (``solver``, ``tol``, ``max_iter``, ``verbose``).
    scorer : callable
        Built by :func:`fold_scorer`.
    score_model : callable
        ``score_model(objective, w) -> estimator`` with ``coef_``,
        ``intercept_`` and ``classes_`` for the scorer.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All the data (the test rows are taken from it).
    y : ndarray of shape (n_samples,)
        All the labels.
    score_params : dict
        Parameters of the scorer, for all the rows (sliced to ``test``).

    Returns
    -------
    coefs : ndarray of shape (n_cs, n_classes, n_features + fit_intercept)
    scores : ndarray of shape (n_cs,)
    n_iter : ndarray of shape (n_cs,)
    n_unconverged : int
        Fits that stopped at ``max_iter`` before ``tol``.
    max_iter : int
        The iteration budget of each fit (the solver's default for None).
    """
    order = np.argsort(Cs, kind="stable")
    objective = make_objective(train, Cs[order[0]], l1_ratio)
    # The solver of the strongest penalty for the whole path: with an L1
    # part that is "lbfgs" (OWL-QN) for "auto", also where C = inf drops it.
    settings = FitSettings.for_fit(template, objective)
    coefs = np.empty((len(Cs), objective.n_params))
    n_iter = np.zeros(len(Cs), dtype=np.int32)
    w = np.zeros(objective.n_params)
    n_unconverged = 0
    for i in order:
        objective = objective.with_penalty(Cs[i])  # the same data term
        result = fit_solver(objective, w.copy(), settings).result
        w = result.x
        coefs[i], n_iter[i] = w, result.n_iter
        n_unconverged += not result.converged
    X_test, y_test = X[test], y[test]
    params = check_method_params(X, params=score_params, indices=test)
    scores = np.array(
        [scorer(score_model(objective, w), X_test, y_test, **params) for w in coefs]
    )
    K = objective.n_classes
    return (
        coefs.reshape(len(Cs), K, -1),
        scores,
        n_iter,
        n_unconverged,
        settings.max_iter,
    )


def warn_unconverged(n_unconverged, n_fits, max_iter, tol, refit_C=None):
    """One ``ConvergenceWarning`` for the path fits that did not converge.

    Parameters
    ----------
    n_unconverged : int
        Path fits that stopped at ``max_iter`` before ``tol``.
    n_fits : int
        All the path fits.
    max_iter : int or str
        The iteration budget of each fit (several, joined, when the solvers
        of the paths differ).
    tol : float
        The criterion.
    refit_C : float or None, default=None
        The ``C`` of the final refit, when the warning is about it.
    """
    what = f"{n_unconverged} of the {n_fits} fits of the regularisation paths"
    # max_iter: one number, or several joined by "/" (one per solver).
    if refit_C is not None:
        what = f"The refit on all the data with C={refit_C:g}"
    if n_unconverged:
        warnings.warn(
            f"{what} did not reach max|gradient| <= tol = {tol:g} within max_iter = "
            f"{max_iter} iterations; the scores or the model may be off. Increase "
            "max_iter or scale the data (e.g. StandardScaler).",
            ConvergenceWarning,
        )


def run_paths(tasks, n_jobs, verbose):
    """Run the ``(fold, l1_ratio)`` paths with joblib, in threads by default.

    Threads (a soft preference: a ``joblib.parallel_backend`` context
    overrides it): the kernel releases the GIL and shares its cores between
    concurrent evaluations (see the module docstring).

    Parameters
    ----------
    tasks : list of tuple
        Arguments of :func:`fold_path`.
    n_jobs : int or None
        joblib's ``n_jobs``.
    verbose : int
        joblib's ``verbose``.

    Returns
    -------
    results : list
        :func:`fold_path`'s results, in the order of ``tasks``.
    """
    parallel = Parallel(n_jobs=n_jobs, verbose=verbose, prefer="threads")
    return parallel(delayed(fold_path)(*task) for task in tasks)


def numpy_input_only(X):
    """Reject Array API input (the paths run on numpy / scipy.sparse data).

    Parameters
    ----------
    X : array-like
        Training data.
    """
    xp, _ = get_namespace(X)
    if not is_numpy_namespace(xp):
        raise ValueError(
            "SoftmaxRegressionCV takes numpy arrays, scipy.sparse matrices or "
            "array-likes; Array API input (array_api_dispatch=True with "
            f"{xp.__name__} arrays) is only supported by SoftmaxRegression."
        )


def check_weights(sample_weight, X):
    """The validated ``sample_weight`` (None stays None), for the scorer.

    Parameters
    ----------
    sample_weight : array-like or None
        The ``sample_weight`` passed to ``fit``.
    X : array-like
        The training data (its number of rows).

    Returns
    -------
    sample_weight : ndarray or None
    """
    if sample_weight is None:
        return None
    return check_sample_weight(sample_weight, X, dtype=np.float64)


def best_indices(scores):
    """Best ``(C, l1_ratio)`` indices, with ``LogisticRegressionCV``'s ties.

    Parameters
    ----------
    scores : ndarray of shape (n_l1_ratios, n_cs)
        Scores of one fold, or summed over the folds.

    Returns
    -------
    c_index, l1_index : int
        The first maximum in the order ``(C, l1_ratio)`` (``C`` major), as
        ``LogisticRegressionCV`` picks it.
    """
    by_C = scores.T  # (n_cs, n_l1_ratios)
    c_index, l1_index = np.unravel_index(np.argmax(by_C), by_C.shape)
    return int(c_index), int(l1_index)


def cv_attributes(
    paths, scores, n_iter, C, l1_ratio, *, classes, l1_grid, penalty, legacy
):
    """``coefs_paths_``, ``scores_``, ``n_iter_``, ``C_``, ``l1_ratio_``.

    ``LogisticRegressionCV`` 1.9.1's layouts: with ``legacy=False`` (its
    ``use_legacy_attributes=False``, the default from 1.10) arrays indexed
    ``(fold, l1_ratio, C)`` and floats; with ``legacy=True`` dicts keyed by
    class with the ``C`` axis before the ``l1_ratio`` axis (dropped when
    ``l1_ratios`` is None), ``n_iter_`` with a leading axis of 1 and ``C_``,
    ``l1_ratio_`` repeated per class (one entry for two classes).

    Parameters
    ----------
    paths : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes, n_dof)
        The folds' models along the paths.
    scores : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out scores.
    n_iter : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Iterations of each fit.
    C : float
        The chosen (or, with ``refit=False``, averaged) ``C``.
    l1_ratio : float or None
        The chosen ``l1_ratio`` (an entry of ``l1_grid``, or an average).
    classes : ndarray of shape (n_classes,)
        The classes (the keys of the legacy dicts).
    l1_grid : list
        ``l1_ratios_`` (``[None]`` for ``l1_ratios=None``).
    penalty : {"l1", "l2", "elasticnet"}
        The penalty in force (for the new layout's ``l1_ratio_`` when
        ``l1_ratios`` is None).
    legacy : bool
        Which layout.

    Returns
    -------
    attributes : dict
    """
    if not legacy:
        if l1_ratio is None:
            l1_ratio = 1.0 if penalty == "l1" else 0.0
        return {
            "coefs_paths_": paths,
            "scores_": scores,
            "n_iter_": n_iter,
            "C_": float(C),
            "l1_ratio_": float(l1_ratio),
        }
    drop_l1 = l1_grid == [None]
    paths = np.moveaxis(paths, (1, 2), (2, 1))  # (fold, C, l1_ratio, K, dof)
    scores = np.swapaxes(scores, 1, 2)
    n_iter = np.swapaxes(n_iter, 1, 2)[None]
    if drop_l1:
        paths, scores, n_iter = paths[:, :, 0], scores[:, :, 0], n_iter[..., 0]
    n_repeat = 1 if len(classes) == 2 else len(classes)
    return {
        "coefs_paths_": {c: paths[..., k, :] for k, c in enumerate(classes)},
        "scores_": {c: scores.copy() for c in classes},
        "n_iter_": n_iter,
        "C_": np.full(n_repeat, C),
        "l1_ratio_": np.asarray([l1_ratio] * n_repeat),
    }


class PathProblem:
    """The data of a search: objectives of rows, models for the scorer.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated training data.
    codes : ndarray of shape (n_samples,)
        Class codes.
    weights : ndarray of shape (n_samples,)
        Training weights (sample times class weights).
    classes : ndarray of shape (n_classes,)
        The classes.
    fit_intercept : bool
        Whether the models have intercepts.
    model_class : type
        The estimator class of the models handed to the scorer
        (``SoftmaxRegression``; passed in, so that this fit layer imports no
        estimator).
    """

    def __init__(self, X, codes, weights, classes, fit_intercept, model_class):
        self.X, self.codes, self.weights = X, codes, weights
        self.classes, self.fit_intercept = classes, fit_intercept
        self.model_class = model_class

    def objective(self, rows, C, l1_ratio):
        """The objective of ``rows`` (None: all, without a copy).

        Parameters
        ----------
        rows : ndarray of int or None
            Training rows.
        C, l1_ratio : float
            The penalty.

        Returns
        -------
        objective : SoftmaxObjective
            Built by :func:`~sk_softmax._objective.make_objective`.
        """
        X, codes, weights = self.X, self.codes, self.weights
        if rows is not None:
            X, codes, weights = X[rows], codes[rows], weights[rows]
        return make_objective(
            X,
            codes,
            len(self.classes),
            sample_weight=weights,
            C=C,
            l1_ratio=l1_ratio,
            fit_intercept=self.fit_intercept,
        )

    def model(self, objective, w):
        """A fitted :class:`SoftmaxRegression` of the parameters ``w``.

        Parameters
        ----------
        objective : SoftmaxObjective
            Its layout (``unpack``).
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        model : SoftmaxRegression
            With ``classes_``, ``coef_``, ``intercept_`` and
            ``n_features_in_``, for the scorer.
        """
        model = self.model_class(fit_intercept=self.fit_intercept)
        model.classes_, model.n_features_in_ = self.classes, self.X.shape[1]
        model.coef_, model.intercept_ = model_arrays(*objective.unpack(w), self.X)
        return model

    def coef_intercept(self, w):
        """``(coef_, intercept_)`` of the flat parameters ``w``.

        Parameters
        ----------
        w : ndarray of shape (n_params,) or (n_classes, n_dof)
            Parameters.

        Returns
        -------
        coef, intercept : ndarray
            In ``X``'s dtype.
        """
        K, d = len(self.classes), self.X.shape[1]
        Wb = np.reshape(w, (K, -1))
        intercept = Wb[:, -1] if self.fit_intercept else np.zeros(K)
        return model_arrays(Wb[:, :d], intercept, self.X)


def collect(results, shape, n_classes, tol):
    """Stack :func:`fold_path`'s results; warn once for unconverged fits.

    Parameters
    ----------
    results : list
        One result per ``(fold, l1_ratio)``, folds major.
    shape : tuple of int
        ``(n_folds, n_l1_ratios, n_cs)``.
    n_classes : int
        Rows per model.
    tol : float
        For the warning.

    Returns
    -------
    paths : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes, n_dof)
    scores : ndarray of shape (n_folds, n_l1_ratios, n_cs)
    n_iter : ndarray of shape (n_folds, n_l1_ratios, n_cs)
    """
    paths = np.stack([res[0] for res in results]).reshape(shape + (n_classes, -1))
    scores = np.stack([res[1] for res in results]).reshape(shape)
    n_iter = np.stack([res[2] for res in results]).reshape(shape)
    budgets = "/".join(str(m) for m in sorted({res[4] for res in results}))
    warn_unconverged(sum(res[3] for res in results), scores.size, budgets, tol)
    return paths, scores, n_iter


def final_model(problem, paths, scores, grid, *, refit, template):
    """The final parameters and the chosen (or averaged) ``C``, ``l1_ratio``.

    ``refit``: the best ``(C, l1_ratio)`` of the scores summed over the
    folds, refitted on all the data from the mean of the folds' models.
    Otherwise the mean of each fold's best model, and the mean of their
    ``C`` (and of their ``l1_ratio`` for the elastic net, else 0), as
    ``LogisticRegressionCV`` does.

    Parameters
    ----------
    problem : PathProblem
        The data.
    paths : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes, n_dof)
        The folds' models.
    scores : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out scores.
    grid : tuple
        ``(Cs, l1_grid, l1_effective, penalty)``.
    refit : bool
        Whether to refit.
    template : SoftmaxRegression
        Solver settings of the refit.

    Returns
    -------
    w : ndarray
        Parameters of the final model.
    C : float
    l1_ratio : float or None
        An entry of ``l1_grid`` (None for ``l1_ratios=None``) or a mean.
    """
    Cs, l1_grid, l1_effective, penalty = grid
    if refit:
        c_idx, l1_idx = best_indices(scores.sum(axis=0))
        C, l1_ratio = Cs[c_idx], l1_grid[l1_idx]
        objective = problem.objective(None, C, l1_effective[l1_idx])
        w0 = paths[:, l1_idx, c_idx].mean(axis=0).ravel()
        settings = FitSettings.for_fit(template, objective)
        result = fit_solver(objective, w0, settings).result
        converged = int(not result.converged)
        warn_unconverged(converged, 1, settings.max_iter, template.tol, C)
        return result.x, C, l1_ratio
    best = [best_indices(s) for s in scores]
    w = np.mean([paths[f, li, ci] for f, (ci, li) in enumerate(best)], axis=0)
    C = float(np.mean([Cs[ci] for ci, _ in best]))
    l1_ratio = 0.0
    if penalty == "elasticnet":
        l1_ratio = float(np.mean([l1_grid[li] for _, li in best]))
    return w, C, l1_ratio
