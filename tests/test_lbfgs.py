"""Tests of the numpy L-BFGS (the ``lbfgs`` solver)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

import sk_softmax._solvers as solvers
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._solvers import minimize_lbfgs


def problem(sparse=False, seed=0, n=300, d=40, K=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sparse:
        X = sp.csr_matrix(X * (rng.random((n, d)) < 0.2))
    W = rng.standard_normal((K, d))
    y = np.argmax(X @ W.T + rng.gumbel(size=(n, K)), axis=1)
    return ChunkedSoftmaxCrossEntropy(X, y, K, C=1.0)


def scipy_reference(obj):
    res = minimize(
        obj.loss_gradient,
        np.zeros(obj.n_params),
        method="L-BFGS-B",
        jac=True,
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 5000},
    )
    return res.fun


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("history_dtype", [np.float64, np.float32])
def test_reaches_tol_and_scipy_minimum(sparse, history_dtype):
    obj = problem(sparse)
    x, f, g, n_iter, converged, message = minimize_lbfgs(
        obj.loss_gradient,
        np.zeros(obj.n_params),
        gtol=1e-6,
        max_iter=1000,
        history_dtype=history_dtype,
    )
    assert converged and message == "max|grad| <= tol"
    assert np.max(np.abs(g)) <= 1e-6
    f_ref = scipy_reference(obj)
    assert f <= f_ref + 1e-9 * abs(f_ref)
    np.testing.assert_allclose(obj.loss_gradient(x)[0], f, rtol=1e-14)
    assert 0 < n_iter < 1000


def test_max_iter_is_reported_as_not_converged():
    obj = problem(seed=1)
    x, f, g, n_iter, converged, message = minimize_lbfgs(
        obj.loss_gradient, np.zeros(obj.n_params), gtol=1e-10, max_iter=3
    )
    assert n_iter == 3 and not converged and message == "max_iter reached"
    assert f < obj.loss(np.zeros(obj.n_params))


def test_already_optimal_start_does_no_iteration():
    obj = problem(seed=2)
    x, f, g, n_iter, converged, _ = minimize_lbfgs(
        obj.loss_gradient, np.zeros(obj.n_params), gtol=1e3, max_iter=10
    )
    assert n_iter == 0 and converged


def test_ftol_stop_is_not_convergence():
    # float32 data cannot reach a 1e-12 gradient: stops on ftol, not converged
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 30)).astype(np.float32)
    y = rng.integers(0, 4, 400)
    obj = ChunkedSoftmaxCrossEntropy(X, y, 4)
    *_, converged, message = minimize_lbfgs(
        obj.loss_gradient, np.zeros(obj.n_params), gtol=1e-12, max_iter=2000
    )
    assert not converged
    assert message != "max|grad| <= tol"


def test_history_settings_by_size_reach_the_same_optimum(
    monkeypatch,
):
    # 20 pairs (small problems), 10 pairs, and 10 float32 pairs (many
    # parameters) all reach scipy's L-BFGS-B optimum (the reference).
    obj = problem(seed=4)
    w0 = np.zeros(obj.n_params)
    ref = scipy_reference(obj)
    small = solvers.lbfgs(obj.loss_gradient, w0, tol=1e-8, max_iter=500)
    monkeypatch.setattr(solvers, "LONG_HISTORY_MAX_PARAMS", 1)  # 10 pairs
    short = solvers.lbfgs(obj.loss_gradient, w0, tol=1e-8, max_iter=500)
    monkeypatch.setattr(solvers, "FLOAT32_HISTORY_MIN_PARAMS", 1)
    large = solvers.lbfgs(obj.loss_gradient, w0, tol=1e-8, max_iter=500)
    for res in (small, short, large):
        assert res.converged and res.grad_max <= 1e-8
        assert res.message == "max|grad| <= tol"
        assert len(res.loss_curve) == res.n_iter
        np.testing.assert_allclose(res.fun, ref, rtol=1e-9)
    capped = solvers.lbfgs(obj.loss_gradient, w0, tol=1e-12, max_iter=2)
    assert capped.n_iter == 2 and not capped.converged


def test_overwrite_x0_gives_the_same_run_and_leaves_x0_alone_by_default():
    obj = problem(seed=5)
    kw = dict(gtol=1e-6, max_iter=1000, history_dtype=np.float32)
    seen = []

    def record(it, x, f, g, gmax):
        seen.append(x.copy())
        return False

    x0 = np.zeros(obj.n_params)
    ref = minimize_lbfgs(obj.loss_gradient, x0, callback=record, **kw)
    assert not np.any(x0)  # default: the caller's x0 is not touched
    ref_path = list(seen)
    seen.clear()
    x0 = np.zeros(obj.n_params)
    got = minimize_lbfgs(
        obj.loss_gradient, x0, overwrite_x0=True, callback=record, **kw
    )
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[1:4:2] == ref[1:4:2]  # f and n_iter
    assert len(seen) == len(ref_path) == ref[3]
    for a, b in zip(seen, ref_path, strict=True):
        np.testing.assert_array_equal(a, b)  # every iterate, bit for bit


def test_line_search_leaves_the_warnings_filters_alone():
    # The unit step of the first iteration (length 1 / ||g||) is far too
    # short on this quadratic, so the line search (dcsrch) runs; it must not
    # swap the process-wide warnings filters, which concurrent fits in
    # threads could leave changed (warnings.catch_warnings is not
    # thread-safe).
    import warnings

    before = list(warnings.filters)
    seen = []

    def fun(x):
        seen.append(list(warnings.filters) == before)
        return 0.5 * float(x @ x), x.copy()

    x, f, g, n_iter, converged, _ = minimize_lbfgs(
        fun, np.full(5, 1e3), gtol=1e-8, max_iter=50
    )
    assert converged and f < 1e-12
    assert len(seen) > n_iter + 1  # the line search ran (more than one trial)
    assert all(seen)
    assert warnings.filters == before
