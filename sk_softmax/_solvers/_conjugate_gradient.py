"""One conjugate gradient for the Newton system ``H p = -g``, optionally
preconditioned by ``diag(H)`` (Jacobi), stopped as early as the Newton loop
allows.

Used by :func:`sk_softmax._solvers.newton_cg`: plain CG for the Newton-CG
finish of ``"lbfgs"``, Jacobi-preconditioned CG for ``solver="newton-cg"``
(the measurements behind the preconditioner are in
:mod:`sk_softmax._solvers._newton_cg`).
"""

import math

import numpy as np

from .._vector import add_scaled, dot, max_abs
from ._result import FTOL

__all__ = ["conjugate_gradient", "jacobi_inverse"]


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


def jacobi_inverse(diagonal):
    """``1 / diag(H)``, with entries at rounding level of the largest replaced.

    A zero diagonal entry (a feature that is zero in every row, without a
    penalty) has a zero Hessian row and gradient entry; it gets the largest
    entry's inverse so that rounding noise there is not amplified.

    Parameters
    ----------
    diagonal : ndarray of shape (n,)
        ``diag(H)``.

    Returns
    -------
    inv_diag : ndarray of shape (n,) or None
        None where no entry is positive (no preconditioner then).
    """
    top = float(diagonal.max()) if diagonal.size else 0.0
    if not top > 0:
        return None
    floor = FTOL * top
    inv = np.divide(1.0, np.where(diagonal > floor, diagonal, top))
    return inv


def conjugate_gradient(hessp, g, *, gtol, max_cg, inv_diag=None):
    """Approximate Newton direction: (preconditioned) CG on ``H p = -g``.

    Stops at the first of: ``max |r| <= gtol / 2`` with ``r = g + H p`` (the
    gradient after the unit step, to first order, is then within ``gtol``),
    ``||r|| <= min(1/2, sqrt(||g||)) ||g||`` (the superlinear forcing term of
    inexact Newton methods, which matters far from the optimum), a direction
    whose curvature ``d.Hd`` is not above ``64 eps ||H|| ||d||^2`` (the
    rounding level of the product: a null direction of ``H``; ``||H||``
    estimated by the largest Rayleigh quotient seen), or ``max_cg``
    products. With ``inv_diag`` the search directions are those of CG on
    ``M^{-1} H`` (``M = diag(H)``); without, ``z = M^{-1} r`` is ``r``
    itself (no copy, and ``r.z`` is ``r.r``).

    Parameters
    ----------
    hessp : callable
        ``hessp(v) -> H v``.
    g : ndarray of shape (n,)
        Gradient (the right-hand side is ``-g``).
    gtol : float
        The Newton loop's ``tol``.
    max_cg : int
        Maximum Hessian-vector products.
    inv_diag : ndarray of shape (n,) or None, default=None
        ``M^{-1}`` (see :func:`jacobi_inverse`); None: plain CG.

    Returns
    -------
    p : ndarray
        The direction (``-g`` if the first direction has non-positive
        curvature).
    r_norm : float
        ``||g + H p||_2``, the gradient norm the linear model predicts after
        the unit step (``||g||`` for the ``-g`` fallback, whose prediction is
        not computed).
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
    rr = gnorm**2
    if inv_diag is None:
        z, rz = r, rr  # M = I: z is r
    else:
        z = r * inv_diag
        rz = dot(r, z)
    d = -z
    h_max = 0.0  # largest Rayleigh quotient d.Hd / d.d seen: <= ||H||_2
    k = 0
    for k in range(1, max_cg + 1):
        Hd = hessp(d)
        curvature = dot(d, Hd)
        q = _rayleigh(d, Hd)
        h_max = max(h_max, q)
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
        if inv_diag is None:
            rz_old, rz = rz, rr
        else:
            np.multiply(r, inv_diag, out=z)  # z = M^{-1} r
            rz_old, rz = rz, dot(r, z)
        d *= rz / rz_old  # d_{k+1} = -z_{k+1} + beta d_k
        d -= z
    return p * scale, float(np.sqrt(rr)) * scale, k
