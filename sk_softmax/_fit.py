"""From an objective and the estimator's settings to a fitted parameter vector.

The layer between the estimator and the optimisers: it picks and configures
the solver (:mod:`sk_softmax._solvers`) for ``solver`` and the learning-rate
settings, runs it on the objective's functions (the solvers never see the
data) and returns a :class:`~sk_softmax._solvers.SolverResult`:

- ``"auto"``: one of the next three, by the problem's size and ``X``'s
  format (:func:`choose_solver`);
- ``"lbfgs"``: L-BFGS, finished by Newton-CG where it stops short of ``tol``
  (:func:`lbfgs_newton`);
- ``"newton-cg"``: Newton's method with Jacobi-preconditioned conjugate
  gradients (:mod:`sk_softmax._newton_pcg`);
- ``"newton-cholesky"``: Newton's method with the objective's dense Hessian;
- ``"gd"``: gradient descent with a ``1 / L`` or given step;
- ``"sgd"`` and ``partial_fit``: mini-batch SGD on the objective's
  mini-batch view, with the run state that ``partial_fit`` continues
  (:class:`SGDRun`).

With an L1 part in the penalty (``l1_ratio > 0``, finite ``C``),
``"lbfgs"`` (and ``"auto"``) run OWL-QN and ``"gd"`` FISTA
(:mod:`sk_softmax._prox_solvers`), ``"sgd"`` takes a proximal (soft
thresholding) step after each update, and ``"newton-cholesky"`` is refused,
as in ``LogisticRegression``.
"""

import copy
import dataclasses
from dataclasses import dataclass, fields

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._newton_pcg import newton_pcg
from ._prox_solvers import fit_nonsmooth
from ._solvers import (
    SGDState,
    SolverResult,
    gradient_descent,
    lbfgs,
    newton_cg,
    newton_cholesky,
    sgd,
)

__all__ = [
    "DEFAULT_MAX_ITER",
    "FitSettings",
    "SGDRun",
    "choose_solver",
    "fit_solver",
    "initial_step",
    "lbfgs_newton",
    "partial_fit_epoch",
    "start_sgd_run",
]

# max_iter=None means these. Chosen so that default fits reach tol=1e-4 on
# standardised real data sets (iris, wine, digits, C=1); see tests.
# "sgd" counts epochs, with MLPClassifier's default.
DEFAULT_MAX_ITER = {
    "lbfgs": 1000,
    "newton-cholesky": 100,
    "newton-cg": 100,
    "gd": 10000,
    "sgd": 200,
}
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
# solver="auto" runs "newton-cg" (Jacobi-preconditioned Newton-CG) on sparse X
# with n_samples * n_classes <= n_params (wide data, e.g. text: the
# probabilities are then kept between Hessian products, see the numpy
# backend's _data_newton_model). Measured against "lbfgs" from zero, C=1,
# with benchmarks/bench_sparse.py (interleaved, 2 cores shared with other
# jobs at load average 10-16, so 2-3x an idle machine's times; medians):
# 5000 x 20000, K=5: 0.19 s instead of 21.7 s to tol=1e-4, 0.48 s instead of
# 79 s to tol=1e-8; 50000 x 200000, K=20: 10.7 s instead of 87.8 s, 35.7 s
# instead of 259 s (the same optimum: 111507.5946295 vs 111507.5946296 at
# tol=1e-8). Dense data keep "lbfgs", and so do narrow sparse data (not
# measured).


