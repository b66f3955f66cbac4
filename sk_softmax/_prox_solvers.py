"""Solvers for ``F(w) = f(w) + sum_j lam_j |w_j|``: an L1 (elastic-net) penalty.

Used by :func:`sk_softmax._fit.fit_solver` when the objective has an L1 part
(``l1_ratio > 0`` and a finite ``C``). As in :mod:`sk_softmax._solvers`, a
solver sees functions only: the smooth part ``fun(w) -> (f, grad)`` (data
term plus the L2 part of the penalty), and from the penalty its value
``h(w)``, its proximal step ``prox(w, step)`` (in place), the minimum-norm
subgradient ``subgrad(w, grad)`` and, for OWL-QN, the mask of the penalised
entries (the weights, not the intercepts).

Stopping criterion of every solver here: the largest absolute entry of the
minimum-norm subgradient of ``F``,

    max_j |g_j + lam_j sign(w_j)|            (w_j != 0)
    max_j max(|g_j| - lam_j, 0)              (w_j == 0)

is at most ``tol``: zero exactly at a minimiser, and ``max |grad|`` (the
criterion of the smooth solvers) when ``lam = 0``.

- :func:`fista`: ``solver="gd"``. Proximal gradient with the safe ``1 / L``
  step and Nesterov's momentum (Beck & Teboulle, 2009), restarted when the
  step goes against the momentum (O'Donoghue & Candes, 2015).
- :func:`owlqn`: ``solver="lbfgs"`` (and ``"auto"``). Orthant-wise limited-
  memory quasi-Newton (Andrew & Gao, 2007): L-BFGS on the smooth part, with
  the minimum-norm subgradient in place of the gradient, the direction kept
  in the orthant of the current iterate and a projected backtracking line
  search. Chosen over FISTA by measurement (see the comment below the
  imports).
"""

import numpy as np

from ._lbfgs import _EPS, _History, _matvec, _rmatvec
from ._solvers import FLOAT32_HISTORY_MIN_PARAMS, FTOL, SolverResult, _report
from ._vector import dot, max_abs

__all__ = ["fista", "owlqn"]

# Why OWL-QN is the default solver with an L1 part (measured, not assumed).
# benchmarks/bench_l1.py --quick --solvers, 6000 x 784 dense, K=10,
# l1_ratio=1, C=0.035 (~15% of the weights non-zero), 2 cores at load
# 10-11 (medians of 3, interleaved), time to reach the objective of
# LogisticRegression(solver="saga") after k epochs:
#
#     k = 5  (gap 8.3e-3):  OWL-QN 14 it. 0.43 s | FISTA 50 it. 10.3 s | saga 1.8 s
#     k = 10 (gap 1.3e-3):  OWL-QN 21 it. 0.64 s | FISTA 76 it.  8.9 s | saga 4.4 s
#
# (FISTA's times include the 1 / L bound, one (d+1)^2 Gram matrix.) FISTA
# needs about sqrt(L / mu) iterations with the worst-case curvature bound L;
# OWL-QN's curvature pairs follow the actual curvature, and it took 3.5x
# fewer iterations. Proximal Newton with coordinate descent on the quadratic
# model (glmnet, skglm) was not implemented: its inner loop updates one
# coordinate at a time, which in numpy is a Python-level loop over the
# n_params coordinates per sweep (7850 here, 4e6 on the sparse benchmark
# shape) with an O(n) update each, and this package has no compiled code.


_EPS32 = float(np.finfo(np.float32).eps)


def _finish(x, f, h, gmax, n_iter, curve, converged, message, stopped=False):
    return SolverResult(
        x=x,
        fun=float(f + h),
        grad_max=float(gmax),
        n_iter=int(n_iter),
        loss_curve=curve,
        converged=bool(converged),
        message=message,
        stopped_by_callback=stopped,
    )


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
        return _finish(
            x, f, h, opt, 0, curve, False, "objective is not finite at the start"
        )
    if opt <= tol:
        return _finish(x, f, h, opt, 0, curve, True, "optimality <= tol")
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
            _report(verbose, it, f_x + h_x, opt)
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
            _report(verbose, it, F_y, mapping)
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
    return _finish(
        x, known[0], known[1], known[2], it, curve, converged, message, stopped
    )


