"""From an objective and the estimator's settings to a fitted parameter vector.

The fit layer, between the estimator and the solvers: it picks the solver
for ``solver`` (:func:`choose_solver`, with the registry of
:mod:`sk_softmax._solvers` and its declared needs), decides once per fit how
the solver's linear algebra runs (:class:`ExecutionPlan`: the objective's
worker threads, whether BLAS may run between evaluations, the Cholesky
solve), builds the callables the solver needs from the objective's public
methods (the solvers never see the data) and returns a :class:`FitOutcome`:

- ``"auto"``: one of the next three, by the problem's size and ``X``'s
  format (:func:`choose_solver`);
- ``"lbfgs"``: L-BFGS, finished by Newton-CG where it stops short of ``tol``
  (:func:`lbfgs_newton`);
- ``"newton-cg"``: Newton's method with Jacobi-preconditioned conjugate
  gradients;
- ``"newton-cholesky"``: Newton's method with the objective's dense Hessian;
- ``"gd"``: gradient descent with a ``1 / L`` or given step;
- ``"sgd"`` and ``partial_fit``: mini-batch SGD on the objective's
  mini-batch view, with the run state that ``partial_fit`` continues
  (:class:`SGDRun`).

With an L1 part in the penalty (``l1_ratio > 0``, finite ``C``),
``"lbfgs"`` (and ``"auto"``) run OWL-QN and ``"gd"`` FISTA, ``"sgd"`` takes
a proximal (soft thresholding) step after each update, and the Newton
solvers are refused, as in ``LogisticRegression``: the registry has no
entry for them with a proximal operator.

The objective's parameters may be arranged otherwise in its kernel than in
the flat vector the estimator holds (``objective.solver_layout()``, the
sparse kernel's feature-major weights); this layer maps between the two
arrangements ("layouts"), so that the solvers see one.
"""

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._blas import private_openblas
from ._solvers import (
    BLAS_PRODUCTS,
    DENSE_HESSIAN,
    FTOL,
    HISTORY_PRODUCTS,
    LINEAR_SOLVE,
    LOOP_PRODUCTS,
    HessianOperator,
    MatrixProducts,
    SGDState,
    SolverResult,
    fista,
    gradient_descent,
    lbfgs,
    newton_cg,
    newton_cholesky,
    owlqn,
    posv,
    sgd,
    solver_for,
)
from ._threadpool import chunk_workers