def choose_solver(solver, objective):
    """``solver``, with ``"auto"`` decided from the problem's size.

    ``"newton-cholesky"`` where its Hessian is cheap (see
    ``_NEWTON_MAX_WORK`` for the measurement) and the backend computes it
    (numpy / scipy.sparse), else ``"newton-cg"`` for wide sparse ``X``
    (``n_samples * n_classes <= n_params``, see the measurements next to
    ``_NEWTON_MAX_PARAMS``), ``"lbfgs"`` otherwise.

    Parameters
    ----------
    solver : str
        The estimator's ``solver``.
    objective : SoftmaxObjective
        The objective (its ``n_samples`` and ``n_params``).

    Returns
    -------
    solver : str
        The solver to run (never ``"auto"``).
    """
    if solver == "newton-cholesky" and not objective.dense_hessian:
        raise ValueError(
            "solver='newton-cholesky' needs numpy or scipy.sparse input (its "
            "dense Hessian has no Array API backend); use solver='lbfgs' or "
            "'auto' for this input."
        )
    if objective.nonsmooth:  # an L1 part: l1_ratio > 0
        if solver in ("newton-cholesky", "newton-cg"):
            raise ValueError(
                f"solver={solver!r} does not support l1_ratio > 0 (its "
                "Newton step needs a smooth objective), as in "
                "LogisticRegression; use solver='lbfgs' (OWL-QN), 'gd' "
                "(FISTA), 'sgd' or 'auto'."
            )
        return "lbfgs" if solver == "auto" else solver
    if solver != "auto":
        return solver
    p = objective.n_params
    if (
        objective.dense_hessian
        and p <= _NEWTON_MAX_PARAMS
        and objective.n_samples * p * p <= _NEWTON_MAX_WORK
    ):
        return "newton-cholesky"
    if objective.sparse and objective.n_samples * objective.n_classes <= p:
        return "newton-cg"
    return "lbfgs"


@dataclass(frozen=True)
class FitSettings:
    """The estimator's parameters that drive a solver run.

    Same names and meanings as :class:`~sk_softmax.SoftmaxRegression`'s,
    except ``max_iter``, which is resolved (never None), and, for ``fit``,
    ``solver`` (never ``"auto"``, see :meth:`for_fit`).
    """

    solver: str
    max_iter: int
    tol: float
    learning_rate: object
    learning_rate_init: object
    power_t: float
    momentum: float
    nesterovs_momentum: bool
    batch_size: object
    shuffle: bool
    random_state: object
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    verbose: int

    @classmethod
    def from_estimator(cls, estimator, max_iter):
        """The settings of ``estimator`` (its parameters, read once).

        Parameters
        ----------
        estimator : SoftmaxRegression
            The estimator.
        max_iter : int
            The resolved iteration budget.

        Returns
        -------
        settings : FitSettings
        """
        values = {f.name: getattr(estimator, f.name) for f in fields(cls)}
        values["max_iter"] = max_iter
        return cls(**values)

    @classmethod
    def for_fit(cls, estimator, objective):
        """The settings of ``estimator.fit`` on ``objective``.

        ``solver="auto"`` is decided (:func:`choose_solver`) and
        ``max_iter=None`` becomes the chosen solver's default
        (``DEFAULT_MAX_ITER``).

        Parameters
        ----------
        estimator : SoftmaxRegression
            The estimator.
        objective : SoftmaxObjective
            The objective of the fit.

        Returns
        -------
        settings : FitSettings
        """
        solver = choose_solver(estimator.solver, objective)
        max_iter = estimator.max_iter
        if max_iter is None:
            max_iter = DEFAULT_MAX_ITER[solver]
        return dataclasses.replace(
            cls.from_estimator(estimator, max_iter), solver=solver
        )

    def batch_size_for(self, n_samples):
        """Rows per mini-batch: ``"auto"`` is ``min(200, n_samples)``.

        Parameters
        ----------
        n_samples : int
            Training rows.

        Returns
        -------
        batch_size : int
        """
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)


@dataclass
class SGDRun:
    """An SGD run that ``partial_fit`` continues (after ``fit`` or itself).

    Attributes
    ----------
    state : SGDState
        Momentum buffer and schedule state after the last epoch.
    step0 : float
        The run's initial step (the schedules' ``eta0``).
    rng : numpy.random.RandomState
        Shuffles the rows of each epoch.
    """

    state: SGDState
    step0: float
    rng: np.random.RandomState


