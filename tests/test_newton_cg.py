"""Jacobi-preconditioned Newton-CG (``solver="newton-cg"``) and its model."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _sklearn_versions import skip_without_array_api_dispatch
from sklearn.exceptions import ConvergenceWarning

from sk_softmax import SoftmaxRegression
from sk_softmax._fit import hessian_operator_at
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._solvers import conjugate_gradient, newton_cg


def _text_like(n=400, d=1500, K=4, nnz=12, seed=0, dtype=np.float64):
    """Sparse rows with Zipf-like column frequencies (badly scaled columns)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, d + 1) ** 0.8
    p /= p.sum()
    cols = rng.choice(d, size=n * nnz, p=p)
    rows = np.repeat(np.arange(n), nnz)
    X = sp.csr_matrix(
        (rng.exponential(1.0, n * nnz), (rows, cols)), shape=(n, d), dtype=np.float64
    )
    X.sum_duplicates()
    W = rng.normal(size=(K, d)) * 3.0
    y = np.asarray(X @ W.T + rng.gumbel(size=(n, K))).argmax(axis=1)
    return X.astype(dtype), y


def _problem(kind, dtype, fit_intercept, seed=0, chunk_size=None):
    rng = np.random.default_rng(seed)
    if kind == "wide-sparse":  # n K <= n_params: probabilities are kept
        X, y = _text_like(n=60, d=300, K=4, nnz=10, dtype=dtype, seed=seed)
    elif kind == "narrow-sparse":  # n K > n_params: recomputed per product
        X = sp.random(300, 12, density=0.3, random_state=seed, format="csr")
        X = X.astype(dtype)
        y = rng.integers(0, 4, size=300)
    else:
        X = rng.normal(size=(80, 7)).astype(dtype)
        y = rng.integers(0, 4, size=80)
    sw = rng.uniform(0.5, 2.0, size=X.shape[0])
    obj = ChunkedSoftmaxCrossEntropy(
        X,
        y,
        4,
        sample_weight=sw,
        C=0.7,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
    )
    return obj, rng


