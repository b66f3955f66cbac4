"""The one Newton loop, shared by Newton-CG and Newton-Cholesky.

Each iteration asks the method for a direction ``p`` (an approximate or
exact solution of ``H p = -g``) and takes a backtracking (Armijo) step from
the unit step. Where a step changes ``f`` by less than ``64 eps``
relatively, ``f`` cannot judge it (near the optimum its decrease is below
its own rounding) and the gradient decides: the step is accepted if it
lowers ``max |g|``. The run stops when nothing more can be resolved: when
such a step raises ``max |g|`` or achieves less than half of the decrease of
``||g||`` that the linear model ``g + H p`` predicts, the computed gradient
is at its own rounding level (this is what ends a run at ``tol=0``; it used
to take rounding-level steps until ``max_iter``). The stopping measure is
``max |grad| <= tol``.
"""

import numpy as np

from .._vector import dot, max_abs
from ._result import FTOL, SolverResult, report_iteration

__all__ = ["newton_loop"]


def newton_loop(fun, direction, w0, *, tol, max_iter, verbose, callback, first_iter):
    """The Newton loop of :func:`~sk_softmax._solvers.newton_cg` and
    :func:`~sk_softmax._solvers.newton_cholesky`: a direction, a
    backtracking (Armijo) step, the rounding rules of the module docstring.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (f, g, aux)``; ``aux`` is handed to ``direction`` (the
        dense Hessian of Newton-Cholesky, None for Newton-CG).
    direction : callable
        ``direction(w, g, aux) -> (p, r_norm)`` with ``r_norm()`` returning
        ``||g + H p||_2`` (called only where ``f`` stops resolving steps, as
        are the other norms of that test: small problems run a few
        microseconds per numpy call).
    w0 : ndarray of shape (n_params,)
        Starting point (not modified).
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
        Maximum number of Newton iterations.
    verbose : int
        Print one line per iteration when > 0.
    callback : callable or None
        ``callback(w, loss, grad_max) -> bool`` after each iteration; true
        stops.
    first_iter : int
        Number printed for the first iteration (continues another solver's
        count).

    Returns
    -------
    result : SolverResult
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
        report_iteration(verbose, first_iter + len(curve) - 1, f, gmax)
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
