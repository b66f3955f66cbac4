"""L1 and elastic-net penalties (``l1_ratio``): the penalty, its solvers, parity.

Independent truths: ``LogisticRegression(solver="saga")`` at a tight ``tol``
(objectives computed by one function, :func:`objective`, written here), the
optimality conditions checked entry by entry, the two full-batch solvers
(OWL-QN and FISTA) against each other, and finite differences.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

# LogisticRegression with 1.8's l1_ratio meaning on every scikit-learn version.
from _sklearn_versions import lr_l1, skip_without_array_api_dispatch
from scipy.special import logsumexp
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._penalty import ElasticNetPenalty, L2Penalty, penalty_from_C
from sk_softmax._solvers import fista, owlqn


def objective(coef, intercept, X, y, C, l1_ratio, sample_weight=None):
    """``LogisticRegression``'s multinomial objective, in float64, from scratch.

    ``sum_i s_i CE_i + (l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2) / C``.
    """
    W = np.asarray(coef, dtype=np.float64)
    Z = np.asarray(X, dtype=np.float64) @ W.T + np.asarray(intercept, np.float64)
    ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    pen = l1_ratio * np.abs(W).sum() + 0.5 * (1 - l1_ratio) * (W**2).sum()
    return float(sw @ ce + pen / C)


def smooth_gradient(coef, intercept, X, y, C, l1_ratio, sample_weight=None):
    """Gradient of the smooth part (data term and L2 part), not mean-scaled."""
    Z = X @ coef.T + intercept
    P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    P[np.arange(len(y)), y] -= 1.0
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    R = P * sw[:, None]
    return R.T @ X + (1 - l1_ratio) / C * coef, R.sum(axis=0)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    return X, y, sw


# ------------------------------------------------------------------ penalty
def test_penalty_from_C():
    assert type(penalty_from_C(1.0, 10.0)) is L2Penalty
    assert type(penalty_from_C(np.inf, 10.0, 1.0)) is L2Penalty  # no penalty
    assert penalty_from_C(np.inf, 10.0, 1.0).strength == 0
    pen = penalty_from_C(0.5, 10.0, 0.3)
    assert isinstance(pen, ElasticNetPenalty)
    assert pen.l1 == pytest.approx(0.3 / 5.0)
    assert pen.strength == pytest.approx(0.7 / 5.0)


def test_prox_is_soft_thresholding():
    pen = ElasticNetPenalty(l1=0.5, l2=0.0)
    W = np.array([[-2.0, -0.4, 0.0], [0.3, 0.5, 1.5]])
    pen.prox(W, 2.0)  # threshold 1
    np.testing.assert_array_equal(W, [[-1.0, 0.0, 0.0], [0.0, 0.0, 0.5]])


def test_prox_minimises_its_problem():
    # prox_{t h}(v) = argmin_w h(w) + ||w - v||^2 / (2 t), entry by entry
    pen = ElasticNetPenalty(l1=0.7, l2=0.0)
    rng = np.random.default_rng(0)
    v = rng.standard_normal((3, 5))
    t = 0.9
    W = pen.prox(v.copy(), t)
    grid = np.linspace(-4, 4, 80001)
    for j, vj in enumerate(v.ravel()):
        best = grid[np.argmin(t * 0.7 * np.abs(grid) + 0.5 * (grid - vj) ** 2)]
        assert W.ravel()[j] == pytest.approx(best, abs=2e-4)


def test_min_norm_subgradient():
    pen = ElasticNetPenalty(l1=1.0, l2=0.0)
    W = np.array([[0.0, 0.0, 0.0, 2.0, -1.0]])
    G = np.array([[0.5, -3.0, 1.5, 0.25, 0.25]])
    expected = [[0.0, -2.0, 0.5, 1.25, -0.75]]
    np.testing.assert_allclose(pen.min_norm_subgradient(G, W), expected)
    out = G.copy()
    pen.min_norm_subgradient(out, W, out=out)
    np.testing.assert_allclose(out, expected)


def test_smooth_part_gradient_finite_differences(wine):
    X, y, sw = wine
    obj = ChunkedSoftmaxCrossEntropy(X, y, 3, sample_weight=sw, C=0.3, l1_ratio=0.6)
    assert obj.nonsmooth
    w = np.random.default_rng(1).standard_normal(obj.n_params) * 0.3
    _, g = obj.loss_gradient(w)
    eps = 1e-6
    for j in [0, 5, 13, 20, obj.n_params - 1]:
        e = np.zeros_like(w)
        e[j] = eps
        fd = (obj.loss_gradient(w + e)[0] - obj.loss_gradient(w - e)[0]) / (2 * eps)
        assert g[j] == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # the whole objective is the smooth part plus the L1 part, mean-scaled
    W, b = obj.unpack(w)
    ref = objective(W, b, X, y, 0.3, 0.6, sw) / sw.sum()
    assert obj.loss(w) == pytest.approx(ref, rel=1e-12)


def test_intercepts_not_penalised(wine):
    X, y, sw = wine
    obj = ChunkedSoftmaxCrossEntropy(X, y, 3, C=0.3, l1_ratio=1.0)
    mask = obj.penalized_mask()
    W_mask, b_mask = obj.unpack(mask)
    assert W_mask.all() and not b_mask.any()
    w = np.ones(obj.n_params)
    obj.prox(w, 1e6)  # threshold far above 1: every weight becomes 0
    W, b = obj.unpack(w)
    assert not W.any()
    np.testing.assert_array_equal(b, 1.0)


# ------------------------------------------------------------ estimator API
def test_l1_ratio_parameter():
    assert SoftmaxRegression().get_params()["l1_ratio"] == 0.0
    assert SoftmaxRegression(l1_ratio=0.5).get_params()["l1_ratio"] == 0.5
    X, y = load_iris(return_X_y=True)
    for bad in [-0.1, 1.5, "l1"]:
        with pytest.raises(ValueError, match="l1_ratio"):
            SoftmaxRegression(l1_ratio=bad).fit(X, y)


@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
def test_newton_solvers_refuse_l1(solver):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=f"{solver}.*l1_ratio"):
        SoftmaxRegression(solver=solver, l1_ratio=0.5).fit(X, y)
    # C=inf: no penalty, so no L1 part: Newton runs
    SoftmaxRegression(solver="newton-cholesky", l1_ratio=0.5, C=np.inf).fit(
        StandardScaler().fit_transform(X), y
    )


def test_auto_runs_owlqn_with_l1():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    assert SoftmaxRegression().fit(X, y).solver_ == "newton-cholesky"
    assert SoftmaxRegression(l1_ratio=1.0).fit(X, y).solver_ == "lbfgs"
    # Wide sparse data: "auto" is Newton-CG for the smooth penalty only.
    rng = np.random.default_rng(0)
    Xs = sp.random(60, 400, density=0.05, format="csr", random_state=rng)
    ys = rng.integers(0, 3, 60)
    assert SoftmaxRegression().fit(Xs, ys).solver_ == "newton-cg"
    assert SoftmaxRegression(l1_ratio=0.5).fit(Xs, ys).solver_ == "lbfgs"


def test_C_inf_ignores_l1_ratio():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    a = SoftmaxRegression(C=np.inf, l1_ratio=1.0, solver="lbfgs").fit(X[:100], y[:100])
    b = SoftmaxRegression(C=np.inf, l1_ratio=0.0, solver="lbfgs").fit(X[:100], y[:100])
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("params", [{}, {"l1_ratio": 0.0}], ids=["default", "0"])
def test_l1_ratio_zero_is_l2(reference, params):
    """The model is the optimum of the L2-only objective: its gradient (the
    float64 reference of conftest.py, no L1 term) vanishes there."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = SoftmaxRegression(solver="lbfgs", tol=1e-10, **params).fit(X, y)
    w = np.hstack([clf.coef_, clf.intercept_[:, None]]).ravel()
    _, grad = reference.loss_gradient(X, y, np.ones(len(y)), 1.0, True, w, k=3)
    assert np.abs(grad).max() <= 1e-8