@pytest.mark.parametrize("kind", ["wide-sparse", "narrow-sparse", "dense"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("chunk_size", [None, 7])  # 7: chunks on worker threads
def test_newton_model_products_and_diagonal_match_the_dense_hessian(
    kind, dtype, fit_intercept, chunk_size
):
    obj, rng = _problem(kind, dtype, fit_intercept, chunk_size=chunk_size)
    w = rng.normal(size=obj.n_params) * 0.3
    _, _, H = obj.loss_gradient_hessian(w)  # independent: the dense Hessian
    model = obj.newton_model(w)
    order = model.layout
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    for _ in range(3):
        v = rng.normal(size=obj.n_params)
        u = order.to_model(v)
        np.testing.assert_array_equal(order.to_flat(u), v)  # a permutation
        Hv = order.to_flat(model.hessp(u))
        np.testing.assert_allclose(Hv, H @ v, rtol=rtol, atol=rtol * np.abs(H).max())
    np.testing.assert_allclose(
        order.to_flat(model.diagonal), np.diag(H), rtol=rtol, atol=1e-300
    )


def test_preconditioned_cg_solves_a_badly_scaled_system_in_fewer_products():
    # H = D^(1/2) A D^(1/2) with A well conditioned and D spanning 1e-4..1:
    # Jacobi undoes most of the spread. Truth: the dense solve.
    rng = np.random.default_rng(0)
    p = 60
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    A = Q @ np.diag(np.linspace(1, 3, p)) @ Q.T
    s = np.sqrt(np.geomspace(1e-4, 1.0, p))
    H = s[:, None] * A * s[None, :]
    g = rng.normal(size=p) * 1e-6  # forcing term: ||g + H x|| <= 1e-3 ||g||
    gnorm = np.linalg.norm(g)
    x_star = np.linalg.solve(H, -g)
    counts = {}
    for name, inv in [("plain", None), ("jacobi", 1.0 / np.diag(H))]:
        x, r_norm, k = conjugate_gradient(
            lambda v: H @ v, g, gtol=1e-20, max_cg=1000, inv_diag=inv
        )
        true_r = np.linalg.norm(g + H @ x)
        assert r_norm == pytest.approx(true_r, rel=1e-6)
        assert true_r <= np.sqrt(gnorm) * gnorm  # the forcing term was met
        # the H-norm error of a CG iterate is at most the residual's scale
        err = x - x_star
        assert np.sqrt(err @ H @ err) <= true_r / np.sqrt(np.linalg.eigvalsh(H)[0])
        assert g @ x < 0  # a descent direction
        counts[name] = k
    assert counts["jacobi"] < counts["plain"] / 2, counts


@pytest.mark.parametrize("kind", ["wide-sparse", "dense"])
def test_jacobi_newton_cg_reaches_tol_and_the_lbfgs_optimum(kind):
    obj, _ = _problem(kind, np.float64, True)
    res = newton_cg(
        obj.loss_gradient,
        hessian_operator_at(obj),
        np.zeros(obj.n_params),
        tol=1e-10,
        max_iter=100,
    )
    assert res.converged and res.grad_max <= 1e-10
    _, g = obj.loss_gradient(res.x)
    assert np.abs(g).max() <= 1e-10  # optimality, recomputed


@pytest.mark.parametrize(
    "data",
    ["text", "digits-sparse", "dense"],
)
def test_newton_cg_and_lbfgs_reach_the_same_optimum_at_tol_1e_10(data):
    rng = np.random.default_rng(1)
    if data == "text":
        X, y = _text_like()
    elif data == "digits-sparse":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = sp.csr_matrix(X / 16.0)
    else:
        X = rng.normal(size=(300, 20))
        y = (X[:, :3] @ rng.normal(size=(3, 3)) + rng.gumbel(size=(300, 3))).argmax(1)
    sw = rng.uniform(0.5, 2.0, size=X.shape[0])
    ncg = SoftmaxRegression(solver="newton-cg", tol=1e-10).fit(X, y, sample_weight=sw)
    lbfgs = SoftmaxRegression(solver="lbfgs", tol=1e-10, max_iter=5000).fit(
        X, y, sample_weight=sw
    )
    assert ncg.solver_ == "newton-cg"
    # the same minimiser of a strongly convex objective (C < inf)
    scale = max(1.0, np.abs(lbfgs.coef_).max())
    np.testing.assert_allclose(ncg.coef_, lbfgs.coef_, atol=1e-6 * scale)
    np.testing.assert_allclose(ncg.intercept_, lbfgs.intercept_, atol=1e-6 * scale)
    assert ncg.loss_curve_[-1] <= lbfgs.loss_curve_[-1] + 1e-12


def test_auto_runs_newton_cg_on_wide_sparse_data_only():
    X, y = _text_like()
    assert SoftmaxRegression().fit(X, y).solver_ == "newton-cg"
    assert SoftmaxRegression().fit(X.toarray(), y).solver_ == "lbfgs"
    # narrow sparse data (n K > n_params) keep L-BFGS
    rng = np.random.default_rng(0)
    Xn = sp.random(3000, 40, density=0.2, random_state=0, format="csr")
    yn = rng.integers(0, 3, size=3000)
    assert SoftmaxRegression().fit(Xn, yn).solver_ == "lbfgs"
    assert SoftmaxRegression(solver="lbfgs").fit(X, y).solver_ == "lbfgs"


def test_float32_sparse_stays_float32_and_agrees_with_float64():
    X, y = _text_like()
    X32 = X.astype(np.float32)
    obj = ChunkedSoftmaxCrossEntropy(X32, y, 4)
    model = obj.newton_model(np.zeros(obj.n_params))
    assert obj.dtype == np.float32 and obj.X.dtype == np.float32
    assert model.diagonal.dtype == np.float64  # returned to the solver
    clf32 = SoftmaxRegression(tol=1e-5).fit(X32, y)
    clf64 = SoftmaxRegression(tol=1e-5).fit(X, y)
    assert clf32.solver_ == clf64.solver_ == "newton-cg"
    assert clf32.coef_.dtype == np.float32
    np.testing.assert_allclose(
        clf32.predict_proba(X32), clf64.predict_proba(X), atol=1e-4
    )


def test_zero_columns_and_no_penalty_do_not_break_the_preconditioner():
    # A column that is zero everywhere has a zero Hessian row with C=inf;
    # its weights must stay 0 and the fit converge.
    X, y = _text_like()
    X = X.tolil()
    X[:, 5] = 0.0
    X = X.tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxRegression(solver="newton-cg", C=1e4, tol=1e-6).fit(X, y)
    np.testing.assert_array_equal(clf.coef_[:, 5], 0.0)
    assert np.isfinite(clf.coef_).all()


def test_max_iter_and_warm_start():
    X, y = _text_like()
    with pytest.warns(ConvergenceWarning, match="newton-cg.*after 1 iterations"):
        clf = SoftmaxRegression(solver="newton-cg", max_iter=1).fit(X, y)
    assert clf.n_iter_ == 1
    clf.set_params(max_iter=100, warm_start=True, tol=1e-8).fit(X, y)
    full = SoftmaxRegression(solver="newton-cg", tol=1e-8).fit(X, y)
    np.testing.assert_allclose(clf.coef_, full.coef_, atol=1e-6)


def test_array_api_input_runs_plain_newton_cg_to_the_same_optimum():
    # The Array API backend has no diagonal: plain conjugate gradients, in the
    # flat order; same optimum as the numpy path's preconditioned run.
    skip_without_array_api_dispatch()
    xps = pytest.importorskip("array_api_strict")
    import sklearn

    from sk_softmax._sklearn_compat import move_to

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 5))
    y = (X[:, :2] @ rng.normal(size=(2, 3)) + rng.gumbel(size=(120, 3))).argmax(1)
    ref = SoftmaxRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegression(solver="newton-cg", tol=1e-10).fit(
            xps.asarray(X), xps.asarray(y)
        )
        coef = move_to(clf.coef_, xp=np, device="cpu")
        intercept = move_to(clf.intercept_, xp=np, device="cpu")
    assert clf.solver_ == "newton-cg"
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(intercept, ref.intercept_, atol=1e-8)