__all__ = [
    "DEFAULT_MAX_ITER",
    "ExecutionPlan",
    "FitOutcome",
    "FitSettings",
    "SGDRun",
    "choose_solver",
    "fit_solver",
    "hessian_operator_at",
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
    ``_NEWTON_MAX_PARAMS``), ``"lbfgs"`` otherwise; ``"lbfgs"`` (OWL-QN)
    with an L1 part. A solver whose needs the objective cannot meet (the
    registry's entry, :func:`sk_softmax._solvers.solver_for`) is refused.

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
    if solver == "auto":
        solver = _auto_solver(objective)
    smooth = solver_for(solver, l1=False)
    if DENSE_HESSIAN in smooth.needs and not objective.dense_hessian:
        raise ValueError(
            f"solver={solver!r} needs numpy or scipy.sparse input (its "
            "dense Hessian has no Array API backend); use solver='lbfgs' or "
            "'auto' for this input."
        )
    if objective.nonsmooth and solver_for(solver, l1=True) is None:
        raise ValueError(
            f"solver={solver!r} does not support l1_ratio > 0 (its "
            "Newton step needs a smooth objective), as in "
            "LogisticRegression; use solver='lbfgs' (OWL-QN), 'gd' "
            "(FISTA), 'sgd' or 'auto'."
        )
    return solver


def _auto_solver(objective):
    """``solver="auto"``'s choice (see :func:`choose_solver`)."""
    if objective.nonsmooth:  # an L1 part: l1_ratio > 0
        return "lbfgs"
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


# From this size scipy's Cholesky solve (its OpenBLAS's potrf) runs threads:
# measured as shipped on 2 busy cores, 62 x 62 the same as at one thread,
# 130 x 130 76-153 us wall and 0.7-1.4 ms of CPU against 55-75 us, 256 x 256
# 3.7 ms of CPU against 0.5 ms. While BLAS may thread, such systems are
# solved in the private single-threaded OpenBLAS (see sk_softmax._blas).
_PRIVATE_POSV_MIN = 96

# The rounding level of F for OWL-QN on float32 data: float32 scores round
# it near 1e-7 relatively (measured: OWL-QN's Armijo test stalled at a
# minimum-norm subgradient of 1.1e-5 on standardised float32 wine with
# float64's 64 eps).
_FLOAT32_FTOL = 4 * float(np.finfo(np.float32).eps)


def private_posv(M, rhs):
    """``(x, info)``: ``M x = rhs`` by Cholesky, single-threaded from
    ``_PRIVATE_POSV_MIN`` rows on (the private OpenBLAS of
    :func:`~sk_softmax._blas.private_openblas`), else scipy's
    :func:`~sk_softmax._solvers.posv`.

    Parameters
    ----------
    M : ndarray of shape (n, n)
        Symmetric, C-contiguous; overwritten.
    rhs : ndarray of shape (n,)
        Right-hand side; may be overwritten.

    Returns
    -------
    x : ndarray of shape (n,)
    info : int
    """
    if M.shape[0] >= _PRIVATE_POSV_MIN:
        gemm = private_openblas()  # None only if switched off since
        info = None if gemm is None else gemm.posv(M, rhs)
        if info is not None:  # None also: the copy has no LAPACKE
            return rhs, info
    return posv(M, rhs)


@dataclass(frozen=True)
class ExecutionPlan:
    """How a fit's linear algebra runs, decided once per fit and handed down.

    Only what the solver uses is looked up (the registry's ``uses``): the
    thread counts come from threadpoolctl, whose first query loads it
    (measured: 23 ms, which a first fit on iris, 6-8 ms, should not pay
    when its solver has no use for the answer).

    Attributes
    ----------
    n_workers : int or None
        Threads an evaluation of the objective runs (its ``n_workers()``);
        more than one keeps all allowed cores busy. None: not looked up
        (the solver makes no BLAS call between evaluations that matters).
    blas_between_evaluations : bool
        Whether the solver may call BLAS between evaluations: not while the
        objective runs its own threads on all cores (an OpenBLAS pool spins
        on its cores after each threaded call; see
        :mod:`sk_softmax._solvers._history`).
    blas_may_thread : bool or None
        Whether numpy's BLAS may run threads now (the user's limit); None:
        not looked up (no linear system large enough for it to matter).
    history_products : MatrixProducts
        The products of L-BFGS's and OWL-QN's history: BLAS or numpy's
        loops, by ``blas_between_evaluations``.
    cholesky_solve : callable
        Newton-Cholesky's solve: the private single-threaded one
        (:func:`private_posv`) while BLAS may thread, else scipy's.
    """

    n_workers: int | None
    blas_between_evaluations: bool
    blas_may_thread: bool | None
    history_products: MatrixProducts
    cholesky_solve: Callable

    @classmethod
    def decide(cls, n_workers=None, large_solves=False):
        """The plan for evaluations that run ``n_workers`` threads.

        Parameters
        ----------
        n_workers : int or None, default=None
            The objective's ``n_workers()``; None where the solver does not
            use it.
        large_solves : bool, default=False
            Whether the solver solves linear systems of
            ``_PRIVATE_POSV_MIN`` rows or more: numpy's BLAS threads are then
            looked up, and the private solve chosen while it may thread.

        Returns
        -------
        plan : ExecutionPlan
        """
        blas = n_workers is None or n_workers <= 1
        may_thread = chunk_workers(2) > 1 if large_solves else None
        return cls(
            n_workers=n_workers,
            blas_between_evaluations=blas,
            blas_may_thread=may_thread,
            history_products=BLAS_PRODUCTS if blas else LOOP_PRODUCTS,
            cholesky_solve=private_posv if may_thread else posv,
        )

    @classmethod
    def for_fit(cls, objective, spec):
        """The plan of a fit of ``spec``'s solver on ``objective``.

        Parameters
        ----------
        objective : SoftmaxObjective
            The objective (its ``n_workers()`` and ``n_params``).
        spec : SolverSpec
            The registry's entry (what of the plan its solver ``uses``).

        Returns
        -------
        plan : ExecutionPlan
        """
        return cls.decide(
            n_workers=(
                objective.n_workers() if HISTORY_PRODUCTS in spec.uses else None
            ),
            large_solves=(
                LINEAR_SOLVE in spec.uses and objective.n_params >= _PRIVATE_POSV_MIN
            ),
        )


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


def lbfgs_newton(objective, w0, *, tol, max_iter, verbose=0, callback=None, plan):
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

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective.
    w0 : ndarray of shape (n_params,)
        Starting point; used as a work buffer (not valid afterwards).
    tol, max_iter, verbose, callback
        As for :func:`~sk_softmax._solvers.lbfgs`.
    plan : ExecutionPlan
        The fit's plan (the products with the history).

    Returns
    -------
    result : SolverResult
        ``n_iter`` and ``loss_curve`` count both phases.
    """
    # L-BFGS runs in the backend's own layout of the parameters (the sparse
    # kernel's (d, K) weights: no transposition per evaluation either way,
    # see SoftmaxObjective.solver_layout); the coordinates' arrangement does
    # not change L-BFGS's iterates (up to rounding).
    layout = objective.solver_layout()
    fun = objective.layout_loss_gradient(layout)
    solver_callback = callback
    if callback is not None and layout.feature_major:

        def solver_callback(u, loss, grad_max):
            return callback(layout.to_flat(u), loss, grad_max)

    result = lbfgs(
        fun,
        layout.to_model(w0),
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=solver_callback,
        overwrite_w0=True,
        products=plan.history_products,
    )
    if layout.feature_major:
        result = dataclasses.replace(result, x=layout.to_flat(result.x))
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
        lambda w: HessianOperator(objective.hessian_product(w)),
        result.x,
        tol=tol,
        max_iter=max_iter - result.n_iter,
        verbose=verbose,
        callback=callback,
        first_iter=result.n_iter + 1,
        max_cg=200,
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


@dataclass(frozen=True)
class FitOutcome:
    """What :func:`fit_solver` returns.

    Unpacks as ``result, step, sgd_run`` too (the callers' tuple form).

    Attributes
    ----------
    result : SolverResult
        The solver's outcome.
    step : float or None
        The step of ``"gd"``, the last step of ``"sgd"``; None for the
        other solvers.
    sgd_run : SGDRun or None
        ``"sgd"``: the run for ``partial_fit`` to continue.
    """

    result: SolverResult
    step: float | None = None
    sgd_run: SGDRun | None = None


@dataclass(frozen=True)
class _SolverCall:
    """What every solver called by :func:`fit_solver` gets."""

    objective: object
    w0: np.ndarray
    settings: FitSettings
    plan: ExecutionPlan
    callback: Callable | None
    validation_scores: list | None

    @property
    def common(self):
        return dict(
            max_iter=self.settings.max_iter,
            verbose=self.settings.verbose,
            callback=self.callback,
        )


def _call_lbfgs(call):
    result = lbfgs_newton(
        call.objective, call.w0, tol=call.settings.tol, plan=call.plan, **call.common
    )
    return FitOutcome(result)


def _call_owlqn(call):
    objective = call.objective
    result = owlqn(
        objective.loss_gradient,
        call.w0,
        nonsmooth_value=objective.nonsmooth_value,
        subgrad=objective.min_norm_subgradient,
        penalized=objective.penalized_mask(),
        products=call.plan.history_products,
        ftol=FTOL if objective.dtype == np.float64 else _FLOAT32_FTOL,
        tol=call.settings.tol,
        **call.common,
    )
    return FitOutcome(result)


def _gd_step(call):
    """``"gd"``'s step: ``learning_rate`` if a number, else the initial one."""
    _, fixed_step = schedule(call.settings.learning_rate, "gd")
    return initial_step(call.objective, call.settings, fixed_step)


def _call_fista(call):
    objective = call.objective
    step = _gd_step(call)
    result = fista(
        objective.loss_gradient,
        call.w0,
        nonsmooth_value=objective.nonsmooth_value,
        prox=objective.prox,
        subgrad=objective.min_norm_subgradient,
        step=step,
        momentum=call.settings.momentum > 0,
        tol=call.settings.tol,
        **call.common,
    )
    return FitOutcome(result, step)


def _call_gd(call):
    settings = call.settings
    step = _gd_step(call)
    result = gradient_descent(
        call.objective.loss_gradient,
        call.w0,
        step=step,
        tol=settings.tol,
        momentum=settings.momentum,
        nesterov=settings.nesterovs_momentum,
        **call.common,
    )
    return FitOutcome(result, step)


def hessian_operator_at(objective):
    """``w -> HessianOperator`` from the objective's ``newton_model``.

    Its products, diagonal and layout: the gradient mapped to the kernel's
    layout, the direction back and off the null space of ``H``.

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective.

    Returns
    -------
    operator_at : callable
        ``operator_at(w) -> HessianOperator`` for
        :func:`~sk_softmax._solvers.newton_cg`.
    """

    def operator_at(w):
        model = objective.newton_model(w)
        layout = model.layout

        def from_operator(p):
            # off the null space of H: the same step for the model (H N = 0,
            # g orthogonal to N), without the drift the preconditioner adds
            return layout.to_flat(model.project(p))

        return HessianOperator(
            hessp=model.hessp,
            diagonal=model.diagonal,
            to_operator=layout.to_model,
            from_operator=from_operator,
        )

    return operator_at


def _call_newton_cg(call):
    result = newton_cg(
        call.objective.loss_gradient,
        hessian_operator_at(call.objective),
        call.w0,
        tol=call.settings.tol,
        **call.common,
    )
    return FitOutcome(result)


def _call_newton_cholesky(call):
    """``"newton-cholesky"``; two classes on the rows' difference.

    Two-class objectives whose start has ``W_0 = -W_1`` (the zero start, a
    warm start from such a model) run Newton on ``v = w_1 - w_0``
    (:class:`~sk_softmax._objective._base.BinaryObjective`): the same
    iterates, on half the parameters. The callback sees full parameters.
    """
    objective, w0, tol = call.objective, call.w0, call.settings.tol
    solve = call.plan.cholesky_solve
    binary = objective.binary()
    v0 = binary.from_full(w0) if binary is not None else None
    if v0 is None:
        result = newton_cholesky(
            objective.loss_gradient_hessian,
            w0,
            tol=tol,
            null_space=objective.invariant_directions(),
            solve=solve,
            **call.common,
        )
        return FitOutcome(result)
    callback = call.callback
    result = newton_cholesky(
        binary.loss_gradient_hessian,
        v0,
        tol=tol,
        max_iter=call.settings.max_iter,
        verbose=call.settings.verbose,
        callback=(
            None
            if callback is None
            else lambda v, f, gmax: callback(binary.to_full(v, w0), f, gmax)
        ),
        solve=solve,
    )
    w = binary.to_full(result.x, w0) if result.n_iter else np.array(w0)
    return FitOutcome(dataclasses.replace(result, x=w))


def _call_sgd(call):
    """``solver="sgd"``: epochs of mini-batch SGD, optional early stopping."""
    objective, settings = call.objective, call.settings
    validation_scores = call.validation_scores
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
        call.w0,
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
        **call.common,
    )
    return FitOutcome(result, state.step, SGDRun(state=state, step0=step0, rng=rng))


# How each registry entry (sk_softmax._solvers.SOLVERS) is run on an
# objective: the callables its needs name, built from the objective.
_CALLS = {
    "lbfgs": _call_lbfgs,
    "owlqn": _call_owlqn,
    "newton-cg": _call_newton_cg,
    "newton-cholesky": _call_newton_cholesky,
    "gd": _call_gd,
    "fista": _call_fista,
    "sgd": _call_sgd,
}


def fit_solver(objective, w0, settings, *, callback=None, validation_scores=None):
    """Run ``settings.solver`` on ``objective`` from ``w0``.

    The registry's entry for ``settings.solver`` and the objective's L1
    part (:func:`sk_softmax._solvers.solver_for`) runs, with the callables
    it needs and one :class:`ExecutionPlan` for the fit.

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
    outcome : FitOutcome
        The result, the step of ``"gd"`` / ``"sgd"`` and the SGD call.
    """
    spec = solver_for(settings.solver, l1=bool(objective.nonsmooth))
    call = _SolverCall(
        objective=objective,
        w0=w0,
        settings=settings,
        plan=ExecutionPlan.for_fit(objective, spec),
        callback=callback,
        validation_scores=validation_scores,
    )
    return _CALLS[spec.name](call)


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
