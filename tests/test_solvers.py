"""The solvers on objectives with known minimisers."""

import numpy as np
import pytest

from sk_softmax._solvers import (
    HessianOperator,
    cholesky_direction,
    gradient_descent,
    lbfgs,
    newton_cholesky,
)
from sk_softmax._solvers import newton_cg as _newton_cg


def newton_cg(fun, hessp_at, w0, **kw):
    """Newton-CG as the L-BFGS finish runs it: plain CG (at most 200
    products) on the products ``hessp_at(w)``."""
    kw.setdefault("max_cg", 200)
    return _newton_cg(fun, lambda w: HessianOperator(hessp_at(w)), w0, **kw)


def _quadratic_matrix(p, cond, seed=0, spectrum=np.geomspace):
    """``(A, b)``: SPD ``A`` with eigenvalues ``spectrum(1, cond, p)``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    A = Q @ np.diag(spectrum(1.0, cond, p)) @ Q.T
    b = rng.normal(size=p)
    return A, b


def _quadratic(seed=0, p=8, cond=50.0):
    A, b = _quadratic_matrix(p, cond, seed, spectrum=np.linspace)
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


@pytest.mark.parametrize("n", [1, 2, 5])
def test_gradient_descent_max_iter_counts_updates(n):
    # max_iter=n makes n updates and returns the point after the last one
    # (it used to return the point before it: max_iter=1 did not move).
    fun, x_star, L = _quadratic()
    res = gradient_descent(fun, np.zeros_like(x_star), step=1 / L, tol=0.0, max_iter=n)
    w = np.zeros_like(x_star)
    curve = []
    for _ in range(n):
        w = w - fun(w)[1] / L
        curve.append(fun(w)[0])
    np.testing.assert_allclose(res.x, w, rtol=1e-14)
    assert res.n_iter == n and not res.converged
    np.testing.assert_allclose(res.loss_curve, curve, rtol=1e-14)
    assert res.fun == res.loss_curve[-1]
    assert res.grad_max == np.abs(fun(res.x)[1]).max()


@pytest.mark.parametrize("path", ["lbfgs", "lbfgs-float32-history", "gd"])
def test_max_iter_0_returns_the_starting_point(path, monkeypatch):
    from sk_softmax._solvers import _lbfgs

    fun, x_star, L = _quadratic()
    x0 = np.linspace(-1.0, 1.0, x_star.size)
    if path == "gd":
        res = gradient_descent(fun, x0.copy(), step=1 / L, tol=1e-8, max_iter=0)
    else:
        if path == "lbfgs-float32-history":
            monkeypatch.setattr(_lbfgs, "FLOAT32_HISTORY_MIN_PARAMS", 1)
        res = lbfgs(fun, x0.copy(), tol=1e-8, max_iter=0)
    np.testing.assert_array_equal(res.x, x0)
    assert res.n_iter == 0 and res.loss_curve == [] and not res.converged
    assert res.fun == fun(x0)[0] and res.grad_max == np.abs(fun(x0)[1]).max()


def test_lbfgs_honours_a_callback_stop():
    fun, x_star, _ = _quadratic()
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


def _counting_hessp_at(A, counter):
    def hessp_at(x):
        def hessp(v):
            counter.append(1)
            return A @ v

        return hessp

    return hessp_at


def test_newton_cg_stops_its_conjugate_gradients_at_tol():
    # On a quadratic the gradient after a unit step is exactly the CG
    # residual. Near the optimum, CG stops once that residual is within
    # tol / 2, so one Newton iteration ends the run, with fewer Hessian
    # products for a looser tol; far away the forcing term stops CG earlier.
    p = 200
    A, b = _quadratic_matrix(p, cond=1e4)
    x_star = np.linalg.solve(A, b)

    def fun(x):  # centred at x_star: f is computed without cancellation
        e = x - x_star
        return 0.5 * e @ A @ e, A @ e

    x0 = x_star + 1e-10 * np.random.default_rng(5).normal(size=p)
    assert 1e-7 < np.abs(fun(x0)[1]).max() < 1e-6
    products = {}
    for tol in (1e-7, 3e-8, 1e-8):
        count = []
        res = newton_cg(fun, _counting_hessp_at(A, count), x0, tol=tol, max_iter=10)
        assert res.converged and res.grad_max <= tol
        assert res.n_iter == 1 and res.message == "max|grad| <= tol"
        products[tol] = len(count)
    assert products[1e-7] <= products[3e-8] <= products[1e-8] <= p
    assert products[1e-7] < products[1e-8]

    count = []
    res = newton_cg(
        fun, _counting_hessp_at(A, count), np.zeros(p), tol=1e-9, max_iter=50
    )
    assert res.converged and res.n_iter > 1
    np.testing.assert_allclose(res.x, x_star, rtol=1e-6)


def test_newton_cg_backtracks_on_a_non_quadratic():
    # f(x) = sum log cosh(x - c) + mu/2 |x|^2: a full Newton step from far away
    # overshoots (the curvature of log cosh vanishes); the Armijo backtracking
    # keeps every iteration decreasing.
    rng = np.random.default_rng(1)
    c, mu = rng.normal(size=20), 1e-3

    def fun(x):
        t = x - c
        f = np.sum(np.logaddexp(t, -t) - np.log(2.0)) + 0.5 * mu * x @ x
        return f, np.tanh(t) + mu * x

    def hessp_at(x):
        h = 1.0 / np.cosh(x - c) ** 2 + mu
        return lambda v: h * v

    res = newton_cg(fun, hessp_at, np.full(20, 8.0), tol=1e-10, max_iter=50)
    assert res.converged and res.grad_max <= 1e-10
    assert 2 < res.n_iter < 50
    assert np.all(np.diff([fun(np.full(20, 8.0))[0]] + res.loss_curve) < 0)
    assert np.linalg.norm(fun(res.x)[1]) < 1e-9


def test_newton_cg_accepts_a_step_whose_decrease_is_below_rounding():
    # Near the optimum the decrease of f is below the rounding of f: here the
    # computed f even rises by 2 ulp-sized units per call. The gradient still
    # resolves the step, so it is accepted instead of failing the line search.
    p = 30
    A, b = _quadratic_matrix(p, cond=100.0, seed=2)
    x_star = np.linalg.solve(A, b)
    calls = []

    def fun(x):
        calls.append(1)
        f = 0.5 * x @ A @ x - b @ x + 2e-15 * len(calls)  # decrease ~1e-17
        return f, A @ x - b

    x0 = x_star + 1e-10 * np.random.default_rng(3).normal(size=p)
    res = newton_cg(fun, _counting_hessp_at(A, []), x0, tol=1e-13, max_iter=5)
    assert res.converged and res.grad_max <= 1e-13


def test_newton_cg_honours_a_callback_stop():
    fun_calls = []
    rng = np.random.default_rng(4)
    c = rng.normal(size=5)

    def fun(x):
        fun_calls.append(1)
        t = x - c
        return np.sum(np.logaddexp(t, -t)), np.tanh(t)

    def hessp_at(x):
        h = 1.0 / np.cosh(x - c) ** 2
        return lambda v: h * v

    seen = []
    res = newton_cg(
        fun,
        hessp_at,
        np.full(5, 3.0),
        tol=1e-12,
        max_iter=50,
        callback=lambda w, f, g: seen.append(g) or True,
    )
    assert res.stopped_by_callback and res.message == "stopped by a callback"
    assert res.n_iter == 1 and len(seen) == 1 and not res.converged


def test_newton_cg_at_tol_0_stops_at_the_rounding_level_without_drift():
    # tol=0 cannot be met: the computed gradient has a rounding floor (here
    # noise of 1e-16 per entry) and H a null direction (like the common
    # shift of the intercepts). The run must stop once the gradient no longer
    # follows its linear model, without walking along the null direction
    # (before: 48 iterations, 1358 Hessian products, a drift of ~700 along
    # it and a final max|g| of 5e-8).
    p = 40
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    eigenvalues = np.geomspace(1e-3, 1.0, p)
    eigenvalues[0] = 0.0
    A = Q @ np.diag(eigenvalues) @ Q.T
    null = Q[:, 0]
    x_star = Q[:, 1:] @ rng.normal(size=p - 1)
    noise = np.random.default_rng(8)

    def fun(x):
        e = x - x_star
        return 0.5 * e @ A @ e + 1.0, A @ e + 1e-16 * noise.normal(size=p)

    x0 = x_star + 1e-6 * (Q[:, 1:] @ rng.normal(size=p - 1))
    count = []
    res = newton_cg(fun, _counting_hessp_at(A, count), x0, tol=0.0, max_iter=100)
    assert res.message == "no further progress possible (gradient at rounding level)"
    assert res.n_iter <= 3 and len(count) <= 4 * p
    assert res.grad_max < 1e-12  # from 3e-7: the rounding floor is reached
    assert abs(null @ (res.x - x0)) < 1e-9
    np.testing.assert_allclose(res.x, x_star, atol=1e-9)


def _log_cosh_problem(p=20, mu=1e-3, seed=1):
    """``f(x) = sum log cosh(x - c) + mu/2 |x|^2`` with its dense Hessian."""
    c = np.random.default_rng(seed).normal(size=p)

    def fun_hess(x):
        t = x - c
        f = np.sum(np.logaddexp(t, -t) - np.log(2.0)) + 0.5 * mu * x @ x
        return f, np.tanh(t) + mu * x, np.diag(1.0 - np.tanh(t) ** 2 + mu)

    return fun_hess


def test_newton_cholesky_solves_a_quadratic_in_one_step():
    A, b = _quadratic_matrix(12, cond=1e4, seed=3)
    res = newton_cholesky(
        lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b, A),
        np.zeros(12),
        tol=1e-10,
        max_iter=10,
    )
    assert res.converged and res.n_iter == 1 and res.grad_max <= 1e-10
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-9)


def test_newton_cholesky_backtracks_and_converges_on_a_non_quadratic():
    fun_hess = _log_cosh_problem()
    x0 = np.full(20, 8.0)
    res = newton_cholesky(fun_hess, x0, tol=1e-10, max_iter=50)
    assert res.converged and res.grad_max <= 1e-10
    assert 2 < res.n_iter < 50 and len(res.loss_curve) == res.n_iter
    # Every step decreases f, but for rounding (64 eps relative) where f
    # can no longer tell the iterates apart and the gradient decides.
    curve = np.array([fun_hess(x0)[0]] + res.loss_curve)
    assert np.all(np.diff(curve) <= 64 * np.finfo(float).eps * np.abs(curve[1:]))


def test_newton_cholesky_keeps_null_directions_fixed():
    # H is singular along `null` and f constant along it (like the common
    # shift of the intercepts of a softmax); the gradient's rounding noise
    # must not move the iterate along it: with the null space given, the
    # step along it stays at rounding level.
    p = 10
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    eig = np.geomspace(1e-2, 1.0, p)
    eig[0] = 0.0
    A = Q @ np.diag(eig) @ Q.T
    null = Q[:, :1]
    x_star = Q[:, 1:] @ rng.normal(size=p - 1)
    noise = np.random.default_rng(6)

    def fun_hess(x):
        e = x - x_star
        g = A @ e + 1e-15 * noise.normal(size=p)
        return 0.5 * e @ A @ e, g, A

    res = newton_cholesky(
        fun_hess, np.zeros(p), tol=1e-12, max_iter=20, null_space=null
    )
    assert res.converged
    assert abs(float(null[:, 0] @ res.x)) < 1e-12
    np.testing.assert_allclose(res.x, x_star, atol=1e-11)
    # Without it, the singular system still gives a finite step (ridge).
    res = newton_cholesky(fun_hess, np.zeros(p), tol=1e-10, max_iter=20)
    assert np.isfinite(res.x).all()


def test_newton_cholesky_max_iter_0_and_callback_stop():
    fun_hess = _log_cosh_problem(p=5, seed=4)
    x0 = np.full(5, 3.0)
    res = newton_cholesky(fun_hess, x0, tol=1e-12, max_iter=0)
    assert res.n_iter == 0 and not res.converged
    np.testing.assert_array_equal(res.x, x0)
    seen = []
    res = newton_cholesky(
        fun_hess,
        x0,
        tol=1e-12,
        max_iter=50,
        callback=lambda w, f, g: seen.append(g) or True,
    )
    assert res.stopped_by_callback and res.n_iter == 1 and len(seen) == 1


def test_large_cholesky_solves_run_in_the_private_single_threaded_blas(
    monkeypatch, private_blas
):
    # scipy's Cholesky threads from ~100 parameters (0.7-3.7 ms of CPU per
    # solve as shipped on busy cores); while BLAS may thread, such systems
    # go to the private single-threaded OpenBLAS, with scipy's solution.
    from threadpoolctl import threadpool_limits

    from sk_softmax import _fit

    lib = private_blas
    rng = np.random.default_rng(7)
    A = rng.normal(size=(130, 400))
    H, g = A @ A.T / 400, rng.normal(size=130)
    calls = []
    posv = type(lib).posv
    monkeypatch.setattr(
        type(lib), "posv", lambda self, M, b: calls.append(M.shape) or posv(self, M, b)
    )
    # Where numpy's BLAS may thread (forced: a one-core machine's may not),
    # the fit's execution plan hands Newton-Cholesky the private solve.
    with monkeypatch.context() as threads_allowed:
        threads_allowed.setattr(_fit, "chunk_workers", lambda n: min(n, 2))
        solve = _fit.ExecutionPlan.decide(large_solves=True).cholesky_solve
    p, r_norm = cholesky_direction(H, g, None, solve)
    np.testing.assert_allclose(H @ p, -g, rtol=1e-9, atol=1e-10)
    assert r_norm() < 1e-9
    assert calls == [(130, 130)]
    calls.clear()
    with threadpool_limits(1):  # scipy's, now single-threaded
        single = _fit.ExecutionPlan.decide(large_solves=True).cholesky_solve
        p1, _ = cholesky_direction(H, g, None, single)
    assert calls == []
    np.testing.assert_allclose(p1, p, rtol=1e-10, atol=1e-12)
    # Small systems stay with scipy's (one ctypes call costs more there).
    cholesky_direction(H[:60, :60], g[:60], None, solve)
    assert calls == []
    # Not positive definite: the ridge retry still happens.
    M = np.zeros((130, 130))
    p0, _ = cholesky_direction(M, g, None, solve)
    assert np.all(np.isfinite(p0))


# ------------------------------------------------ Newton's Armijo line search
def test_newton_armijo_rejects_a_step_that_raises_f_slightly():
    """``f(w) = sqrt(1 + w^2)``: Newton's step from ``w`` lands at ``-w^3``.
    From ``w0 = 1 + 5e-5`` the full step raises ``f`` by about
    ``1.4 * 5e-5`` (less than ``1e-4 |slope|``): the Armijo test (sufficient
    *decrease*) rejects it and the accepted step lowers ``f``."""

    def fun_hess(w):
        s = np.sqrt(1.0 + w**2)
        return s.sum(), w / s, np.diag(1.0 / s**3)

    w0 = np.array([1.0 + 5e-5])
    f0 = fun_hess(w0)[0]
    assert fun_hess(-(w0**3))[0] > f0  # the full Newton step goes uphill
    res = newton_cholesky(fun_hess, w0, tol=1e-12, max_iter=1)
    assert res.n_iter == 1
    assert res.fun < f0