def schedule(learning_rate, solver):
    """The learning-rate schedule of ``"gd"`` / ``"sgd"`` and a fixed step.

    Parameters
    ----------
    learning_rate : str or float
        The estimator's ``learning_rate``.
    solver : {"gd", "sgd", "partial_fit"}
        Who steps.

    Returns
    -------
    schedule : str
    fixed_step : float or None
        The step when ``learning_rate`` is a number.
    """
    lr = learning_rate
    if not isinstance(lr, str):
        return "constant", float(lr)
    if lr == "auto":
        # partial_fit's calls see different chunks: "adaptive" would
        # compare their losses and collapse the step (measured: 4e-7
        # after 100 passes over iris in 5 chunks).
        auto = {"gd": "constant", "sgd": "adaptive", "partial_fit": "optimal"}
        return auto[solver], None
    if solver == "gd" and lr != "constant":
        raise ValueError(
            f"learning_rate={lr!r} is a schedule for solver='sgd'; "
            "solver='gd' takes 'auto', 'constant' or a float."
        )
    return lr, None


def initial_step(objective, settings, fixed_step):
    """The first step of ``"gd"``/``"sgd"``: fixed, given, or ``1 / L``.

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective (its ``lipschitz_bound`` for ``"auto"``).
    settings : FitSettings
        ``learning_rate_init`` and ``solver`` (for the error message).
    fixed_step : float or None
        A step fixed by ``learning_rate``.

    Returns
    -------
    step : float
    """
    if fixed_step is not None:
        return fixed_step
    if settings.learning_rate_init == "auto":
        L = objective.lipschitz_bound()
        # L == 0 only when X (with its intercept column) is all zeros and
        # C = inf: the scores are 0 for every w, so the objective is
        # constant, its gradient zero, and any step is safe; 1 is used.
        if L == 0:
            return 1.0
        # Features of order 1e154 and beyond: 1 / L underflows (to 0 or
        # a subnormal number without precision), no step can be taken.
        if not 1.0 / L >= np.finfo(np.float64).tiny:
            scale = objective.max_abs_feature()
            raise ValueError(
                f"solver={settings.solver!r} cannot take a gradient step on "
                f"features this large (largest |X| = {scale:.3g}): the "
                f"gradient's Lipschitz bound L = {L:.3g} leaves no "
                "float64 step 1 / L. Scale the features, e.g. with "
                "sklearn.preprocessing.StandardScaler."
            )
        return 1.0 / L
    return float(settings.learning_rate_init)


