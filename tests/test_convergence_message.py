"""The ConvergenceWarning's advice fits the solver and the data (issue 10, item 16)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression
from sk_softmax._convergence import FLOAT32_MIN_TOL, convergence_message
from sk_softmax._solvers import SolverResult


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _warning(clf, X, y):
    with pytest.warns(ConvergenceWarning) as record:
        clf.fit(X, y)
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
    assert len(messages) == 1
    return messages[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_out_of_iterations_advice(iris, solver, dtype):
    X, y = iris
    clf = SoftmaxRegression(solver=solver, max_iter=2, random_state=0)
    msg = _warning(clf, X.astype(dtype), y)
    assert f"SoftmaxRegression(solver='{solver}') did not converge" in msg
    assert "Increase max_iter (it was 2)" in msg
    # The default tol is within float32's reach: no dtype advice for any data.
    assert "float64" not in msg
    # A step that is not too large (the default) is no remedy.
    assert "learning_rate" not in msg
    if solver == "sgd":
        # What it reached: the loss, not a gradient (sgd computes none).
        assert "loss = " in msg and "max|gradient|" not in msg
        assert "n_iter_no_change" in msg
    else:
        assert "max|gradient| = " in msg and "n_iter_no_change" not in msg
    assert ("solver='lbfgs'" in msg.split("did not converge")[1]) == (solver == "gd")


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_float32_at_a_tight_tol_is_told_to_use_float64(iris, solver):
    X, y = iris
    tol = FLOAT32_MIN_TOL[solver] / 10
    clf = SoftmaxRegression(solver=solver, tol=tol, max_iter=20000)
    msg = _warning(clf, X.astype(np.float32), y)
    assert "use float64 data" in msg
    assert "learning_rate" not in msg
    # float64 data reach that tol (so the advice is sound) ...
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    # ... and out of iterations at that tol, they are not told to use float64.
    msg = _warning(clf.set_params(max_iter=2), X, y)
    assert "Increase max_iter" in msg and "float64" not in msg


def test_lbfgs_float64_rounding_stop_suggests_a_larger_tol():
    # float64 data never get the float64 advice, also at a tol out of reach.
    result = SolverResult(
        x=np.zeros(3),
        fun=0.3,
        grad_max=3e-13,
        n_iter=40,
        loss_curve=[1.0, 0.3],
        message="L-BFGS: ...; then Newton-CG: line search failed (rounding)",
    )
    msg = convergence_message(
        "lbfgs", dtype=np.float64, tol=1e-15, max_iter=1000, result=result
    )
    assert "use a larger tol" in msg
    assert "float64" not in msg and "max_iter" not in msg
    assert "learning_rate" not in msg


def test_gd_without_momentum_is_told_about_momentum(iris):
    X, y = iris
    msg = _warning(SoftmaxRegression(solver="gd", momentum=0.0, max_iter=3), X, y)
    assert "set momentum" in msg
    msg = _warning(SoftmaxRegression(solver="gd", momentum=0.9, max_iter=3), X, y)
    assert "momentum" not in msg


def test_gd_with_a_step_too_large_is_told_to_lower_it(iris):
    X, y = iris
    clf = SoftmaxRegression(solver="gd", learning_rate=1e4, momentum=0.0, max_iter=30)
    msg = _warning(clf, X, y)
    assert clf.loss_curve_[-1] > clf.loss_curve_[0]
    assert "Lower learning_rate (it was 10000)." in msg
    # Neither more iterations nor other data help a step that is too large.
    assert "Increase max_iter" not in msg
    assert "float64" not in msg and "StandardScaler" not in msg


def test_sgd_with_early_stopping_reports_the_validation_accuracy(iris):
    X, y = iris
    clf = SoftmaxRegression(
        solver="sgd", early_stopping=True, max_iter=3, random_state=0
    )
    msg = _warning(clf, X, y)
    best = max(clf.validation_scores_)
    assert f"best validation accuracy = {best:.4g} after 3 epochs" in msg
    assert "n_iter_no_change" in msg and "learning_rate" not in msg


def test_sgd_whose_loss_went_up_is_told_to_lower_the_step():
    result = SolverResult(
        x=np.zeros(3),
        fun=8e86,
        grad_max=np.nan,
        n_iter=5,
        loss_curve=[1.0, 30.0, 8e86],
        message="max_iter reached",
    )
    msg = convergence_message(
        "sgd",
        dtype=np.float32,
        tol=1e-4,
        max_iter=5,
        result=result,
        learning_rate="adaptive",
    )
    assert "loss = 8e+86" in msg
    # A schedule's step is learning_rate_init.
    assert "Lower learning_rate_init." in msg
    assert "float64" not in msg and "Increase max_iter" not in msg


def test_a_callbacks_stop_gets_no_advice():
    result = SolverResult(
        x=np.zeros(3),
        fun=0.5,
        grad_max=0.1,
        n_iter=3,
        loss_curve=[1.0, 0.7, 0.5],
        message="stopped by a callback",
        stopped_by_callback=True,
    )
    msg = convergence_message(
        "lbfgs", dtype=np.float32, tol=1e-8, max_iter=1000, result=result
    )
    assert msg.endswith("after 3 iterations (stopped by a callback).")
