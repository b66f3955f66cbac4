"""Inexact Newton with conjugate gradients (Newton-CG), optionally
Jacobi-preconditioned.

The solver of ``solver="newton-cg"`` (and of ``"auto"`` on sparse data with
many parameters, see :func:`sk_softmax._fit.choose_solver`), and the finish
of ``"lbfgs"`` where L-BFGS stops short of ``tol``. Each iteration solves the
Newton system ``H p = -g`` inexactly by conjugate gradients
(:func:`~sk_softmax._solvers._conjugate_gradient.conjugate_gradient`),
preconditioned with ``M = diag(H)`` (Jacobi) where the Hessian operator has
a diagonal, with the Hessian-vector products at the iterate, then takes a
backtracking (Armijo) step; the loop, its rounding rules and the stopping
test ``max |g| <= tol`` are those of
:func:`~sk_softmax._solvers._newton.newton_loop`.

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._conjugate_gradient import conjugate_gradient, jacobi_inverse
from ._newton import newton_loop

__all__ = ["HessianOperator", "newton_cg"]


@dataclass(frozen=True)
class HessianOperator:
    """The Hessian at one iterate, as conjugate gradients need it.

    The products may work in another arrangement of the parameters than the
    solver's (e.g. a backend's feature-major weights, which saves a
    transposition per product): ``to_operator`` and ``from_operator`` map
    the gradient there and the direction back, once per Newton iteration.

    Attributes
    ----------
    hessp : callable
        ``hessp(v) -> H v``, in the operator's arrangement.
    diagonal : ndarray or None, default=None
        ``diag(H)`` in the operator's arrangement: CG is then preconditioned
        by it (Jacobi); None: plain CG.
    to_operator : callable or None, default=None
        The gradient in the operator's arrangement; None: the same.
    from_operator : callable or None, default=None
        The direction in the solver's arrangement (and off the null space
        of ``H``, where there is one); None: the same.
    """

    hessp: Callable
    diagonal: np.ndarray | None = None
    to_operator: Callable | None = None
    from_operator: Callable | None = None


def newton_cg(
    fun,
    operator_at,
    w0,
    *,
    tol,
    max_iter,
    verbose=0,
    callback=None,
    first_iter=1,
    max_cg=500,
):
    """Inexact Newton with conjugate gradients, aimed at ``max |grad| <= tol``.

    Each iteration solves ``H p = -g`` by conjugate gradients only as far as
    needed: until the linearised gradient after the step, ``g + H p``, is
    within ``tol / 2`` (or the usual inexact-Newton forcing term is met),
    then takes a backtracking (Armijo) step (see
    :func:`~sk_softmax._solvers._newton.newton_loop` for the rounding rules).
    Near the optimum one iteration usually ends the run. Conjugate gradients
    stop at a direction whose curvature is at the rounding level of the
    Hessian product (a null direction of ``H``, such as a common shift of
    the intercepts, along which rounding would otherwise make the iterate
    drift).

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    operator_at : callable
        ``operator_at(w) -> HessianOperator`` at ``w``; called once per
        iterate.
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
    max_cg : int, default=500
        Maximum Hessian-vector products per iteration.

    Returns
    -------
    result : SolverResult
    """

    def direction(w, g, _):
        operator = operator_at(w)
        diagonal = operator.diagonal
        inv_diag = jacobi_inverse(diagonal) if diagonal is not None else None
        rhs = g if operator.to_operator is None else operator.to_operator(g)
        p, r_norm, _ = conjugate_gradient(
            operator.hessp, rhs, gtol=tol, max_cg=max_cg, inv_diag=inv_diag
        )
        if operator.from_operator is not None:
            p = operator.from_operator(p)
        return p, lambda: r_norm

    return newton_loop(
        lambda w: (*fun(w), None),
        direction,
        w0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
        first_iter=first_iter,
    )
