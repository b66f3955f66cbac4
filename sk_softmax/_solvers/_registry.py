"""The registry of solvers and what each needs of the objective.

A solver declares its needs (skglm's way: the solver states what it needs of
the data term) from:

- ``SMOOTH``: ``f(w) -> (loss, grad)`` of the smooth part;
- ``HESSIAN_PRODUCTS``: Hessian-vector products at an iterate
  (:class:`~sk_softmax._solvers.HessianOperator`);
- ``DENSE_HESSIAN``: ``f(w) -> (loss, grad, hess)`` with the dense Hessian;
- ``PROXIMAL``: the non-smooth (L1) part: its value, proximal step,
  minimum-norm subgradient and penalised entries;
- ``MINI_BATCHES``: ``f(w, rows) -> (loss, grad)`` on rows;

and what it takes of the fit layer's execution plan (``uses``):

- ``HISTORY_PRODUCTS``: the products with an L-BFGS history (BLAS or not);
- ``LINEAR_SOLVE``: the Cholesky solve of the Newton systems.

The fit layer (:mod:`sk_softmax._fit`) looks up the entry that serves the
estimator's ``solver`` for an objective with or without an L1 part
(:func:`solver_for`), refuses the objectives that cannot provide its needs,
and hands it the callables.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ._fista import fista
from ._gradient_descent import gradient_descent
from ._lbfgs import lbfgs
from ._newton_cg import newton_cg
from ._newton_cholesky import newton_cholesky
from ._owlqn import owlqn
from ._sgd import sgd

__all__ = [
    "DENSE_HESSIAN",
    "HESSIAN_PRODUCTS",
    "HISTORY_PRODUCTS",
    "LINEAR_SOLVE",
    "MINI_BATCHES",
    "PROXIMAL",
    "SMOOTH",
    "SOLVERS",
    "SolverSpec",
    "solver_for",
]

SMOOTH = "smooth part"
HESSIAN_PRODUCTS = "Hessian products"
DENSE_HESSIAN = "dense Hessian"
PROXIMAL = "proximal operator"
MINI_BATCHES = "mini-batches"
HISTORY_PRODUCTS = "history products"
LINEAR_SOLVE = "linear solve"


@dataclass(frozen=True)
class SolverSpec:
    """A solver, the estimator's ``solver`` it serves, and its needs.

    Attributes
    ----------
    name : str
        The registry's key.
    serves : str
        The estimator's ``solver`` value it runs for.
    run : callable
        The solver function.
    needs : frozenset of str
        What it must be given (module docstring).
    accepts : frozenset of str
        What it can use when there is one (``PROXIMAL`` for SGD: a
        proximal step after each update).
    uses : frozenset of str
        What it takes of the execution plan (module docstring).
    """

    name: str
    serves: str
    run: Callable
    needs: frozenset
    accepts: frozenset = frozenset()
    uses: frozenset = frozenset()

    def takes_l1(self):
        """Whether it solves objectives with an L1 part.

        Returns
        -------
        takes_l1 : bool
        """
        return PROXIMAL in self.needs or PROXIMAL in self.accepts

    def needs_l1(self):
        """Whether it solves only objectives with an L1 part.

        Returns
        -------
        needs_l1 : bool
        """
        return PROXIMAL in self.needs


# Why OWL-QN serves "lbfgs" (and "auto") with an L1 part, and FISTA only
# "gd" (measured, not assumed).
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

SOLVERS = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "lbfgs",
            "lbfgs",
            lbfgs,
            frozenset({SMOOTH}),
            uses=frozenset({HISTORY_PRODUCTS}),
        ),
        SolverSpec(
            "owlqn",
            "lbfgs",
            owlqn,
            frozenset({SMOOTH, PROXIMAL}),
            uses=frozenset({HISTORY_PRODUCTS}),
        ),
        SolverSpec(
            "newton-cg", "newton-cg", newton_cg, frozenset({SMOOTH, HESSIAN_PRODUCTS})
        ),
        SolverSpec(
            "newton-cholesky",
            "newton-cholesky",
            newton_cholesky,
            frozenset({DENSE_HESSIAN}),
            uses=frozenset({LINEAR_SOLVE}),
        ),
        SolverSpec("gd", "gd", gradient_descent, frozenset({SMOOTH})),
        SolverSpec("fista", "gd", fista, frozenset({SMOOTH, PROXIMAL})),
        SolverSpec("sgd", "sgd", sgd, frozenset({MINI_BATCHES}), frozenset({PROXIMAL})),
    )
}


def solver_for(solver, l1):
    """The registry's entry for the estimator's ``solver``.

    Parameters
    ----------
    solver : str
        The estimator's ``solver`` (not ``"auto"``).
    l1 : bool
        Whether the objective has an L1 part.

    Returns
    -------
    spec : SolverSpec or None
        None when no solver serves ``solver`` for such an objective (e.g.
        the Newton solvers with an L1 part).
    """
    for spec in SOLVERS.values():
        if spec.serves != solver:
            continue
        if spec.takes_l1() if l1 else not spec.needs_l1():
            return spec
    return None