# ---------------------------------------------------------------- parity
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("C", [0.05, 0.5])
def test_same_model_as_saga(wine, l1_ratio, C):
    X, y, sw = wine
    lr = lr_l1(solver="saga", C=C, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000).fit(
        X, y, sample_weight=sw
    )
    clf = SoftmaxRegression(C=C, l1_ratio=l1_ratio, tol=1e-9).fit(
        X, y, sample_weight=sw
    )
    f_lr = objective(lr.coef_, lr.intercept_, X, y, C, l1_ratio, sw)
    f_us = objective(clf.coef_, clf.intercept_, X, y, C, l1_ratio, sw)
    assert abs(f_us - f_lr) <= 1e-9 * abs(f_lr)
    # the same weights are zero, the others agree
    np.testing.assert_array_equal(clf.coef_ == 0, lr.coef_ == 0)
    np.testing.assert_allclose(clf.coef_, lr.coef_, atol=1e-5)
    # its loss_curve_ ends at the same (mean-scaled) objective
    assert clf.loss_curve_[-1] * sw.sum() == pytest.approx(f_us, rel=1e-12)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_optimality_conditions(wine, solver, l1_ratio):
    """Zero weights: |grad| <= penalty weight; non-zeros: grad = -weight sign."""
    X, y, sw = wine
    C, tol = 0.2, 1e-8
    clf = SoftmaxRegression(
        C=C, l1_ratio=l1_ratio, solver=solver, tol=tol, max_iter=100000
    ).fit(X, y, sample_weight=sw)
    W, b = clf.coef_, clf.intercept_
    GW, gb = smooth_gradient(W, b, X, y, C, l1_ratio, sw)
    lam = l1_ratio / C
    S = sw.sum()  # tol bounds the mean-scaled objective's subgradient
    zero = W == 0
    assert 0.2 < zero.mean() < 0.9  # the case is not trivial
    assert np.all(np.abs(GW[zero]) <= lam + tol * S)
    np.testing.assert_allclose(
        GW[~zero], -lam * np.sign(W[~zero]), rtol=0, atol=tol * S
    )
    np.testing.assert_allclose(gb, 0.0, atol=tol * S)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_fista_and_owlqn_agree(wine, l1_ratio):
    X, y, _ = wine
    kw = dict(C=0.1, l1_ratio=l1_ratio, tol=1e-9, max_iter=100000)
    a = SoftmaxRegression(solver="lbfgs", **kw).fit(X, y)
    b = SoftmaxRegression(solver="gd", **kw).fit(X, y)
    np.testing.assert_array_equal(a.coef_ == 0, b.coef_ == 0)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-6)
    fa = objective(a.coef_, a.intercept_, X, y, 0.1, l1_ratio)
    fb = objective(b.coef_, b.intercept_, X, y, 0.1, l1_ratio)
    assert fa == pytest.approx(fb, rel=1e-10)


