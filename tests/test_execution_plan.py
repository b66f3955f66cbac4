"""The fit layer's execution plan and the solvers' registry."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sk_softmax import SoftmaxRegression, _fit
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._solvers import (
    BLAS_PRODUCTS,
    DENSE_HESSIAN,
    LOOP_PRODUCTS,
    PROXIMAL,
    SOLVERS,
    posv,
    solver_for,
)


@pytest.mark.parametrize(
    "solver, l1, name",
    [
        ("lbfgs", False, "lbfgs"),
        ("lbfgs", True, "owlqn"),
        ("gd", False, "gd"),
        ("gd", True, "fista"),
        ("sgd", False, "sgd"),
        ("sgd", True, "sgd"),
        ("newton-cg", False, "newton-cg"),
        ("newton-cholesky", False, "newton-cholesky"),
        ("newton-cg", True, None),
        ("newton-cholesky", True, None),
    ],
)
def test_registry_serves_each_solver_by_its_needs(solver, l1, name):
    spec = solver_for(solver, l1)
    assert (spec.name if spec is not None else None) == name
    if spec is not None:
        assert spec.takes_l1() or not l1
        assert spec is SOLVERS[name]
    assert DENSE_HESSIAN in SOLVERS["newton-cholesky"].needs
    assert PROXIMAL in SOLVERS["owlqn"].needs


def test_plan_follows_the_objectives_threads():
    threaded = _fit.ExecutionPlan.decide(n_workers=2)
    assert not threaded.blas_between_evaluations
    assert threaded.history_products is LOOP_PRODUCTS
    serial = _fit.ExecutionPlan.decide(n_workers=1)
    assert serial.blas_between_evaluations
    assert serial.history_products is BLAS_PRODUCTS
    assert serial.cholesky_solve is posv and serial.blas_may_thread is None


def test_plan_looks_up_only_what_the_solver_uses(monkeypatch):
    # numpy's BLAS threads are looked up (threadpoolctl, 23 ms on its first
    # query) only for Newton-Cholesky systems large enough to thread.
    def refuse(n):
        raise AssertionError("chunk_workers called")

    X, y = load_iris(return_X_y=True)
    monkeypatch.setattr(_fit, "chunk_workers", refuse)
    for solver in ("newton-cholesky", "lbfgs", "gd", "newton-cg"):
        SoftmaxRegression(solver=solver, max_iter=3).fit(X, y)
    obj = ChunkedSoftmaxCrossEntropy(np.tile(X, 25), y, 3)  # 303 parameters
    with pytest.raises(AssertionError, match="chunk_workers called"):
        _fit.ExecutionPlan.for_fit(obj, SOLVERS["newton-cholesky"])
    monkeypatch.setattr(_fit, "chunk_workers", lambda n: min(n, 2))
    plan = _fit.ExecutionPlan.for_fit(obj, SOLVERS["newton-cholesky"])
    assert plan.blas_may_thread and plan.cholesky_solve is _fit.private_posv


def test_fit_solver_returns_a_typed_outcome():
    X, y = load_iris(return_X_y=True)
    obj = ChunkedSoftmaxCrossEntropy(X, y, 3)
    settings = _fit.FitSettings.for_fit(SoftmaxRegression(solver="gd"), obj)
    outcome = _fit.fit_solver(obj, np.zeros(obj.n_params), settings)
    assert isinstance(outcome, _fit.FitOutcome)
    assert outcome.step > 0 and outcome.sgd_run is None
    assert outcome.result.n_iter > 0 and outcome.result.x.shape == (obj.n_params,)
