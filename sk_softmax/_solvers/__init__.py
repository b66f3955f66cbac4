"""The solvers: optimisers that see functions, never data.

A solver receives callables (``f(w) -> (loss, grad)``, Hessian operators,
the dense Hessian, a proximal operator, a linear solve) and a plain
description of the parameters (their number, the null space of the
Hessian, the penalised entries), and returns a :class:`SolverResult`. It
imports nothing of the objective, its backends, the worker threads or the
BLAS: how products and solves run (threads, BLAS or not) is the fit layer's
execution plan (:class:`sk_softmax._fit.ExecutionPlan`), handed down as
callables. One stopping measure per solver: ``max |grad| <= tol`` for the
smooth ones, the minimum-norm subgradient's largest entry with an L1 part,
MLPClassifier's epoch test for SGD.

One module per method:

- ``_lbfgs.py``: L-BFGS (``LogisticRegression``'s settings and stopping
  rules), with the MINPACK-2 line search of ``_line_search.py`` and the
  compact history of ``_history.py`` (shared with OWL-QN);
- ``_owlqn.py``: OWL-QN, for an L1 part;
- ``_fista.py``: FISTA, proximal gradient with momentum, for an L1 part;
- ``_gradient_descent.py``: gradient descent with (Nesterov) momentum;
- ``_newton.py``: the Newton loop of ``_newton_cg.py`` (conjugate
  gradients of ``_conjugate_gradient.py``, optionally Jacobi-preconditioned)
  and ``_newton_cholesky.py`` (dense Hessian, Cholesky solve);
- ``_sgd.py``: mini-batch SGD with its typed state;
- ``_registry.py``: the solvers and what each needs of the objective;
- ``_result.py``: :class:`SolverResult`.
"""

from ._conjugate_gradient import conjugate_gradient, jacobi_inverse
from ._fista import fista
from ._gradient_descent import gradient_descent
from ._history import BLAS_PRODUCTS, LOOP_PRODUCTS, CompactHistory, MatrixProducts
from ._lbfgs import (
    FLOAT32_HISTORY_MIN_PARAMS,
    LONG_HISTORY_MAX_PARAMS,
    lbfgs,
    minimize_lbfgs,
)
from ._newton_cg import HessianOperator, newton_cg
from ._newton_cholesky import cholesky_direction, newton_cholesky, posv
from ._owlqn import owlqn
from ._registry import (
    DENSE_HESSIAN,
    HESSIAN_PRODUCTS,
    HISTORY_PRODUCTS,
    LINEAR_SOLVE,
    MINI_BATCHES,
    PROXIMAL,
    SMOOTH,
    SOLVERS,
    SolverSpec,
    solver_for,
)
from ._result import FTOL, SolverResult
from ._sgd import SGD_DIVERGENCE_FACTOR, SGDState, sgd, sgd_epoch

__all__ = [
    "BLAS_PRODUCTS",
    "DENSE_HESSIAN",
    "FLOAT32_HISTORY_MIN_PARAMS",
    "FTOL",
    "HESSIAN_PRODUCTS",
    "HISTORY_PRODUCTS",
    "LINEAR_SOLVE",
    "LONG_HISTORY_MAX_PARAMS",
    "LOOP_PRODUCTS",
    "MINI_BATCHES",
    "PROXIMAL",
    "SGD_DIVERGENCE_FACTOR",
    "SMOOTH",
    "SOLVERS",
    "CompactHistory",
    "HessianOperator",
    "MatrixProducts",
    "SGDState",
    "SolverResult",
    "SolverSpec",
    "cholesky_direction",
    "conjugate_gradient",
    "fista",
    "gradient_descent",
    "jacobi_inverse",
    "lbfgs",
    "minimize_lbfgs",
    "newton_cg",
    "newton_cholesky",
    "owlqn",
    "posv",
    "sgd",
    "sgd_epoch",
    "solver_for",
]
