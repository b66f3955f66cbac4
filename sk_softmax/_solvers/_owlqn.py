"""OWL-QN, orthant-wise limited-memory quasi-Newton (Andrew & Gao, 2007), for
``F(w) = f(w) + h(w)`` with an L1 (elastic-net) part ``h``: ``solver="lbfgs"``
(and ``"auto"``) with ``l1_ratio > 0``.

L-BFGS on the smooth part, with the minimum-norm subgradient in place of the
gradient, the direction kept in the orthant of the current iterate and a
projected backtracking line search; the history is L-BFGS's
(:class:`~sk_softmax._solvers._history.CompactHistory`, pairs added by
:meth:`~sk_softmax._solvers._history.CompactHistory.add_pair`).

Stopping measure: the largest absolute entry of the minimum-norm subgradient
of ``F = f + h``,

    max_j |g_j + lam_j sign(w_j)|            (w_j != 0)
    max_j max(|g_j| - lam_j, 0)              (w_j == 0)

at most ``tol``: zero exactly at a minimiser, and ``max |grad|`` (the
criterion of the smooth solvers) when ``lam = 0``. A solver sees functions
only: the smooth part ``fun(w) -> (f, grad)`` (data term plus the L2 part of
the penalty), and from the penalty its value ``h(w)``, the minimum-norm subgradient
``subgrad(w, grad)`` and the mask of the penalised entries (the weights, not
the intercepts).
"""

import numpy as np

from .._vector import dot, max_abs
from ._history import BLAS_PRODUCTS, CompactHistory
from ._lbfgs import FLOAT32_HISTORY_MIN_PARAMS
from ._result import FTOL, penalised_result, report_iteration

__all__ = ["owlqn"]


