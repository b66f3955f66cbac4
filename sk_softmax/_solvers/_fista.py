"""FISTA: proximal gradient descent with Nesterov's momentum and restart, for
``F(w) = f(w) + h(w)`` with an L1 (elastic-net) part ``h``: ``solver="gd"``
with ``l1_ratio > 0``.

Stopping measure: the largest absolute entry of the minimum-norm subgradient
of ``F = f + h``,

    max_j |g_j + lam_j sign(w_j)|            (w_j != 0)
    max_j max(|g_j| - lam_j, 0)              (w_j == 0)

at most ``tol``: zero exactly at a minimiser, and ``max |grad|`` (the
criterion of the smooth solvers) when ``lam = 0``. A solver sees functions
only: the smooth part ``fun(w) -> (f, grad)`` (data term plus the L2 part of
the penalty), and from the penalty its value ``h(w)``, its proximal step
``prox(w, step)`` (in place) and the minimum-norm subgradient
``subgrad(w, grad)``.
"""

import numpy as np

from .._vector import dot, max_abs
from ._result import penalised_result, report_iteration

__all__ = ["fista"]


def fista(
    fun,
    w0,
    *,
    nonsmooth_value,
    prox,
    subgrad,
    step,
    tol,
    max_iter,
    momentum=True,
    verbose=0,
    callback=None,
):
    """Proximal gradient descent with Nesterov's momentum and restart (FISTA).

    Each iteration takes a proximal gradient step from the extrapolated point
    ``y``::

        x_new = prox_{step h}(y - step * grad f(y))
        t_new = (1 + sqrt(1 + 4 t^2)) / 2
        y     = x_new + (t - 1) / t_new * (x_new - x)

    and restarts the momentum (``t = 1``, ``y = x_new``) when the step
    ``x_new - y`` and the previous displacement ``x_new - x`` point apart
    (``(y - x_new) . (x_new - x) > 0``, the gradient-mapping restart of
    O'Donoghue & Candes). With ``step <= 1 / L`` the objective decreases
    between restarts at FISTA's ``O(1 / k^2)`` rate.

    The optimality of ``x_new`` needs ``grad f(x_new)``, which FISTA does not
    compute (it evaluates ``y``). The gradient mapping ``(y - x_new) / step``
    (which is 0 exactly at a minimiser) is checked instead at each iteration,
    and once its largest entry is at most ``tol`` the iterate ``x_new`` is
    evaluated and the true criterion (minimum-norm subgradient) decides; the
    momentum restarts from ``x_new`` so the evaluation is not wasted. After a
    restart ``y = x_new`` and the check is free.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (f, grad)`` of the smooth part.
    w0 : ndarray of shape (n_params,)
        Starting point (not modified).
    nonsmooth_value : callable
        ``h(w) -> float``.
    prox : callable
        ``prox(w, step)``: ``w <- prox_{step h}(w)`` in place.
    subgrad : callable
        ``subgrad(w, grad) -> ndarray``: the minimum-norm subgradient of
        ``f + h`` at ``w`` from ``grad f(w)``.
    step : float
        Step; ``1 / L`` is safe.
    tol : float
        Stop when the minimum-norm subgradient's largest entry is ``<= tol``.
    max_iter : int
        Maximum number of iterations (each one evaluation of ``fun``).
    momentum : bool, default=True
        False: plain proximal gradient (ISTA).
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(x, F, opt) -> bool`` after each iteration; true stops.

    Returns
    -------
    result : SolverResult
        ``x`` the last proximal iterate (exact zeros where ``h`` thresholds),
        ``fun`` its objective ``f + h``, ``grad_max`` its minimum-norm
        subgradient's largest entry; ``loss_curve`` the objective at the
        evaluated point of each iteration, the last entry the returned
        ``x``'s.
    """
    x = np.array(w0, dtype=np.float64)
    f, g = fun(x)
    f, h = float(f), nonsmooth_value(x)
    opt = max_abs(subgrad(x, g))
    curve = []
    if not (np.isfinite(f) and np.isfinite(opt)):
        return penalised_result(
            x, f, h, opt, 0, curve, False, "objective is not finite at the start"
        )
    if opt <= tol:
        return penalised_result(x, f, h, opt, 0, curve, True, "optimality <= tol")
    y = x.copy()
    f_y, g_y = f, g
    t = 1.0
    it = 0
    message = "max_iter reached"
    converged = stopped = False
    # fx: (f, h, opt) of x when known (x evaluated), else None.
    known = (f, h, opt)
    while it < max_iter:
        x_new = y - step * g_y
        prox(x_new, step)
        mapping = max_abs(y - x_new) / step  # gradient mapping at y
        if momentum:
            diff = x_new - x
            if dot(y - x_new, diff) > 0:  # restart
                t, beta = 1.0, 0.0
            else:
                t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta, t = (t - 1.0) / t_new, t_new
        else:
            beta = 0.0
        x = x_new
        it += 1
        if mapping <= tol or beta == 0.0 or it >= max_iter:
            # evaluate x itself: the true criterion decides
            f_x, g_x = fun(x)
            f_x = float(f_x)
            h_x = nonsmooth_value(x)
            opt = max_abs(subgrad(x, g_x))
            known = (f_x, h_x, opt)
            if not (np.isfinite(f_x) and np.isfinite(opt)):
                message = (
                    f"objective became non-finite at iteration {it}: proximal "
                    "gradient diverged (learning rate too large)"
                )
                x[...] = np.nan
                break
            curve.append(f_x + h_x)
            report_iteration(verbose, it, f_x + h_x, opt)
            if opt <= tol:
                converged, message = True, "optimality <= tol"
                break
            y, f_y, g_y = x.copy(), f_x, g_x  # continue from x itself ...
            if beta != 0.0:  # ... dropping the extrapolation: a restart
                t = 1.0
        else:
            y = x + beta * diff
            f_y, g_y = fun(y)
            f_y = float(f_y)
            known = None
            F_y = f_y + nonsmooth_value(y)
            if not np.isfinite(F_y) or not np.isfinite(max_abs(g_y)):
                message = (
                    f"objective became non-finite at iteration {it}: proximal "
                    "gradient diverged (learning rate too large)"
                )
                x[...] = np.nan
                break
            curve.append(F_y)
            report_iteration(verbose, it, F_y, mapping)
        if callback is not None and callback(
            x, curve[-1], known[2] if known else mapping
        ):
            stopped, message = True, "stopped by a callback"
            break
    if known is None:
        f_x, g_x = fun(x)
        known = (float(f_x), nonsmooth_value(x), max_abs(subgrad(x, g_x)))
        if curve:
            curve[-1] = known[0] + known[1]
    return penalised_result(
        x, known[0], known[1], known[2], it, curve, converged, message, stopped
    )
