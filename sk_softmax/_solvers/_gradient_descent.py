"""Batch gradient descent, optionally with (Nesterov) momentum: ``solver="gd"``."""

import numpy as np

from .._vector import dot, max_abs
from ._result import SolverResult, report_iteration

__all__ = ["gradient_descent"]


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
        report_iteration(verbose, it, f, gmax)
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