class _PairHistory(_History):
    """The L-BFGS history of :mod:`sk_softmax._lbfgs` (compact representation,
    float32 storage from ``FLOAT32_HISTORY_MIN_PARAMS`` parameters on), for
    directions of vectors other than the gradient.

    :class:`~sk_softmax._lbfgs._History` gets the new column of ``S^T Y``
    and ``Y^T Y`` from the products with the gradients it computes the
    directions of; OWL-QN computes the direction of the minimum-norm
    subgradient instead, so the new column is computed here, by one more
    pass over the history (``[S; Y] y_new``).
    """

    def matvec(self, g):
        """``[S; Y] g``; with float32 storage, a float32 product.

        Casting the float32 history to float64 block by block (as the base
        class does) was 70% of an OWL-QN iteration outside the objective at
        4e6 parameters (profiled: 0.2 s of 0.3 s, 2 busy cores); the
        direction needs no more precision than its float32-rounded pairs
        have, and a float32 product is one BLAS pass.
        """
        if self.SY.dtype == np.float64:
            return super().matvec(g)
        g32 = g.astype(np.float32)
        return _matvec(self.SY, g32, self.use_blas).astype(np.float64)

    def rmatvec(self, coef, out):
        """``out = [S; Y]^T coef``; with float32 storage, a float32 product."""
        if self.SY.dtype == np.float64:
            return super().rmatvec(coef, out)
        out[...] = _rmatvec(coef.astype(np.float32), self.SY, None, self.use_blas)
        return out

    def add(self, s, y):
        """Store the pair ``(s, y)`` (dropped unless ``s . y > eps y . y``,
        L-BFGS-B's curvature test), evicting the oldest."""
        m = self.m
        self.uv_prev = self.pending = None
        sy, yy = dot(s, y), dot(y, y)
        if not sy > _EPS * yy:
            return False
        slot = self.take_slot()
        self.SY[slot] = s
        self.SY[m + slot] = y
        self.order.append(slot)
        if self.SY.dtype != np.float64:  # the products of the stored pair
            s = self.SY[slot].astype(np.float64)
            y = self.SY[m + slot].astype(np.float64)
            sy, yy = dot(s, y), dot(y, y)
        prods = self.matvec(y)  # [S^T y; Y^T y] by slot: one pass
        self.StY[:, slot] = prods[:m]
        self.YtY[:, slot] = prods[m:]
        self.YtY[slot, :] = prods[m:]
        self.StY[slot, slot], self.YtY[slot, slot] = sy, yy
        return True


def owlqn(
    fun,
    w0,
    *,
    nonsmooth_value,
    subgrad,
    penalized,
    tol,
    max_iter,
    m=10,
    max_ls=30,
    ftol=FTOL,
    use_blas=True,
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
    m : int, default=10
        Pairs kept (L-BFGS-B's ``maxcor``).
    max_ls : int, default=30
        Maximum evaluations per line search (halving the step).
    ftol : float, default=64 * eps
        Relative rounding level of ``F``: a trial step that changes ``F`` by
        less than ``ftol * max(|F|, 1)`` is accepted if it lowers the
        optimality measure (``F`` cannot judge it). Float32 data round
        ``F`` far above float64's ``eps``; :func:`fit_nonsmooth` passes
        ``4 * eps(float32)`` for them.
    use_blas : bool, default=True
        Whether the products with the history may use BLAS (False for
        objectives running threads on all cores; see
        :func:`sk_softmax._solvers.lbfgs`).
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
        return _finish(
            x, f, h, opt, 0, curve, False, "objective is not finite at the start"
        )
    big = p >= FLOAT32_HISTORY_MIN_PARAMS
    hist = _PairHistory(m, p, np.float32 if big else np.float64, use_blas)
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
        hist.add(tmp, g)
        x, f, g, h, F = x_new, f_new, g_new, h_new, F_new
        del x_new, g_new
        v = subgrad(x, g)
        opt = max_abs(v)
        curve.append(F)
        _report(verbose, it, F, opt)
        if opt <= tol:
            converged, message = True, "optimality <= tol"
            break
        if callback is not None and callback(x, F, opt):
            stopped, message = True, "stopped by a callback"
            break
    return _finish(x, f, h, opt, it, curve, converged, message, stopped)


def fit_nonsmooth(
    objective,
    w0,
    solver,
    *,
    step,
    tol,
    max_iter,
    momentum=True,
    verbose=0,
    callback=None,
):
    """Run the solver for ``solver`` on an objective with an L1 part.

    ``"lbfgs"`` runs :func:`owlqn`, ``"gd"`` runs :func:`fista` with
    ``step``; both on the objective's smooth part
    (:meth:`~sk_softmax._objective.SoftmaxObjective.loss_gradient`) and the
    L1 part's methods.

    Parameters
    ----------
    objective : SoftmaxObjective
        An objective with ``objective.nonsmooth``.
    w0 : ndarray of shape (n_params,)
        Starting point.
    solver : {"lbfgs", "gd"}
        The solver (``"auto"`` already decided).
    step : float or None
        ``"gd"``: the step.
    tol, max_iter, verbose, callback
        As for the smooth solvers; ``tol`` bounds the minimum-norm
        subgradient.
    momentum : bool, default=True
        ``"gd"``: FISTA's momentum (False: plain proximal gradient).

    Returns
    -------
    result : SolverResult
    """
    common = dict(
        nonsmooth_value=objective.nonsmooth_value,
        subgrad=objective.min_norm_subgradient,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
    )
    if solver == "gd":
        return fista(
            objective.loss_gradient,
            w0,
            prox=objective.prox,
            step=step,
            momentum=momentum,
            **common,
        )
    return owlqn(
        objective.loss_gradient,
        w0,
        penalized=objective.penalized_mask(),
        use_blas=objective.n_workers() <= 1,
        # the rounding level of F: float32 scores round it near 1e-7
        # relatively (measured: OWL-QN's Armijo test stalled at a minimum-
        # norm subgradient of 1.1e-5 on standardised float32 wine without it)
        ftol=FTOL if objective.dtype == np.float64 else 4 * _EPS32,
        **common,
    )