@pytest.mark.parametrize("jacobi", [True, False])
def test_cg_directions_below_1e_154_do_not_divide_by_an_underflowed_norm(jacobi):
    # Issue 20: d.d underflows to 0 once max|d| < 1e-154 (a Newton direction
    # ~ g / H with C=1e-200 or features of 1e150): ZeroDivisionError. On a
    # diagonal H the CG, plain (the L-BFGS finish's) or Jacobi-preconditioned,
    # is exact in one product: p = -g / h.
    h = np.array([1e200, 3e200, 2e200])
    g = np.array([1.0, -2.0, 0.5])
    if not jacobi:  # plain CG: d = -g itself is tiny
        h, g = h * 1e-200, g * 1e-160
    hessp = lambda v: h * v  # noqa: E731
    p, r_norm, _ = conjugate_gradient(
        hessp, g, gtol=0.0, max_cg=10, inv_diag=1 / h if jacobi else None
    )
    np.testing.assert_allclose(p, -g / h, rtol=1e-14)


@pytest.mark.parametrize("C, scale", [(1e-200, 1.0), (1e-170, 1.0), (1.0, 1e150)])
def test_extreme_C_or_feature_scale_behaves_as_newton_cholesky(C, scale):
    # Issue 20: newton-cg raised a bare ZeroDivisionError here. Now the same
    # model as newton-cholesky (whose linear solve has no such division),
    # with the same ConvergenceWarning where that one warns.
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X * scale
    models = {}
    for solver in ("newton-cg", "newton-cholesky"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            models[solver] = SoftmaxRegression(solver=solver, C=C).fit(X, y)
        models[solver + " warned"] = any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        )
    assert models["newton-cg warned"] == models["newton-cholesky warned"]
    cg, chol = models["newton-cg"], models["newton-cholesky"]
    assert np.all(np.isfinite(cg.coef_)) and np.abs(cg.coef_).max() > 0
    if C < 1:  # converged: the same optimum (coef ~ 1e-198)
        np.testing.assert_allclose(cg.coef_, chol.coef_, rtol=1e-6)
    else:  # the solvers stop at different points of a flat objective
        assert np.mean(cg.predict(X) == y) == np.mean(chol.predict(X) == y)