def owlqn(
    fun,
    w0,
    *,
    nonsmooth_value,
    subgrad,
    penalized,
    tol,
    max_iter,
    history_size=10,
    max_ls=30,
    ftol=FTOL,
    products=BLAS_PRODUCTS,
    verbose=0,
    callback=None,
):
    """Orthant-wise limited-memory quasi-Newton (OWL-QN) for ``f + h``.

    ``h(w) = sum_j lam_j |w_j|`` with ``lam_j > 0`` on the ``penalized``
    entries. On the orthant of the current iterate (the signs of ``w``, and
    for zeros the sign of the step the minimum-norm subgradient ``v`` asks
    for), ``F`` is smooth with gradient ``v``. Each iteration (Andrew & Gao,
    2007):

    1. ``d = -H v`` with the L-BFGS inverse-Hessian model ``H`` built from
       the smooth part's pairs ``s = x_new - x``, ``y = grad f(x_new) -
       grad f(x)`` (the L1 part is linear on an orthant and adds no
       curvature); penalised entries of ``d`` that disagree in sign with
       ``-v`` are set to 0;
    2. a backtracking line search from the unit step (``min(1, 1/||v||)`` on
       the first iteration) on ``x(a) = P(x + a d)``, ``P`` setting to 0 the
       penalised entries that leave the orthant, until
       ``F(x(a)) <= F(x) + 1e-4 v . (x(a) - x)``.

    Entries set to 0 by ``P`` are exact zeros. The run stops when the
    minimum-norm subgradient's largest entry is at most ``tol``, at
    ``max_iter``, or when no step decreases ``F`` even from the steepest
    descent direction (rounding).

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (f, grad)`` of the smooth part.
    w0 : ndarray of shape (n_params,)
        Starting point (not modified).
    nonsmooth_value : callable
        ``h(w) -> float``.
    subgrad : callable
        ``subgrad(w, grad) -> ndarray``, the minimum-norm subgradient.
    penalized : ndarray of bool, shape (n_params,)
        The entries ``h`` acts on (``lam_j > 0``).
    tol : float
        Stop when the minimum-norm subgradient's largest entry is ``<= tol``.
    max_iter : int
        Maximum number of iterations.
    history_size : int, default=10
        Pairs kept (``m``, L-BFGS-B's ``maxcor``).
    max_ls : int, default=30
        Maximum evaluations per line search (halving the step).
    ftol : float, default=64 * eps
        Relative rounding level of ``F``: a trial step that changes ``F`` by
        less than ``ftol * max(|F|, 1)`` is accepted if it lowers the
        optimality measure (``F`` cannot judge it). Float32 data round
        ``F`` far above float64's ``eps``; the fit layer passes
        ``4 * eps(float32)`` for them.
    products : MatrixProducts, default=BLAS_PRODUCTS
        The products with the history, from the caller's execution plan
        (``LOOP_PRODUCTS`` for objectives running threads on all cores; see
        :mod:`sk_softmax._solvers._history`).
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(x, F, opt) -> bool`` after each iteration; true stops.

    Returns
    -------
    result : SolverResult
        ``grad_max`` is the minimum-norm subgradient's largest entry.
    """
    x = np.array(w0, dtype=np.float64)
    p = x.size
    f, g = fun(x)
    f, h = float(f), nonsmooth_value(x)
    F = f + h
    v = subgrad(x, g)
    opt = max_abs(v)
    curve = []
    if not (np.isfinite(F) and np.isfinite(opt)):
        return penalised_result(
            x, f, h, opt, 0, curve, False, "objective is not finite at the start"
        )
    big = p >= FLOAT32_HISTORY_MIN_PARAMS
    hist = CompactHistory(
        history_size,
        p,
        np.float32 if big else np.float64,
        products,
        float32_products=True,
    )
    free = ~penalized
    d = np.empty(p)
    xi = np.empty(p)  # a vector with the signs of the orthant (0: free)
    tmp = np.empty(p)
    mask = np.empty(p, dtype=bool)
    it = 0
    message = "max_iter reached"
    converged = opt <= tol
    stopped = False
    if converged:
        message = "optimality <= tol"
    while not converged and it < max_iter:
        if len(hist):
            hist.direction(v, d)
            a0 = 1.0
        else:
            np.negative(v, out=d)
            a0 = min(1.0, 1.0 / np.sqrt(dot(v, v)))
        # keep the direction in the orthant the subgradient points to:
        # penalised entries with d_j v_j >= 0 are set to 0
        np.multiply(d, v, out=tmp)
        np.greater_equal(tmp, 0.0, out=mask)
        mask &= penalized
        np.copyto(d, 0.0, where=mask)
        slope = dot(v, d)
        if not slope < 0:
            if len(hist):
                hist.reset()
                continue
            message = "no descent direction (rounding)"
            break
        # orthant: the signs of x, of -v where x == 0; 0 for free entries
        np.copyto(xi, x)
        np.equal(x, 0.0, out=mask)
        np.copyto(xi, -v, where=mask)
        np.copyto(xi, 0.0, where=free)
        vx = dot(v, x)
        rounding = ftol * max(abs(F), 1.0)
        a = a0
        for _ in range(max_ls):
            x_new = x + a * d
            # P: entries leaving the orthant become 0
            np.multiply(x_new, xi, out=tmp)
            np.less(tmp, 0.0, out=mask)
            np.copyto(x_new, 0.0, where=mask)
            f_new, g_new = fun(x_new)
            f_new = float(f_new)
            h_new = nonsmooth_value(x_new)
            F_new = f_new + h_new
            if np.isfinite(F_new) and F_new <= F + 1e-4 * (dot(v, x_new) - vx):
                break
            if abs(F_new - F) <= rounding and max_abs(subgrad(x_new, g_new)) < opt:
                # F cannot tell x_new from x (its rounding): the optimality
                # measure decides, as in the Newton-CG finish of "lbfgs"
                break
            a *= 0.5
            del x_new, g_new
        else:
            if len(hist):  # retry from the steepest descent direction
                hist.reset()
                continue
            message = "line search failed (rounding)"
            break
        it += 1
        np.subtract(x_new, x, out=tmp)  # s
        g -= g_new  # -y (g is not used after this)
        np.negative(g, out=g)
        hist.add_pair(tmp, g)
        x, f, g, h, F = x_new, f_new, g_new, h_new, F_new
        del x_new, g_new
        v = subgrad(x, g)
        opt = max_abs(v)
        curve.append(F)
        report_iteration(verbose, it, F, opt)
        if opt <= tol:
            converged, message = True, "optimality <= tol"
            break
        if callback is not None and callback(x, F, opt):
            stopped, message = True, "stopped by a callback"
            break
    return penalised_result(x, f, h, opt, it, curve, converged, message, stopped)