def lbfgs_newton(objective, w0, *, tol, max_iter, verbose=0, callback=None):
    """L-BFGS, finished with Newton-CG where it stops short of ``tol``.

    L-BFGS (as L-BFGS-B) also stops when an iteration reduces the objective by less
    than ``64 * eps`` relatively (``LogisticRegression``'s ``ftol``), which
    at a tight ``tol`` (about 1e-8 and below) often happens first: measured
    on standardised digits, both estimators then stop 1.5e-6 (C=1) to 6e-6
    (C=10) away from the optimum in probability. Inexact Newton iterations
    with the exact Hessian-vector product reach ``tol``, usually in one
    iteration whose conjugate gradients stop as soon as the predicted
    gradient is within ``tol / 2``. float32 data are not finished: their
    gradients cannot resolve such a ``tol``.

    An objective that runs threads on every allowed core gets an L-BFGS that
    makes no BLAS call (``objective.n_workers() > 1``, see ``use_blas`` of
    :func:`~sk_softmax._solvers.lbfgs`).

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective.
    w0 : ndarray of shape (n_params,)
        Starting point; used as a work buffer (not valid afterwards).
    tol, max_iter, verbose, callback
        As for :func:`~sk_softmax._solvers.lbfgs`.

    Returns
    -------
    result : SolverResult
        ``n_iter`` and ``loss_curve`` count both phases.
    """
    # L-BFGS runs in the backend's own order of the parameters (the sparse
    # kernel's (d, K) weights: no transposition per evaluation either way,
    # see SoftmaxObjective.solver_order); coordinates' order does not change
    # L-BFGS's iterates (up to rounding).
    order = objective.solver_order()
    fun = objective.ordered_loss_gradient(order)
    solver_callback = callback
    if callback is not None and order.feature_major:

        def solver_callback(u, loss, grad_max):
            return callback(order.to_flat(u), loss, grad_max)

    result = lbfgs(
        fun,
        order.to_model(w0),
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=solver_callback,
        overwrite_w0=True,
        use_blas=objective.n_workers() <= 1,
    )
    if order.feature_major:
        result = dataclasses.replace(result, x=order.to_flat(result.x))
    if (
        result.converged
        or result.stopped_by_callback
        or result.n_iter >= max_iter
        or objective.dtype != np.float64
        or not np.isfinite(result.fun)
    ):
        return result
    polish = newton_cg(
        objective.loss_gradient,
        objective.hessian_product,
        result.x,
        tol=tol,
        max_iter=max_iter - result.n_iter,
        verbose=verbose,
        callback=callback,
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


def fit_solver(objective, w0, settings, *, callback=None, validation_scores=None):
    """Run ``settings.solver`` on ``objective`` from ``w0``.

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective.
    w0 : ndarray of shape (n_params,)
        Starting point (``"lbfgs"`` may use it as a work buffer).
    settings : FitSettings
        The estimator's settings.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration.
    validation_scores : list or None, default=None
        ``"sgd"`` with ``early_stopping``: receives the validation accuracy of
        each epoch.

    Returns
    -------
    result : SolverResult
    step : float or None
        The step of ``"gd"``, the last step of ``"sgd"``; None for
        ``"lbfgs"``, ``"newton-cg"`` and ``"newton-cholesky"``.
    run : SGDRun or None
        ``"sgd"``: the run for ``partial_fit`` to continue.
    """
    common = dict(
        max_iter=settings.max_iter, verbose=settings.verbose, callback=callback
    )
    if objective.nonsmooth and settings.solver in ("lbfgs", "gd"):
        step = None
        if settings.solver == "gd":
            step = initial_step(
                objective, settings, schedule(settings.learning_rate, "gd")[1]
            )
        result = fit_nonsmooth(
            objective,
            w0,
            settings.solver,
            step=step,
            tol=settings.tol,
            momentum=settings.momentum > 0,
            **common,
        )
        return result, step, None
    if settings.solver == "lbfgs":
        return lbfgs_newton(objective, w0, tol=settings.tol, **common), None, None
    if settings.solver == "newton-cg":
        result = newton_pcg(
            objective.loss_gradient,
            objective.newton_model,
            w0,
            tol=settings.tol,
            **common,
        )
        return result, None, None
    if settings.solver == "newton-cholesky":
        return _newton_cholesky(objective, w0, settings.tol, common), None, None
    if settings.solver == "gd":
        _, fixed_step = schedule(settings.learning_rate, "gd")
        step = initial_step(objective, settings, fixed_step)
        result = gradient_descent(
            objective.loss_gradient,
            w0,
            step=step,
            tol=settings.tol,
            momentum=settings.momentum,
            nesterov=settings.nesterovs_momentum,
            **common,
        )
        return result, step, None
    return _fit_sgd(objective, w0, settings, common, validation_scores)


def _newton_cholesky(objective, w0, tol, common):
    """``"newton-cholesky"``; two classes on the rows' difference.

    Two-class objectives whose start has ``W_0 = -W_1`` (the zero start, a
    warm start from such a model) run Newton on ``v = w_1 - w_0``
    (:class:`~sk_softmax._objective._base.BinaryObjective`): the same
    iterates, on half the parameters. The callback sees full parameters.
    """
    binary = objective.binary()
    v0 = binary.from_full(w0) if binary is not None else None
    if v0 is None:
        return newton_cholesky(
            objective.loss_gradient_hessian,
            w0,
            tol=tol,
            null_space=objective.invariant_directions(),
            **common,
        )
    callback = common["callback"]
    result = newton_cholesky(
        binary.loss_gradient_hessian,
        v0,
        tol=tol,
        max_iter=common["max_iter"],
        verbose=common["verbose"],
        callback=(
            None
            if callback is None
            else lambda v, f, gmax: callback(binary.to_full(v, w0), f, gmax)
        ),
    )
    w = binary.to_full(result.x, w0) if result.n_iter else np.array(w0)
    return dataclasses.replace(result, x=w)


def _fit_sgd(objective, w0, settings, common, validation_scores):
    """``solver="sgd"``: epochs of mini-batch SGD, optional early stopping."""
    rng = check_random_state(settings.random_state)
    sched, fixed_step = schedule(settings.learning_rate, "sgd")
    step0 = initial_step(objective, settings, fixed_step)
    train = None  # all rows
    validation_score = None
    if settings.early_stopping:
        train, val = train_test_split(
            np.arange(objective.n_samples),
            test_size=settings.validation_fraction,
            random_state=rng,
            stratify=None if objective.soft else objective.y,
        )
        # Split by index: the training rows stay in X (a copy of them was
        # 90% of X at the memory peak); the validation rows are copied
        # (validation_fraction of X) and scored once per epoch.
        train, val = np.sort(train), np.sort(val)
        accuracy = objective.accuracy(val)

        def validation_score(w):
            score = accuracy(w)
            validation_scores.append(score)
            return score

    batch_fun = objective.minibatch(train)
    result, state = sgd(
        batch_fun,
        batch_fun.n_samples,
        w0,
        batch_size=settings.batch_size_for(batch_fun.n_samples),
        schedule=sched,
        step0=step0,
        tol=settings.tol,
        n_iter_no_change=settings.n_iter_no_change,
        power_t=settings.power_t,
        momentum=settings.momentum,
        nesterov=settings.nesterovs_momentum,
        rng=rng if settings.shuffle else None,
        validation_score=validation_score,
        mu=batch_fun.penalty.strength,  # 1 / (C S), S of the training rows
        prox=batch_fun.prox if batch_fun.nonsmooth else None,
        zero_loss=np.log(objective.n_classes),  # uniform probabilities
        **common,
    )
    return result, state.step, SGDRun(state=state, step0=step0, rng=rng)


def start_sgd_run(objective, settings):
    """A new SGD run for ``partial_fit``: its first step and random state.

    Parameters
    ----------
    objective : SoftmaxObjective
        The first call's objective (``1 / L`` of its data for ``"auto"``).
    settings : FitSettings
        The estimator's settings.

    Returns
    -------
    run : SGDRun
    """
    _, fixed_step = schedule(settings.learning_rate, "partial_fit")
    step0 = initial_step(objective, settings, fixed_step)
    return SGDRun(
        state=SGDState(step=step0),
        step0=step0,
        rng=check_random_state(settings.random_state),
    )


def partial_fit_epoch(objective, w, settings, run):
    """One epoch of mini-batch SGD continuing ``run``; ``run`` is not changed.

    The epoch runs on a copy of the run's state, so that a diverging epoch
    leaves nothing behind; the caller stores the returned state once it
    accepts the result. (The run's random state does advance.)

    Parameters
    ----------
    objective : SoftmaxObjective
        The call's objective; its penalty strength ``1 / (C S)`` is the
        modulus of the ``"optimal"`` schedule.
    w : ndarray of shape (n_params,)
        Starting point.
    settings : FitSettings
        The estimator's settings.
    run : SGDRun
        The run to continue.

    Returns
    -------
    result : SolverResult
    state : SGDState
        The state after the epoch.
    """
    sched, _ = schedule(settings.learning_rate, "partial_fit")
    batch_fun = objective.minibatch()
    return sgd(
        batch_fun,
        objective.n_samples,
        w,
        batch_size=settings.batch_size_for(objective.n_samples),
        schedule=sched,
        step0=run.step0,
        max_iter=1,
        tol=settings.tol,
        n_iter_no_change=settings.n_iter_no_change,
        power_t=settings.power_t,
        momentum=settings.momentum,
        nesterov=settings.nesterovs_momentum,
        rng=run.rng if settings.shuffle else None,
        state=copy.deepcopy(run.state),
        verbose=settings.verbose,
        mu=objective.l2_reg_strength,  # 1 / (C S) of this call's data
        prox=batch_fun.prox if batch_fun.nonsmooth else None,
        zero_loss=np.log(objective.n_classes),  # uniform probabilities
    )