def test_ista_without_momentum(wine):
    X, y, _ = wine
    kw = dict(C=0.1, l1_ratio=1.0, tol=1e-8, max_iter=100000)
    a = SoftmaxRegression(solver="gd", momentum=0.0, **kw).fit(X, y)
    b = SoftmaxRegression(solver="gd", **kw).fit(X, y)
    assert a.n_iter_ > 2 * b.n_iter_  # FISTA's momentum helps
    # same objective; weights to the problem's conditioning
    assert a.loss_curve_[-1] == pytest.approx(b.loss_curve_[-1], rel=1e-12)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)


def test_sample_weight_is_repetition(wine):
    X, y, _ = wine
    k = np.random.default_rng(3).integers(0, 3, len(y))
    kw = dict(C=0.1, l1_ratio=0.7, tol=1e-9)
    a = SoftmaxRegression(**kw).fit(X, y, sample_weight=k)
    b = SoftmaxRegression(**kw).fit(np.repeat(X, k, axis=0), np.repeat(y, k))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_array_equal(a.coef_ == 0, b.coef_ == 0)


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_float32_kept(wine, solver):
    X, y, _ = wine
    X32 = X.astype(np.float32)
    kw = dict(C=0.1, l1_ratio=1.0, max_iter=2000 if solver != "sgd" else 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32 = SoftmaxRegression(solver=solver, random_state=0, **kw).fit(X32, y)
        m64 = SoftmaxRegression(solver=solver, random_state=0, **kw).fit(X, y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert (m32.coef_ == 0).any()
    np.testing.assert_array_equal(m32.coef_ == 0, m64.coef_ == 0)
    # measured: at most 8.8e-7 apart (lbfgs; gd 1.6e-7, sgd 4.1e-7)
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=1e-5)


@pytest.mark.parametrize("tol", [1e-6, 1e-7])
def test_float32_owlqn_reaches_tight_tol(wine, tol):
    """Regression: OWL-QN's Armijo test could not see float32-rounded
    decreases of F and stopped at a subgradient of 1.1e-5 on float32 wine."""
    X, y, _ = wine
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxRegression(C=0.1, l1_ratio=1.0, tol=tol).fit(
            X.astype(np.float32), y
        )
    assert clf.coef_.dtype == np.float32


def test_sparse_input_same_model(wine):
    import scipy.sparse as sp

    X, y, sw = wine
    kw = dict(C=0.1, l1_ratio=0.8, tol=1e-9)
    a = SoftmaxRegression(**kw).fit(X, y, sample_weight=sw)
    b = SoftmaxRegression(**kw).fit(sp.csr_matrix(X), y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)


def test_convergence_warning(wine):
    X, y, _ = wine
    for solver in ["lbfgs", "gd"]:
        with pytest.warns(ConvergenceWarning, match="max.subgradient. = "):
            SoftmaxRegression(solver=solver, l1_ratio=1.0, C=0.1, max_iter=3).fit(X, y)


def test_warm_start_continues(wine):
    X, y, _ = wine
    kw = dict(C=0.1, l1_ratio=1.0, tol=1e-8)
    cold = SoftmaxRegression(**kw).fit(X, y)
    warm = SoftmaxRegression(warm_start=True, **kw).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 0  # already optimal: nothing to do
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-7)


