"""Optimisers for a smooth objective ``fun(w) -> (loss, grad)``.

Nothing here knows about softmax or data: a solver receives the objective as a
function and returns a :class:`SolverResult`. The stopping criterion is the
one of scipy's L-BFGS-B as used by ``LogisticRegression``: the largest absolute
gradient entry ``max_j |g_j| <= tol``.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dposv

from ._blas import private_gemm
from ._lbfgs import _EPS, minimize_lbfgs
from ._threadpool import chunk_workers
from ._vector import add_scaled, dot, max_abs

__all__ = [
    "SolverResult",
    "SGDState",
    "lbfgs",
    "gradient_descent",
    "newton_cg",
    "newton_cholesky",
    "sgd",
]


@dataclass
class SolverResult:
    """Outcome of a solver run.

    Attributes
    ----------
    x : ndarray
        Final parameters.
    fun : float
        Objective at ``x``.
    grad_max : float
        ``max |grad|`` at ``x`` (the stopping criterion's value).
    n_iter : int
        Iterations run.
    loss_curve : list of float
        Objective after each iteration.
    converged : bool
        Whether ``grad_max <= tol``.
    message : str
        Why the solver stopped.
    stopped_by_callback : bool
        Whether a callback asked the solver to stop.
    diverged : bool
        Whether the run diverged (``"sgd"``: see :func:`sgd`); ``x`` is then
        no model.
    """

    x: np.ndarray
    fun: float
    grad_max: float
    n_iter: int
    loss_curve: list = field(default_factory=list)
    converged: bool = False
    message: str = ""
    stopped_by_callback: bool = False
    diverged: bool = False


def _report(verbose, it, f, gmax):
    if verbose > 0:
        print(f"Iteration {it:5d}, objective = {f:.10g}, max|grad| = {gmax:.3e}")


# LogisticRegression's ftol for L-BFGS-B: an iteration that lowers the
# objective by less than this, relatively, stops it. The Newton-CG finish treats
# changes of f below it as unresolved.
FTOL = 64 * np.finfo(np.float64).eps
_TINY = float(np.finfo(np.float64).tiny)

# ``lbfgs`` runs the numpy L-BFGS of ``_lbfgs.py`` at every size: the
# L-BFGS update, line search (MINPACK-2's ``dcsrch``) and stopping tests of
# scipy's L-BFGS-B, without its bound handling. Measured per iteration outside
# the objective on 2 cores (scipy vs numpy): 1.8 vs 0.5 ms at 1e4 parameters,
# 8 vs 3 ms at 1e5, 104 vs 61 ms at 1e6, 590 vs 370 ms at 4e6 (peak memory
# 1190 vs 885 MiB). On small data the whole fit is faster too: standardised
# digits (650 parameters), one thread, medians of 40 interleaved fits, 8.44
# vs 9.23 ms (iris: 1.22 vs 1.40 ms), with the same iteration counts.
# From this many parameters on, the history is stored in float32 (half the
# dominant memory, ``2 m p`` numbers; float64 arithmetic throughout).
FLOAT32_HISTORY_MIN_PARAMS = 250_000

# Correction pairs kept by ``lbfgs``: 20 up to this many parameters, where
# the history (``2 m p`` float64 numbers) takes at most 5 MiB, else 10 (the
# default of L-BFGS-B and ``LogisticRegression``). Evaluations to tol=1e-4
# from zero over 15 problems (iris, wine, breast_cancer, digits standardised,
# raw and at C=0.1 and 10, six make_classification sets, a 4000 x 2000 CSR at
# C=1 and 10; p = 15 to 10005): 780 in all with 10 pairs, 711 with 20, fewer
# on 9 problems, one more on one (digits: 35 vs 29). The objective stops in
# the same band around the optimum (digits: 8.4e-4 vs 1.1e-3 above it
# relatively; breast_cancer: 4.3e-5 vs 9.8e-5): tol's resolution.
LONG_HISTORY_MAX_PARAMS = 16384


def lbfgs(
    fun,
    w0,
    *,
    tol,
    max_iter,
    verbose=0,
    callback=None,
    overwrite_w0=False,
    use_blas=True,
):
    """Minimise with L-BFGS, with ``LogisticRegression``'s options and stopping rule.

    The numpy L-BFGS of :func:`sk_softmax._lbfgs.minimize_lbfgs`, with the
    settings ``LogisticRegression(solver="lbfgs")`` gives scipy's L-BFGS-B:
    ``gtol=tol`` (stop when ``max |g| <= tol``), a relative decrease of the
    objective below ``64 * eps`` stops it, ``maxls=50``, and L-BFGS-B's strong
    Wolfe line search; 10 correction pairs, or 20 up to
    ``LONG_HISTORY_MAX_PARAMS`` parameters (fewer iterations, see there), at
    a fraction of L-BFGS-B's per-iteration time and memory (numbers next to
    ``FLOAT32_HISTORY_MIN_PARAMS``). The history is float32 from
    ``FLOAT32_HISTORY_MIN_PARAMS`` parameters on. No BLAS thread setting is
    changed (see :mod:`sk_softmax._threadpool`).

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    w0 : ndarray of shape (n_params,)
        Starting point.
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
        Maximum number of iterations.
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration; a true
        return value stops the solver. ``w`` is only valid during the call.
    overwrite_w0 : bool, default=False
        Allow the solver to use ``w0`` as a work vector (one parameter vector
        less in memory); ``w0``'s content is then undefined.
    use_blas : bool, default=True
        False for objectives that run their own threads on all cores: the
        products with the history then make no BLAS call (an OpenBLAS pool
        spins on its cores after each threaded call: with scipy's L-BFGS-B,
        110 ms instead of 75 ms per evaluation measured on 50000 x 256,
        K=200, float32, 2 cores).

    Returns
    -------
    result : SolverResult
    """
    curve = []
    w0 = np.asarray(w0, dtype=np.float64)

    def report(it, x, f, g, gmax):
        curve.append(float(f))
        _report(verbose, it, f, gmax)
        return callback is not None and callback(x, float(f), gmax)

    x, f, g, n_iter, converged, message = minimize_lbfgs(
        fun,
        w0,
        gtol=tol,
        max_iter=max_iter,
        m=20 if w0.size <= LONG_HISTORY_MAX_PARAMS else 10,
        maxls=50,
        callback=report,
        # float32 pairs halve the dominant memory where it matters
        history_dtype=(
            np.float32 if w0.size >= FLOAT32_HISTORY_MIN_PARAMS else np.float64
        ),
        overwrite_x0=overwrite_w0,
        use_blas=use_blas,
    )
    return SolverResult(
        x=x,
        fun=float(f),
        grad_max=max_abs(g),
        n_iter=int(n_iter),
        loss_curve=curve,
        converged=bool(converged),
        message=message,
        stopped_by_callback=message == "stopped by a callback",
    )


def gradient_descent(
    fun,
    w0,
    *,
    step,
    tol,
    max_iter,
    momentum=0.0,
    nesterov=True,
    verbose=0,
    callback=None,
):
    """Batch gradient descent ``w <- w - step * grad``, optionally with momentum.

    With ``momentum = mu > 0`` the update is the heavy-ball / Nesterov form of
    ``MLPClassifier``::

        y = w + mu * v            (Nesterov: gradient at the look-ahead point)
        v = mu * v - step * grad(y)
        w = w + v

    with adaptive restart (O'Donoghue & Candes, 2015): whenever the new velocity
    points uphill, ``grad(y) . v > 0``, the momentum is reset to zero and a
    plain gradient step is taken from ``y``. With ``step <= 1/L`` (L the
    gradient's Lipschitz constant) each plain step decreases the objective.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    w0 : ndarray of shape (n_params,)
        Starting point.
    step : float
        Learning rate ``eta``.
    tol : float
        Stop when ``max |grad| <= tol`` at the evaluated point.
    max_iter : int
        Maximum number of iterations, each one update followed by the
        evaluation of the gradient at the new point (plus one evaluation at
        the starting point); 0 returns the starting point.
    momentum : float, default=0.0
        Momentum ``mu`` in [0, 1); 0 is plain gradient descent.
    nesterov : bool, default=True
        Evaluate the gradient at the look-ahead point ``w + mu * v``.
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration (at the
        new evaluated point); a true return value stops the solver.

    Returns
    -------
    result : SolverResult
        ``x`` is the point where the gradient was evaluated after the last
        update (with Nesterov momentum, the look-ahead point ``w + mu v``),
        ``n_iter`` the number of updates and ``loss_curve`` the objective at
        the evaluated point after each. ``message`` says whether the objective
        became non-finite (divergence); then ``x`` is the last point with a
        finite objective and the diverging update is not counted.
    """
    w = np.array(w0, dtype=np.float64)
    v = np.zeros_like(w)
    curve = []
    # y: the point where the gradient is evaluated (w itself, or the
    # look-ahead w + mu v with Nesterov momentum); x: the last such point
    # with a finite objective, returned.
    y = x = w
    f, g = fun(y)
    f, gmax = float(f), max_abs(g)
    message = "max_iter reached"
    converged = stopped = stop = False
    it = 0
    if not (np.isfinite(f) and np.isfinite(gmax)):
        message = "objective is not finite at the starting point"
        max_iter = 0
    while True:
        if gmax <= tol:
            converged = True
            message = "max|grad| <= tol"
            break
        if stop:
            message = "stopped by a callback"
            stopped = True
            break
        if it >= max_iter:
            break
        if momentum:
            v_new = momentum * v - step * g
            if dot(g, v_new) > 0:  # adaptive restart: velocity points uphill
                v = np.zeros_like(w)
                w = y - step * g
            else:
                v = v_new
                w = w + v
        else:
            w = w - step * g
        y = w + momentum * v if (momentum and nesterov) else w
        f_new, g_new = fun(y)
        gmax_new = max_abs(g_new)
        if not (np.isfinite(f_new) and np.isfinite(gmax_new)):
            message = (
                f"objective became non-finite at iteration {it + 1}: gradient "
                "descent diverged (learning rate too large)"
            )
            break
        it += 1
        x, f, g, gmax = y, float(f_new), g_new, gmax_new
        curve.append(f)
        _report(verbose, it, f, gmax)
        stop = callback is not None and callback(x, f, gmax)
    return SolverResult(
        x=x,
        fun=f,
        grad_max=gmax,
        n_iter=it,
        loss_curve=curve,
        converged=converged,
        message=message,
        stopped_by_callback=stopped,
    )


@dataclass
class SGDState:
    """What mini-batch SGD carries from one epoch (or ``partial_fit``) to the next.

    Attributes
    ----------
    velocity : ndarray or None
        Momentum buffer ``v``.
    step : float
        Current learning rate.
    t : int
        Number of updates made so far (used by ``"invscaling"``).
    best_loss : float
        Best epoch training loss so far.
    best_score : float
        Best validation score so far (early stopping).
    no_improvement_count : int
        Consecutive epochs without improvement by at least ``tol``.
    start_loss : float
        Objective of the run's first mini-batch, at its starting point (NaN
        before it): the reference of the divergence test of :func:`sgd`.
    """

    velocity: np.ndarray = None
    step: float = 0.0
    t: int = 0
    best_loss: float = np.inf
    best_score: float = -np.inf
    no_improvement_count: int = 0
    start_loss: float = np.nan


def sgd_epoch(
    batch_fun,
    n_samples,
    w,
    state,
    *,
    batch_size,
    schedule,
    step0,
    power_t,
    momentum,
    nesterov,
    rng,
    mu=0.0,
    prox=None,
):
    """One pass of mini-batch SGD over ``n_samples`` rows; updates ``w`` in place.

    Parameters
    ----------
    batch_fun : callable
        ``batch_fun(w, rows) -> (loss, grad)``: an unbiased estimate of the
        full objective and its gradient from the rows ``rows``.
    n_samples : int
        Number of rows.
    w : ndarray of shape (n_params,)
        Parameters, updated in place.
    state : SGDState
        Momentum buffer and schedule state, updated in place.
    batch_size : int
        Rows per mini-batch.
    schedule : {"constant", "invscaling", "adaptive", "optimal"}
        Learning-rate schedule (``MLPClassifier``'s meanings); ``"invscaling"``
        uses ``step0 / t ** power_t`` with ``t`` the update count;
        ``"optimal"`` uses ``step0 / (1 + step0 * mu * t)``.
    step0 : float
        Initial learning rate.
    power_t : float
        Exponent of ``"invscaling"``.
    momentum : float
        Momentum in [0, 1).
    nesterov : bool
        Nesterov's momentum.
    rng : numpy.random.Generator or None
        Shuffles the rows when given; None keeps their order.
    mu : float, default=0.0
        Strong-convexity modulus of the objective (its L2 strength), used by
        ``"optimal"``.
    prox : callable or None, default=None
        ``prox(w, step)``, in place: the proximal step of a non-smooth
        penalty (L1 soft thresholding, which makes exact zeros), applied
        after each update with the update's step. The momentum then follows
        the actual displacement ``v = w_new - w_old`` (proximal heavy ball).

    Returns
    -------
    mean_loss : float
        Mean of the mini-batch objectives, weighted by batch size; NaN if a
        batch objective or ``w`` became non-finite, which ends the epoch at
        that batch (``w`` is then left non-finite).
    """
    order = rng.permutation(n_samples) if rng is not None else np.arange(n_samples)
    if state.velocity is None:
        state.velocity = np.zeros_like(w)
    v = state.velocity
    total = 0.0
    for start in range(0, n_samples, batch_size):
        rows = np.sort(order[start : start + batch_size])
        state.t += 1
        if schedule == "invscaling":
            state.step = step0 / state.t**power_t
        elif schedule == "optimal":
            # 1 / (L + mu t) for step0 = 1 / L: for a mu-strongly convex,
            # L-smooth objective, SGD with this step converges to the optimum
            # at rate O(1 / t) (Bottou's schedule, SGDClassifier's "optimal"
            # with t0 = 1 / (step0 mu)); no loss comparisons involved.
            state.step = step0 / (1.0 + step0 * mu * state.t)
        if momentum and nesterov:
            # Nesterov: gradient at the look-ahead point w + mu v.
            f, g = batch_fun(w + momentum * v, rows)
        else:
            f, g = batch_fun(w, rows)
        if np.isnan(state.start_loss):
            state.start_loss = float(f)
        # A diverging step overflows here; it is detected just below.
        with np.errstate(over="ignore", invalid="ignore"):
            v *= momentum
            v -= state.step * g
            w += v
            if prox is not None:
                before = w.copy()
                prox(w, state.step)
                v += w  # v = w_new - w_old: the step the prox actually took
                v -= before
        # Checked per batch (two passes over w, next to a batch gradient's
        # |B| * n_params work): nothing is computed from a non-finite w.
        if not (np.isfinite(f) and np.isfinite(max_abs(w))):
            return np.nan
        total += f * len(rows)
    return total / n_samples


def sgd(
    batch_fun,
    n_samples,
    w0,
    *,
    batch_size,
    schedule,
    step0,
    max_iter,
    tol,
    n_iter_no_change,
    power_t=0.5,
    momentum=0.9,
    nesterov=True,
    rng=None,
    validation_score=None,
    state=None,
    verbose=0,
    callback=None,
    mu=0.0,
    prox=None,
    zero_loss=None,
):
    """Mini-batch stochastic gradient descent, stopped as ``MLPClassifier`` does.

    After each epoch, the epoch's mean training loss (or, with
    ``validation_score``, the validation score) must improve by at least
    ``tol``; after ``n_iter_no_change`` consecutive epochs without improvement
    the ``"adaptive"`` schedule divides the step by 5 (while it is > 1e-6),
    and the other schedules stop (converged). With ``validation_score`` the
    parameters of the best epoch are returned. A run whose parameters or
    objective become non-finite stops at once and returns those non-finite
    parameters (never an earlier best epoch), so that the caller sees that it
    diverged. A run whose last epoch's mean loss is more than
    ``SGD_DIVERGENCE_FACTOR`` times its starting loss (the larger of
    ``zero_loss`` and its first mini-batch's) diverged too (``diverged``).

    Parameters
    ----------
    batch_fun : callable
        ``batch_fun(w, rows) -> (loss, grad)``.
    n_samples : int
        Number of training rows.
    w0 : ndarray of shape (n_params,)
        Starting point.
    batch_size : int
        Rows per mini-batch.
    schedule : {"constant", "invscaling", "adaptive", "optimal"}
        Learning-rate schedule (see :func:`sgd_epoch`).
    step0 : float
        Initial learning rate.
    max_iter : int
        Maximum number of epochs.
    tol : float
        Improvement threshold.
    n_iter_no_change : int
        Epochs without improvement before the step is reduced or the run stops.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    momentum : float, default=0.9
        Momentum in [0, 1).
    nesterov : bool, default=True
        Nesterov's momentum.
    rng : numpy.random.Generator or None, default=None
        Shuffles the rows each epoch when given.
    validation_score : callable or None, default=None
        ``validation_score(w) -> float``, higher is better (early stopping).
    state : SGDState or None, default=None
        State to continue from.
    verbose : int, default=0
        Print one line per epoch when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, None) -> bool`` after each epoch; true stops.
    mu : float, default=0.0
        Strong-convexity modulus (L2 strength) for ``"optimal"``.
    prox : callable or None, default=None
        Proximal step of a non-smooth penalty (see :func:`sgd_epoch`).
    zero_loss : float or None, default=None
        The objective of the zero model (``log K`` for softmax, whatever the
        weights and targets); None: only non-finite runs count as diverged.

    Returns
    -------
    result : SolverResult
        ``n_iter`` counts epochs; ``loss_curve`` holds the epoch mean losses;
        ``grad_max`` is NaN (no full gradient is computed); ``x`` is
        non-finite if the run overflowed, ``diverged`` true if it diverged.
    state : SGDState
        The state after the last epoch.
    """
    w = np.array(w0, dtype=np.float64)
    state = state if state is not None else SGDState(step=step0)
    curve, best_w = [], None
    converged, message, epoch, diverged = False, "max_iter reached", 0, False
    for epoch in range(1, max_iter + 1):
        loss = sgd_epoch(
            batch_fun,
            n_samples,
            w,
            state,
            batch_size=batch_size,
            schedule=schedule,
            step0=step0,
            power_t=power_t,
            momentum=momentum,
            nesterov=nesterov,
            rng=rng,
            mu=mu,
            prox=prox,
        )
        if not np.isfinite(loss) or not np.isfinite(max_abs(w)):
            message = f"objective became non-finite at epoch {epoch}: SGD diverged"
            diverged = True
            break
        curve.append(float(loss))
        msg = ""
        if validation_score is not None:
            score = validation_score(w)
            msg = f", validation score = {score:.6f}"
            improved = score > state.best_score + tol
            if score > state.best_score:
                state.best_score, best_w = score, w.copy()
        else:
            improved = loss < state.best_loss - tol
        state.best_loss = min(state.best_loss, loss)
        state.no_improvement_count = 0 if improved else state.no_improvement_count + 1
        if verbose > 0:
            print(f"Epoch {epoch:5d}, loss = {loss:.10g}, step = {state.step:.3g}{msg}")
        if callback is not None and callback(w, loss, None):
            message = "stopped by a callback"
            break
        if state.no_improvement_count > n_iter_no_change:
            if schedule == "adaptive" and state.step > 1e-6:
                state.step /= 5.0
                state.no_improvement_count = 0
            else:
                converged = True
                message = (
                    f"no improvement by tol = {tol:g} for {n_iter_no_change} "
                    "consecutive epochs"
                )
                break
    start = np.fmax(state.start_loss, -np.inf if zero_loss is None else zero_loss)
    if zero_loss is not None and curve and curve[-1] > SGD_DIVERGENCE_FACTOR * start:
        message = (
            f"SGD diverged: the mean loss of epoch {epoch}, {curve[-1]:.3g}, is "
            f"over {SGD_DIVERGENCE_FACTOR:g} times the run's starting loss "
            f"{start:.3g} (learning rate too large)"
        )
        diverged, converged = True, False
    if best_w is not None and not diverged:
        w = best_w
    result = SolverResult(
        x=w,
        fun=curve[-1] if curve else np.nan,
        grad_max=np.nan,
        n_iter=epoch if curve else 0,
        loss_curve=curve,
        converged=converged,
        message=message,
        diverged=diverged,
    )
    return result, state


# An SGD run that ends with an epoch mean loss over this many times its
# starting loss (the zero model's log K, or its first mini-batch's if larger)
# diverged. A step that suits the data lowers the loss; measured over iris,
# wine and digits (raw and standardised), learning_rate_init in {"auto", 0.1,
# 1, 10, 1000} x {"constant", "adaptive", "optimal"} (90 runs), the runs that
# ended within 100x of log K had accuracies of 0.67-1.0, those beyond it
# 0.0-0.72: diverging steps (the 6.4e3 -> 3.5e18 and the adaptive
# schedule's 8.5e6 end at 1e16-1e29 log K) and steps so large that the loss
# oscillates 240x-2e5x above log K. An "adaptive" run that recovers from a
# large start (digits, step 1000: 1600x log K, then 0.03x) is not affected:
# only the last epoch is judged.
SGD_DIVERGENCE_FACTOR = 100.0


def _pow2_scale(v):
    """The power of two at or just above ``max|v|`` (1 if none is finite).

    CG on ``H p = -g`` is linear in ``g``, and preconditioned CG gives the
    same iterates for ``M`` and ``c M``: dividing ``g`` and the inverse
    preconditioner by powers of two (exact) brings the CG scalars
    ``r.r``, ``r.z``, ``d.d`` and ``d.Hd`` near 1, away from the under- and
    overflow that ``C=1e-170`` or features of ``1e150`` cause (issue 20:
    ``d.d`` was 0), with the same rounding everywhere else.
    """
    top = max_abs(v)
    if not 0 < top < np.inf:
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1])


def _rayleigh(d, Hd):
    """``d.Hd / d.d`` computed on ``d / max|d|``, so that neither ``d.d`` nor
    ``d.Hd`` under- or overflows.

    ``d.d`` underflows to 0 when ``max|d| < 1e-154``: a Newton direction is
    ``~ g / H``, which reaches that size with ``C=1e-170`` or features of
    ``1e150`` (the ``ZeroDivisionError`` of issue 20). NaN when ``d`` is zero
    or not finite (the caller's curvature test then ends CG).
    """
    scale = max_abs(d)
    if not 0 < scale < np.inf:
        return np.nan
    unit = d / scale
    return dot(unit, Hd) / scale / dot(unit, unit)


def _null_curvature(q, h_max, curvature):
    """Whether CG must stop at a direction of Rayleigh quotient ``q``.

    ``H`` is positive semi-definite. A curvature at the rounding level of
    the product (``q <= 64 eps ||H||``, ``||H||`` estimated by ``h_max``)
    comes from a null direction of ``H`` (e.g. the intercepts' invariance to
    a common shift) that the rounding of ``g`` excites: stepping along it
    changes nothing. A curvature ``d.Hd`` that underflows to 0 or is not
    finite leaves no step ``alpha = r.z / d.Hd`` either.
    """
    return not (q > FTOL * h_max and 0 < curvature < np.inf)


def _truncated_cg(hessp, g, *, gtol, max_cg):
    """Approximate Newton direction: CG on ``H p = -g``, stopped early.

    Stops at the first of: ``max |r| <= gtol / 2`` with ``r = g + H p`` (the
    gradient after the unit step, to first order, is then within ``gtol``),
    ``||r|| <= min(1/2, sqrt(||g||)) ||g||`` (the superlinear forcing term of
    inexact Newton methods, which matters far from the optimum), a direction
    whose curvature ``d.Hd`` is not above ``64 eps ||H|| ||d||^2`` (the
    rounding level of the product; ``||H||`` estimated by the largest
    Rayleigh quotient seen), or ``max_cg`` products.

    Returns
    -------
    p : ndarray
        The direction (``-g`` if the first direction has non-positive
        curvature).
    r_norm : float
        ``||g + H p||_2``, the gradient norm the linear model predicts after
        the unit step (``||g||`` for the ``-g`` fallback, whose prediction is
        not computed).
    """
    scale = _pow2_scale(g)  # CG runs on g / scale, exactly
    g = g / scale
    gtol = gtol / scale
    gnorm = float(np.sqrt(dot(g, g)))
    rtol = min(0.5, np.sqrt(scale * gnorm)) * gnorm
    p = np.zeros_like(g)
    r = g.copy()
    d = -r
    rr = gnorm**2
    h_max = 0.0  # largest Rayleigh quotient d.Hd / d.d seen: <= ||H||_2
    for k in range(1, max_cg + 1):
        Hd = hessp(d)
        curvature = dot(d, Hd)
        q = _rayleigh(d, Hd)
        h_max = max(h_max, q)
        if _null_curvature(q, h_max, curvature):
            if k == 1:
                return -g * scale, gnorm * scale
            break
        alpha = rr / curvature
        add_scaled(p, alpha, d)  # p_{k+1} = p_k + alpha d_k
        add_scaled(r, alpha, Hd)  # r_{k+1} = g + H p_{k+1}
        rr_old, rr = rr, dot(r, r)
        if max_abs(r) <= 0.5 * gtol or np.sqrt(rr) <= rtol:
            break
        d *= rr / rr_old  # d_{k+1} = -r_{k+1} + beta d_k
        d -= r
    return p * scale, float(np.sqrt(rr)) * scale


def newton_cg(
    fun,
    hessp_at,
    w0,
    *,
    tol,
    max_iter,
    verbose=0,
    callback=None,
    first_iter=1,
    max_cg=200,
):
    """Inexact Newton with conjugate gradients, aimed at ``max |grad| <= tol``.

    Used to finish an L-BFGS run that stopped short of ``tol`` on its own
    relative-reduction (``ftol``) or line-search test. Each iteration solves
    ``H p = -g`` by conjugate gradients only as far as needed: until the
    linearised gradient after the step, ``g + H p``, is within ``tol / 2``
    (or the usual inexact-Newton forcing term is met), then takes a
    backtracking (Armijo) step. Near the optimum one iteration usually ends the
    run. Where a step changes ``f`` by less than ``64 eps`` relatively, ``f``
    cannot judge it (near the optimum its decrease is below its own rounding)
    and the gradient decides: the step is accepted if it lowers ``max |g|``.
    The run stops when nothing more can be resolved: when such a step raises
    ``max |g|`` or achieves less than half of the decrease of ``||g||`` that
    the linear model ``g + H p`` predicts, the computed gradient is at its
    own rounding level (this is what ends a run at ``tol=0``; it used to take
    rounding-level steps until ``max_iter``). Conjugate gradients likewise
    stop at a direction whose curvature is at the rounding level of the
    Hessian product (a null direction of ``H``, such as a common shift of
    the intercepts, along which rounding would otherwise make the iterate
    drift).

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    hessp_at : callable
        ``hessp_at(w) -> hessp`` with ``hessp(v)`` the Hessian at ``w`` times
        ``v``; called once per iterate.
    w0 : ndarray of shape (n_params,)
        Starting point (not modified).
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
        Maximum number of Newton iterations.
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration; true
        stops.
    first_iter : int, default=1
        Number printed for the first iteration (continues another solver's
        count).
    max_cg : int, default=200
        Maximum Hessian-vector products per iteration.

    Returns
    -------
    result : SolverResult
    """

    def direction(w, g, _):
        p, r_norm = _truncated_cg(hessp_at(w), g, gtol=tol, max_cg=max_cg)
        return p, lambda: r_norm

    return _newton(
        lambda w: (*fun(w), None),
        direction,
        w0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
        first_iter=first_iter,
    )


def _newton(fun, direction, w0, *, tol, max_iter, verbose, callback, first_iter):
    """The Newton loop shared by :func:`newton_cg` and :func:`newton_cholesky`.

    ``fun(w) -> (f, g, aux)`` and ``direction(w, g, aux) -> (p, r_norm)``
    with ``r_norm()`` returning ``||g + H p||_2`` (called only where ``f``
    stops resolving steps, as are the other norms of that test: small
    problems run a few microseconds per numpy call); the line search and
    the stopping rules are described in :func:`newton_cg`.
    """
    curve = []
    w = np.array(w0, dtype=np.float64)
    f, g, aux = fun(w)
    gmax = max_abs(g)
    message = "max|grad| <= tol"
    stopped = no_progress = False
    while gmax > tol:
        if len(curve) >= max_iter:
            message = "maximum number of iterations reached"
            break
        p, r_norm = direction(w, g, aux)
        slope = dot(g, p)
        if not slope < 0:
            message = "no descent direction (rounding)"
            break
        # Changes of f below FTOL relative are not resolved (L-BFGS's stop
        # on that test brings us here): there, the gradient decides.
        rounding = FTOL * max(abs(f), 1.0)
        step, at_rounding = 1.0, False
        for _ in range(30):
            w_new = w + step * p
            f_new, g_new, aux_new = fun(w_new)
            gmax_new = max_abs(g_new)
            if abs(f_new - f) <= rounding:  # f cannot tell w_new from w
                at_rounding = True
                break
            if f_new <= f + 1e-4 * step * slope:  # Armijo
                break
            step *= 0.5
        else:
            message = "line search failed (rounding)"
            break
        if at_rounding:
            # Where f is flat to its rounding, the gradient must follow its
            # linear model g + step H p, whose norm is at most
            # (1 - step) ||g|| + step ||r||. A step that achieves less than
            # half of that predicted decrease of ||g|| (or raises max|g|) shows
            # that the computed gradient is at its own rounding level:
            # nothing further can be resolved (at tol=0 the run would
            # otherwise chase rounding noise until max_iter).
            g_norm = float(np.sqrt(dot(g, g)))
            predicted = step * (g_norm - r_norm())
            achieved = g_norm - float(np.sqrt(dot(g_new, g_new)))
            no_progress = not achieved >= 0.5 * predicted
            if no_progress or not gmax_new < gmax:
                message = "no further progress possible (gradient at rounding level)"
            if not gmax_new < gmax:  # the step is not taken
                break
        w, f, g, gmax, aux = w_new, float(f_new), g_new, gmax_new, aux_new
        curve.append(f)
        _report(verbose, first_iter + len(curve) - 1, f, gmax)
        if callback is not None and callback(w, f, gmax):
            stopped = True
            message = "stopped by a callback"
            break
        if no_progress:
            break
    return SolverResult(
        x=w,
        fun=float(f),
        grad_max=gmax,
        n_iter=len(curve),
        loss_curve=curve,
        converged=gmax <= tol,
        message=message,
        stopped_by_callback=stopped,
    )


def _cholesky_direction(H, g, NNt):
    """Newton direction ``p`` with ``(H + c N N^T) p = -g``, and ``||g + H p||``
    (as a function, see :func:`_newton`).

    ``N`` (orthonormal columns; ``NNt = N N^T`` or None) spans directions
    along which the objective is constant: ``H N = 0`` and ``g`` is
    orthogonal to ``N``, so adding ``c N N^T`` (``c`` the mean diagonal
    entry of ``H``) leaves the Newton step in the range of ``H`` unchanged,
    makes the matrix positive definite and keeps the step's component along
    ``N`` at rounding level (``g^T N / c``) instead of letting it drift.
    Solved by Cholesky (LAPACK ``posv``, a few microseconds for small
    systems, against ~17 for ``numpy.linalg.solve``; single-threaded, see
    ``_PRIVATE_POSV_MIN``). Should the matrix
    still not be positive definite to working precision (e.g. a zero
    feature with ``C=np.inf``), a ridge ``delta I`` growing from
    ``16 eps c`` is added.
    """
    c = max(float(H.trace()) / H.shape[0], _TINY)
    M = H + c * NNt if NNt is not None else H.copy()
    delta = 16 * _EPS * c
    for _ in range(20):
        p, info = _posv(M, -g)
        if info == 0 and np.isfinite(p).all():
            return p, lambda p=p: _norm(g + H @ p)
        M = H + c * NNt if NNt is not None else H.copy()
        M[np.diag_indices_from(M)] += delta
        delta *= 100
    return -g, lambda: _norm(g)


# From this size scipy's Cholesky solve (its OpenBLAS's potrf) runs threads:
# measured as shipped on 2 busy cores, 62 x 62 the same as at one thread,
# 130 x 130 76-153 us wall and 0.7-1.4 ms of CPU against 55-75 us, 256 x 256
# 3.7 ms of CPU against 0.5 ms. While BLAS may thread, such systems are
# solved in the private single-threaded OpenBLAS (see sk_softmax._blas).
_PRIVATE_POSV_MIN = 96


def _posv(M, rhs):
    """``(x, info)``: ``M x = rhs`` by Cholesky; ``M`` and ``rhs`` are
    overwritten (``M`` C-contiguous, symmetric)."""
    if M.shape[0] >= _PRIVATE_POSV_MIN and chunk_workers(2) > 1:
        gemm = private_gemm()  # None only if switched off since
        info = None if gemm is None else gemm.posv(M, rhs)
        if info is not None:  # None also: the copy has no LAPACKE
            return rhs, info
    _, x, info = dposv(M, rhs, lower=True, overwrite_a=True)
    return x, info


def _norm(v):
    return float(np.sqrt(dot(v, v)))


def newton_cholesky(
    fun,
    w0,
    *,
    tol,
    max_iter,
    null_space=None,
    verbose=0,
    callback=None,
):
    """Newton's method with the exact Hessian, for problems with few parameters.

    Each iteration solves ``H p = -g`` with the dense Hessian (Cholesky of
    the ``(n_params, n_params)`` system, positive definite after the
    treatment of ``null_space``, see below) and takes a backtracking
    (Armijo) step from the unit step; the rounding rules and the stopping
    test ``max |grad| <= tol`` are those of :func:`newton_cg`. Near the
    optimum the unit step is taken and the convergence is quadratic:
    standardised iris, wine and breast_cancer reach ``tol=1e-4`` in 5-8
    iterations, where L-BFGS takes 15-26.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad, hess)`` with ``hess`` the dense Hessian.
    w0 : ndarray of shape (n_params,)
        Starting point (not modified).
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
        Maximum number of Newton iterations.
    null_space : ndarray of shape (n_params, m) or None, default=None
        Orthonormal directions along which ``fun`` is constant (its Hessian
        is singular there, its gradient orthogonal to them). ``c N N^T`` is
        added to the Hessian, which makes it invertible without changing
        the step elsewhere, and keeps the iterates from drifting along
        these directions with rounding.
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration; true
        stops.

    Returns
    -------
    result : SolverResult
    """
    NNt = None
    if null_space is not None and null_space.size:
        NNt = null_space @ null_space.T
    return _newton(
        fun,
        lambda w, g, H: _cholesky_direction(H, g, NNt),
        w0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
        first_iter=1,
    )
