"""Newton's method with a Jacobi-preconditioned conjugate gradient.

The solver of ``solver="newton-cg"`` (and of ``"auto"`` on sparse data with
many parameters, see :func:`sk_softmax._fit.choose_solver`). Each iteration
solves the Newton system ``H p = -g`` inexactly by conjugate gradients
preconditioned with ``M = diag(H)`` (Jacobi), with the Hessian-vector
products and the diagonal of the objective at the iterate, then takes a
backtracking (Armijo) step; the loop, its rounding rules and the stopping
test ``max |g| <= tol`` are those of :func:`sk_softmax._solvers.newton_cg`.

Why this method: on sparse text-like data (Zipf-distributed feature
frequencies) the Hessian's diagonal spans many orders of magnitude (rare and
frequent words), which L-BFGS, scaled by one number ``gamma``, cannot follow;
the diagonal preconditioner removes that spread. Measured on the shared
2-core machine from zero, ``C=1``, to ``tol=1e-4`` / ``1e-8`` (time, and
Hessian products for Newton-CG):

- 5000 x 20000, 80 nnz/row, K=5 (load 1-2): L-BFGS (+ Newton-CG finish, the
  solver before) 0.78 s / 4.9 s; L-BFGS preconditioned by the diagonal at
  the start (the change of variables ``u = sqrt(diag(H_0)) w``) 0.26 s /
  0.42 s; Newton-CG 0.17 s to 1e-4; Jacobi Newton-CG 0.12 s / 0.35 s.
- 50000 x 200000, 80 nnz/row, K=20, before the products reused the
  probabilities (load 1-2): Newton-CG 17.4 s / 43.3 s (101 / 222 products);
  Jacobi Newton-CG with the diagonal of the first iterate kept 10.9 s /
  21.6 s (57 / 122), recomputed at each iterate 7.0 s / 22.5 s (28 / 108).
  The issue measured L-BFGS at 53 s / 160 s. With the probabilities kept
  and no transposition per product (load 4.5): 5.0 s / 22.7 s.

So: Newton-CG with the Jacobi preconditioner, recomputed at each iterate
(it costs one pass, which also computes the probabilities the products
reuse). A trust-region Newton in the style of liblinear's TRON (same
products, a different globalisation) was not measured: the line search here
took the unit step in every iteration of the runs above (one evaluation per
iteration), so a trust region has no backtracking to save there.
``benchmarks/bench_sparse.py`` compares the solver with cyanure and glmnet.
"""

import numpy as np

from ._solvers import FTOL, _newton, _null_curvature, _pow2_scale, _rayleigh
from ._vector import add_scaled, dot, max_abs

__all__ = ["newton_pcg"]


def _jacobi(diagonal):
    """``1 / diag(H)``, with entries at rounding level of the largest replaced.

    A zero diagonal entry (a feature that is zero in every row, without a
    penalty) has a zero Hessian row and gradient entry; it gets the largest
    entry's inverse so that rounding noise there is not amplified.
    """
    top = float(diagonal.max()) if diagonal.size else 0.0
    if not top > 0:
        return None
    floor = FTOL * top
    inv = np.divide(1.0, np.where(diagonal > floor, diagonal, top))
    return inv


def preconditioned_cg(hessp, g, inv_diag, *, gtol, max_cg):
    """Approximate Newton direction: preconditioned CG on ``H p = -g``.

    The stopping tests of :func:`sk_softmax._solvers._truncated_cg` on the
    residual ``r = g + H p`` (``max |r| <= gtol / 2``, the inexact-Newton
    forcing term ``||r|| <= min(1/2, sqrt(||g||)) ||g||``, a curvature at
    rounding level, ``max_cg``), with the search directions of CG on
    ``M^{-1} H`` (``M = diag(H)``; ``inv_diag`` None: plain CG).

    Returns
    -------
    p : ndarray
        The direction (``-g`` if the first direction has non-positive
        curvature).
    r_norm : float
        ``||g + H p||_2``.
    n_products : int
        Hessian-vector products computed.
    """
    # g and M^{-1} divided by powers of two: the same iterates, without the
    # underflow of d.d at C=1e-170 (see _pow2_scale)
    scale = _pow2_scale(g)
    g = g / scale
    gtol = gtol / scale
    if inv_diag is not None:
        inv_diag = inv_diag / _pow2_scale(inv_diag)
    gnorm = float(np.sqrt(dot(g, g)))
    rtol = min(0.5, np.sqrt(scale * gnorm)) * gnorm
    p = np.zeros_like(g)
    r = g.copy()
    z = r * inv_diag if inv_diag is not None else r.copy()
    d = -z
    rz = dot(r, z)
    rr = gnorm**2
    h_max = 0.0  # largest Rayleigh quotient d.Hd / d.d seen: <= ||H||_2
    k = 0
    for k in range(1, max_cg + 1):
        Hd = hessp(d)
        curvature = dot(d, Hd)
        q = _rayleigh(d, Hd)
        h_max = max(h_max, q)
        # curvature at the rounding level of the product: a null direction
        # of H (see _truncated_cg)
        if _null_curvature(q, h_max, curvature):
            if k == 1:
                return -g * scale, gnorm * scale, k
            break
        alpha = rz / curvature
        add_scaled(p, alpha, d)  # p_{k+1} = p_k + alpha d_k
        add_scaled(r, alpha, Hd)  # r_{k+1} = g + H p_{k+1}
        rr = dot(r, r)
        if max_abs(r) <= 0.5 * gtol or np.sqrt(rr) <= rtol:
            break
        if inv_diag is not None:
            np.multiply(r, inv_diag, out=z)  # z = M^{-1} r
        else:
            z[...] = r
        rz_old, rz = rz, dot(r, z)
        d *= rz / rz_old  # d_{k+1} = -z_{k+1} + beta d_k
        d -= z
    return p * scale, float(np.sqrt(rr)) * scale, k


def newton_pcg(
    fun,
    model_at,
    w0,
    *,
    tol,
    max_iter,
    verbose=0,
    callback=None,
    max_cg=500,
):
    """Inexact Newton with Jacobi-preconditioned CG, to ``max |grad| <= tol``.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    model_at : callable
        ``model_at(w) -> model`` with ``model.hessp`` (Hessian-vector
        products at ``w``), ``model.diagonal`` (``diag(H)``, or None: plain
        CG), ``model.order`` (``to_model`` / ``to_flat``: the order of
        the parameters the products work in) and ``model.project`` (removes
        the components along the null space of ``H``); see
        :meth:`sk_softmax._objective.SoftmaxObjective.newton_model`); called
        once per iterate.
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
    max_cg : int, default=500
        Maximum Hessian-vector products per iteration.

    Returns
    -------
    result : SolverResult
    """

    def direction(w, g, _):
        model = model_at(w)
        order = model.order
        diagonal = model.diagonal
        inv_diag = _jacobi(diagonal) if diagonal is not None else None
        p, r_norm, _ = preconditioned_cg(
            model.hessp, order.to_model(g), inv_diag, gtol=tol, max_cg=max_cg
        )
        # off the null space of H: the same step for the model (H N = 0,
        # g orthogonal to N), without the drift the preconditioner adds
        return order.to_flat(model.project(p)), lambda: r_norm

    return _newton(
        lambda w: (*fun(w), None),
        direction,
        w0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
        first_iter=1,
    )
