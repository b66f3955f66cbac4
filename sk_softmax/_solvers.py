"""Optimisers for a smooth objective ``fun(w) -> (loss, grad)``.

Nothing here knows about softmax or data: a solver receives the objective as a
function and returns a :class:`SolverResult`. The stopping criterion is the
one of scipy's L-BFGS-B as used by ``LogisticRegression``: the largest absolute
gradient entry ``max_j |g_j| <= tol``.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ._lbfgs import minimize_lbfgs
from ._threadpool import single_threaded_scipy_blas

__all__ = ["SolverResult", "lbfgs", "gradient_descent"]


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
    """

    x: np.ndarray
    fun: float
    grad_max: float
    n_iter: int
    loss_curve: list = field(default_factory=list)
    converged: bool = False
    message: str = ""


def _report(verbose, it, f, gmax):
    if verbose > 0:
        print(f"Iteration {it:5d}, objective = {f:.10g}, max|grad| = {gmax:.3e}")


# From this many parameters on, ``lbfgs`` runs the numpy L-BFGS of
# ``_lbfgs.py`` instead of scipy's L-BFGS-B. Measured per iteration outside the
# objective on 2 cores (scipy vs numpy): 1.8 vs 0.5 ms at 1e4 parameters, 8 vs
# 3 ms at 1e5, 104 vs 61 ms at 1e6, 590 vs 370 ms at 4e6 (peak memory 1190 vs
# 885 MiB). Below the threshold the optimiser's own cost is negligible next to
# an evaluation, and scipy's L-BFGS-B is kept: the same iterates as
# ``LogisticRegression(solver="lbfgs")``.
NUMPY_LBFGS_MIN_PARAMS = 250_000


def lbfgs(fun, w0, *, tol, max_iter, verbose=0):
    """Minimise with L-BFGS, with ``LogisticRegression``'s options and stopping rule.

    Up to ``NUMPY_LBFGS_MIN_PARAMS`` parameters this is scipy's L-BFGS-B (no
    bounds), exactly as ``LogisticRegression(solver="lbfgs")`` calls it:
    ``gtol=tol``, ``ftol=64 * eps``, ``maxls=50``, ``maxcor=10``. While it
    runs, the BLAS pool that scipy ships is limited to one thread (the
    objective's products use numpy's pool), which avoids two thread pools
    competing for the same cores.

    With more parameters (sparse data with many features, or large
    ``d x K``), the numpy L-BFGS of :func:`sk_softmax._lbfgs.minimize_lbfgs`
    runs instead: same history size, same stopping tests (``max |g| <= tol``,
    relative decrease of ``f`` below ``64 * eps``, ``max_iter``), a strong
    Wolfe line search, a float32-stored history (float64 arithmetic), and a
    fraction of L-BFGS-B's per-iteration time and memory (numbers next to
    ``NUMPY_LBFGS_MIN_PARAMS``).

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

    Returns
    -------
    result : SolverResult
    """
    curve = []
    w0 = np.asarray(w0, dtype=np.float64)
    if w0.size >= NUMPY_LBFGS_MIN_PARAMS:

        def report(it, f, g):
            curve.append(float(f))
            _report(verbose, it, f, float(np.max(np.abs(g))))

        with single_threaded_scipy_blas():
            x, f, g, n_iter, converged, message = minimize_lbfgs(
                fun,
                w0,
                gtol=tol,
                max_iter=max_iter,
                m=10,
                maxls=50,
                callback=report,
                history_dtype=np.float32,
            )
        return SolverResult(
            x=x,
            fun=float(f),
            grad_max=float(np.max(np.abs(g))) if g.size else 0.0,
            n_iter=int(n_iter),
            loss_curve=curve,
            converged=bool(converged),
            message=message,
        )

    last = {}

    def fun_cached(w):
        f, g = fun(w)
        last["f"], last["g"] = f, g
        return f, g

    def callback(intermediate_result):
        f = float(intermediate_result.fun)
        curve.append(f)
        _report(verbose, len(curve), f, float(np.max(np.abs(last["g"]))))

    with single_threaded_scipy_blas():
        res = minimize(
            fun_cached,
            w0,
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={
                "maxiter": max_iter,
                "maxls": 50,
                "maxcor": 10,
                "gtol": tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
    gmax = float(np.max(np.abs(res.jac))) if res.jac.size else 0.0
    message = res.message if isinstance(res.message, str) else str(res.message)
    return SolverResult(
        x=res.x,
        fun=float(res.fun),
        grad_max=gmax,
        n_iter=int(res.nit),
        loss_curve=curve,
        converged=gmax <= tol,
        message=message,
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
        Maximum number of iterations (one gradient evaluation each).
    momentum : float, default=0.0
        Momentum ``mu`` in [0, 1); 0 is plain gradient descent.
    nesterov : bool, default=True
        Evaluate the gradient at the look-ahead point ``w + mu * v``.
    verbose : int, default=0
        Print one line per iteration when > 0.

    Returns
    -------
    result : SolverResult
        ``message`` says whether the objective became non-finite (divergence);
        then ``x`` is the last point with a finite objective.
    """
    w = np.array(w0, dtype=np.float64)
    v = np.zeros_like(w)
    curve = []
    best = None  # last point with a finite objective: (x, f, gmax)
    message = "max_iter reached"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        y = w + momentum * v if (momentum and nesterov) else w
        f, g = fun(y)
        gmax = float(np.max(np.abs(g))) if g.size else 0.0
        if not (np.isfinite(f) and np.isfinite(gmax)):
            message = (
                f"objective became non-finite at iteration {it}: gradient "
                "descent diverged (learning rate too large)"
            )
            it -= 1
            break
        curve.append(float(f))
        best = (y, float(f), gmax)
        _report(verbose, it, f, gmax)
        if gmax <= tol:
            converged = True
            message = "max|grad| <= tol"
            break
        if momentum:
            v_new = momentum * v - step * g
            if np.dot(g, v_new) > 0:  # adaptive restart: velocity points uphill
                v = np.zeros_like(w)
                w = y - step * g
            else:
                v = v_new
                w = w + v
        else:
            w = w - step * g
    if best is None:
        x = np.array(w0, dtype=np.float64)
        f0, g0 = fun(x)
        best = (x, float(f0), float(np.max(np.abs(g0))) if g0.size else 0.0)
    x, f, gmax = best
    return SolverResult(
        x=x,
        fun=f,
        grad_max=gmax,
        n_iter=it,
        loss_curve=curve,
        converged=converged,
        message=message,
    )
