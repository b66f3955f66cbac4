"""Newton's method with the dense Hessian and a Cholesky solve, for
problems with few parameters: ``solver="newton-cholesky"``."""

import numpy as np
from scipy.linalg.lapack import dposv

from .._vector import dot
from ._history import EPS
from ._newton import newton_loop
from ._result import TINY

__all__ = ["cholesky_direction", "newton_cholesky", "posv"]


def posv(M, rhs):
    """``(x, info)``: ``M x = rhs`` by Cholesky (scipy's LAPACK ``dposv``).

    Parameters
    ----------
    M : ndarray of shape (n, n)
        Symmetric, C-contiguous; overwritten.
    rhs : ndarray of shape (n,)
        Right-hand side; may be overwritten.

    Returns
    -------
    x : ndarray of shape (n,)
    info : int
        LAPACK's: 0 on success, > 0 if ``M`` is not positive definite.
    """
    _, x, info = dposv(M, rhs, lower=True, overwrite_a=True)
    return x, info


def cholesky_direction(H, g, NNt, solve=posv):
    """Newton direction ``p`` with ``(H + c N N^T) p = -g``, and ``||g + H p||``
    (as a function, see :func:`~sk_softmax._solvers._newton.newton_loop`).

    ``N`` (orthonormal columns; ``NNt = N N^T`` or None) spans directions
    along which the objective is constant: ``H N = 0`` and ``g`` is
    orthogonal to ``N``, so adding ``c N N^T`` (``c`` the mean diagonal
    entry of ``H``) leaves the Newton step in the range of ``H`` unchanged,
    makes the matrix positive definite and keeps the step's component along
    ``N`` at rounding level (``g^T N / c``) instead of letting it drift.
    Solved by Cholesky (``solve``: LAPACK ``posv``, a few microseconds for
    small systems, against ~17 for ``numpy.linalg.solve``; the fit layer's
    execution plan may hand a single-threaded one, see
    ``sk_softmax._fit``). Should the matrix still not be positive definite
    to working precision (e.g. a zero feature with ``C=np.inf``), a ridge
    ``delta I`` growing from ``16 eps c`` is added.

    Parameters
    ----------
    H : ndarray of shape (n, n)
        The Hessian.
    g : ndarray of shape (n,)
        The gradient.
    NNt : ndarray of shape (n, n) or None
        ``N N^T``.
    solve : callable, default=posv
        ``solve(M, rhs) -> (x, info)``, see :func:`posv`.

    Returns
    -------
    p : ndarray of shape (n,)
    r_norm : callable
        ``r_norm() -> ||g + H p||_2``.
    """
    c = max(float(H.trace()) / H.shape[0], TINY)
    M = H + c * NNt if NNt is not None else H.copy()
    delta = 16 * EPS * c
    for _ in range(20):
        p, info = solve(M, -g)
        if info == 0 and np.isfinite(p).all():
            return p, lambda p=p: _norm(g + H @ p)
        M = H + c * NNt if NNt is not None else H.copy()
        M[np.diag_indices_from(M)] += delta
        delta *= 100
    return -g, lambda: _norm(g)


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
    solve=posv,
):
    """Newton's method with the exact Hessian, for problems with few parameters.

    Each iteration solves ``H p = -g`` with the dense Hessian (Cholesky of
    the ``(n_params, n_params)`` system, positive definite after the
    treatment of ``null_space``, see below) and takes a backtracking
    (Armijo) step from the unit step; the rounding rules and the stopping
    test ``max |grad| <= tol`` are those of
    :func:`~sk_softmax._solvers._newton.newton_loop`. Near the
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
    solve : callable, default=posv
        ``solve(M, rhs) -> (x, info)``: the Cholesky solve of the Newton
        systems (from the fit layer's execution plan; see :func:`posv`).

    Returns
    -------
    result : SolverResult
    """
    NNt = None
    if null_space is not None and null_space.size:
        NNt = null_space @ null_space.T
    return newton_loop(
        fun,
        lambda w, g, H: cholesky_direction(H, g, NNt, solve),
        w0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
        callback=callback,
        first_iter=1,
    )