# -------------------------------------------------------------------- sgd
def test_sgd_gives_exact_zeros(wine):
    X, y, _ = wine
    C = 0.1
    exact = SoftmaxRegression(C=C, l1_ratio=1.0, tol=1e-8).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd = SoftmaxRegression(
            C=C, l1_ratio=1.0, solver="sgd", random_state=0, max_iter=100
        ).fit(X, y)
    zeros = sgd.coef_ == 0
    assert zeros.mean() > 0.3
    # mostly the optimum's zeros
    assert (zeros & (exact.coef_ == 0)).sum() >= 0.8 * zeros.sum()
    f_opt = objective(exact.coef_, exact.intercept_, X, y, C, 1.0)
    f_sgd = objective(sgd.coef_, sgd.intercept_, X, y, C, 1.0)
    assert f_opt <= f_sgd <= 1.02 * f_opt


@pytest.mark.parametrize("params", [{}, {"l1_ratio": 0.0}], ids=["default", "0"])
def test_sgd_without_l1_unchanged(wine, reference, params):
    """Without L1, SGD takes plain gradient steps (no proximal step): with
    one batch an epoch and no momentum, ``w <- w - step * grad(w)`` on the
    L2 objective (the float64 reference of conftest.py)."""
    X, y, sw = wine
    C, step = 0.5, 0.2
    kw = dict(solver="sgd", learning_rate="constant", learning_rate_init=step)
    kw.update(momentum=0.0, batch_size=len(y), max_iter=5, C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxRegression(**kw, **params).fit(X, y, sample_weight=sw)
    w = np.zeros(3 * (X.shape[1] + 1))
    for _ in range(5):
        w = w - step * reference.loss_gradient(X, y, sw, C, True, w, k=3)[1]
    assert not (clf.coef_ == 0).any()
    got = np.hstack([clf.coef_, clf.intercept_[:, None]]).ravel()
    np.testing.assert_allclose(got, w, rtol=1e-11, atol=1e-14)


def test_partial_fit_gives_exact_zeros(wine):
    X, y, _ = wine
    clf = SoftmaxRegression(C=0.1, l1_ratio=1.0, random_state=0)
    for _ in range(30):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert (clf.coef_ == 0).mean() > 0.3
    exact = SoftmaxRegression(C=0.1, l1_ratio=1.0, tol=1e-8).fit(X, y)
    f_opt = objective(exact.coef_, exact.intercept_, X, y, 0.1, 1.0)
    f_pf = objective(clf.coef_, clf.intercept_, X, y, 0.1, 1.0)
    assert f_opt <= f_pf <= 1.05 * f_opt


# ------------------------------------------------------------ the solvers
def _lasso_problem():
    """A least-squares problem with a known L1 solution (orthogonal design)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    c = np.array([3.0, -2.0, 0.5, -0.2, 0.0, 1.0])
    lam = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])  # last entry unpenalised

    def fun(w):  # 0.5 ||Q w - Q c||^2 = 0.5 ||w - c||^2
        r = Q @ w - Q @ c
        return 0.5 * float(r @ r), Q.T @ r

    def h(w):
        return float(lam @ np.abs(w))

    def prox(w, t):
        w -= np.clip(w, -t * lam, t * lam)
        return w

    def subgrad(w, g):
        s = np.sign(w)
        return np.where(s != 0, g + lam * s, g - np.clip(g, -lam, lam))

    # argmin: soft thresholding of c by lam
    solution = np.sign(c) * np.maximum(np.abs(c) - lam, 0)
    return fun, h, prox, subgrad, lam > 0, solution


def test_fista_on_known_problem():
    fun, h, prox, subgrad, _, solution = _lasso_problem()
    res = fista(
        fun,
        np.zeros(6),
        nonsmooth_value=h,
        prox=prox,
        subgrad=subgrad,
        step=1.0,
        tol=1e-12,
        max_iter=100,
    )
    assert res.converged
    np.testing.assert_allclose(res.x, solution, atol=1e-12)
    np.testing.assert_array_equal(res.x == 0, solution == 0)


def test_owlqn_on_known_problem():
    fun, h, _, subgrad, penalized, solution = _lasso_problem()
    res = owlqn(
        fun,
        np.ones(6),
        nonsmooth_value=h,
        subgrad=subgrad,
        penalized=penalized,
        tol=1e-10,
        max_iter=100,
    )
    assert res.converged
    np.testing.assert_allclose(res.x, solution, atol=1e-9)
    np.testing.assert_array_equal(res.x == 0, solution == 0)


# 1e200: non-finite at the first (plain) step; 10: after ~120 iterations, first
# at an extrapolated point (the two places that detect divergence)
@pytest.mark.parametrize("step", [1e200, 10.0])
def test_fista_reports_divergence(step):
    fun, h, prox, subgrad, _, _ = _lasso_problem()
    with np.errstate(over="ignore", invalid="ignore"):
        res = fista(
            fun,
            np.zeros(6),
            nonsmooth_value=h,
            prox=prox,
            subgrad=subgrad,
            step=step,
            tol=1e-12,
            max_iter=5000,
        )
    assert not res.converged
    assert "proximal gradient diverged (learning rate too large)" in res.message


# ------------------------------------------------------------- Array API
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_array_api_input_same_model(wine, solver):
    """The penalty runs on the host (flat float64 parameters): an Array API
    fit gives the numpy fit's model, zeros included, in X's namespace."""
    skip_without_array_api_dispatch()
    torch = pytest.importorskip("torch")
    import sklearn

    X, y, sw = wine
    kw = dict(C=0.1, l1_ratio=0.5, tol=1e-8, solver=solver, max_iter=100000)
    ref = SoftmaxRegression(**kw).fit(X, y, sample_weight=sw)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegression(**kw).fit(
            torch.asarray(X), torch.asarray(y), sample_weight=torch.asarray(sw)
        )
    assert isinstance(clf.coef_, torch.Tensor)
    coef = clf.coef_.numpy()
    np.testing.assert_array_equal(coef == 0, ref.coef_ == 0)
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-6)


def test_without_intercept_same_model_as_saga(wine):
    X, y, _ = wine
    C, r = 0.1, 0.7
    lr = lr_l1(
        solver="saga", C=C, l1_ratio=r, fit_intercept=False, tol=1e-12, max_iter=100000
    ).fit(X, y)
    clf = SoftmaxRegression(C=C, l1_ratio=r, fit_intercept=False, tol=1e-9).fit(X, y)
    np.testing.assert_array_equal(clf.intercept_, 0.0)
    f_lr = objective(lr.coef_, np.zeros(3), X, y, C, r)
    f_us = objective(clf.coef_, np.zeros(3), X, y, C, r)
    assert abs(f_us - f_lr) <= 1e-9 * abs(f_lr)
    np.testing.assert_array_equal(clf.coef_ == 0, lr.coef_ == 0)
