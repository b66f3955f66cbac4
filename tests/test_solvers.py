"""The solvers on objectives with known minimisers."""

import numpy as np
import pytest

from sk_softmax._solvers import gradient_descent, lbfgs


def _quadratic(seed=0, p=8, cond=50.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    A = Q @ np.diag(np.linspace(1.0, cond, p)) @ Q.T
    b = rng.normal(size=p)
    x_star = np.linalg.solve(A, b)

    def fun(x):
        return 0.5 * x @ A @ x - b @ x, A @ x - b

    return fun, x_star, cond  # L = cond


def test_lbfgs_finds_minimiser_and_reports():
    fun, x_star, _ = _quadratic()
    res = lbfgs(fun, np.zeros_like(x_star), tol=1e-6, max_iter=1000)
    assert res.converged and res.grad_max <= 1e-6
    np.testing.assert_allclose(res.x, x_star, atol=1e-7)
    assert len(res.loss_curve) == res.n_iter
    assert res.loss_curve[-1] == pytest.approx(res.fun)


@pytest.mark.parametrize(
    "momentum, nesterov", [(0.0, False), (0.9, True), (0.9, False)]
)
def test_gradient_descent_converges_with_1_over_L(momentum, nesterov):
    fun, x_star, L = _quadratic()
    res = gradient_descent(
        fun,
        np.zeros_like(x_star),
        step=1.0 / L,
        tol=1e-8,
        max_iter=100_000,
        momentum=momentum,
        nesterov=nesterov,
    )
    assert res.converged and res.grad_max <= 1e-8
    np.testing.assert_allclose(res.x, x_star, atol=1e-6)
    if momentum == 0.0:
        curve = np.array(res.loss_curve)  # monotone descent, up to rounding
        assert np.all(np.diff(curve) <= 1e-13 * np.abs(curve[1:]))


def test_momentum_is_faster_than_plain_descent():
    fun, x_star, L = _quadratic(cond=1000.0)
    kw = dict(step=1.0 / L, tol=1e-6, max_iter=100_000)
    plain = gradient_descent(fun, np.zeros_like(x_star), momentum=0.0, **kw)
    fast = gradient_descent(fun, np.zeros_like(x_star), momentum=0.9, **kw)
    assert fast.converged and plain.converged
    assert fast.n_iter < plain.n_iter / 3


def test_gradient_descent_divergence_is_reported_not_returned():
    fun, x_star, L = _quadratic()
    res = gradient_descent(
        fun, np.ones_like(x_star), step=5.0 / L, tol=1e-8, max_iter=5000
    )
    assert not res.converged
    assert "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert res.n_iter == len(res.loss_curve)


def test_max_iter_reached():
    fun, x_star, L = _quadratic()
    res = gradient_descent(
        fun, np.zeros_like(x_star), step=1.0 / L, tol=0.0, max_iter=7
    )
    assert res.n_iter == 7 and not res.converged and res.message == "max_iter reached"


def test_numpy_lbfgs_path_honours_a_callback_stop(monkeypatch):
    from sk_softmax import _solvers

    fun, x_star, _ = _quadratic()
    monkeypatch.setattr(_solvers, "NUMPY_LBFGS_MIN_PARAMS", 1)  # force the numpy path
    seen = []

    def stop_after_two(w, f, gmax):
        seen.append(f)
        return len(seen) >= 2

    res = lbfgs(
        fun, np.zeros_like(x_star), tol=1e-12, max_iter=100, callback=stop_after_two
    )
    assert res.n_iter == 2 and res.stopped_by_callback and not res.converged
    full = lbfgs(fun, np.zeros_like(x_star), tol=1e-6, max_iter=100)
    assert full.converged and not full.stopped_by_callback
