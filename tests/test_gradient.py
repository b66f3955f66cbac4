"""The analytic gradient of the objective against independent truths."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import check_grad
from scipy.special import log_softmax

from sk_softmax._objective import ChunkedSoftmaxCrossEntropy


def _problem(sparse=False, weighted=False, seed=0, n=40, d=6, K=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random(X.shape) < 0.4] = 0.0
    y = rng.integers(0, K, size=n)
    sw = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return (sp.csr_matrix(X) if sparse else X), X, y, sw, K


def _fd_error(obj, w):
    """||analytic - finite-difference gradient|| at w."""
    return check_grad(
        lambda v: obj.loss_gradient(v)[0], lambda v: obj.loss_gradient(v)[1], w
    )


def _reference_loss(Xd, y, sw, K, w, C, fit_intercept):
    """The objective written directly from its definition (no chunks)."""
    d = Xd.shape[1]
    Wb = w.reshape(K, d + int(fit_intercept))
    W = Wb[:, :d]
    b = Wb[:, d] if fit_intercept else 0.0
    sw = np.ones(len(y)) if sw is None else sw
    nll = -log_softmax(Xd @ W.T + b, axis=1)[np.arange(len(y)), y]
    penalty = 0.0 if np.isinf(C) else np.sum(W**2) / (2 * C)
    return (sw @ nll + penalty) / sw.sum()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.5, np.inf])
def test_gradient_matches_finite_differences(sparse, weighted, fit_intercept, C):
    X, Xd, y, sw, K = _problem(sparse, weighted)
    obj = ChunkedSoftmaxCrossEntropy(
        X, y, K, sample_weight=sw, C=C, fit_intercept=fit_intercept, chunk_size=7
    )
    rng = np.random.default_rng(1)
    for _ in range(3):
        w = rng.normal(size=obj.n_params)
        loss, grad = obj.loss_gradient(w)
        ref = _reference_loss(Xd, y, sw, K, w, C, fit_intercept)
        assert loss == pytest.approx(ref, rel=1e-12)
        assert obj.loss(w) == pytest.approx(ref, rel=1e-12)
        err = _fd_error(obj, w)
        assert err < 1e-6 * max(1.0, np.linalg.norm(grad))


def test_hand_worked_two_samples():
    # X = [[1], [-1]], y = [0, 1], K = 2, at W = 0, b = 0: p = (1/2, 1/2) for
    # both samples, so the loss is log 2 and
    #   dL/dW = (P - Y)^T X / n = [[-1/2 * 1 + 1/2 * -1], [1/2 * 1 - 1/2 * -1]] / 2
    #         = [[-1/2], [1/2]],   dL/db = sum_i (p_i - y_i) / n = [0, 0].
    obj = ChunkedSoftmaxCrossEntropy(
        np.array([[1.0], [-1.0]]), np.array([0, 1]), 2, C=np.inf
    )
    loss, grad = obj.loss_gradient(np.zeros(4))
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(grad.reshape(2, 2), [[-0.5, 0.0], [0.5, 0.0]])
    # At W = [[-a], [a]]: z = (-a, a) for x = 1, so p_1 = sigmoid(2a) and the
    # loss of sample 0 is log(1 + exp(2a)); by symmetry sample 1 has the same.
    a = 0.3
    loss, _ = obj.loss_gradient(np.array([-a, 0.0, a, 0.0]))
    assert loss == pytest.approx(np.log1p(np.exp(2 * a)))
    # With the penalty 1/(2 C S) ||W||^2, S = 2:
    pen = ChunkedSoftmaxCrossEntropy(
        np.array([[1.0], [-1.0]]), np.array([0, 1]), 2, C=0.5
    )
    assert pen.loss_gradient(np.array([-a, 0.0, a, 0.0]))[0] == pytest.approx(
        np.log1p(np.exp(2 * a)) + (2 * a**2) / (2 * 0.5 * 2)
    )


def test_extreme_scores_stay_finite():
    # exp(1000) overflows; the max shift inside the exponential avoids it.
    X = np.array([[1000.0], [-1000.0]])
    obj = ChunkedSoftmaxCrossEntropy(
        X, np.array([0, 1]), 2, C=np.inf, fit_intercept=False
    )
    loss, grad = obj.loss_gradient(np.array([-1.0, 1.0]))  # confidently wrong
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(2000.0)
    loss, grad = obj.loss_gradient(np.array([1.0, -1.0]))  # confidently right
    assert loss == pytest.approx(0.0, abs=1e-300)
    np.testing.assert_allclose(grad, 0.0, atol=1e-300)


@pytest.mark.parametrize("sparse", [False, True])
def test_soft_targets_and_label_smoothing_gradients(sparse):
    X, Xd, y, sw, K = _problem(sparse, weighted=True, seed=3)
    rng = np.random.default_rng(4)
    Y = rng.dirichlet(np.ones(K), size=len(y))
    for obj in (
        ChunkedSoftmaxCrossEntropy(X, Y, K, sample_weight=sw, C=2.0, chunk_size=9),
        ChunkedSoftmaxCrossEntropy(
            X, y, K, sample_weight=sw, C=2.0, label_smoothing=0.1
        ),
    ):
        w = rng.normal(size=obj.n_params)
        err = _fd_error(obj, w)
        assert err < 1e-6
    # Label smoothing is the same objective as the smoothed one-hot targets.
    eps = 0.2
    smooth = ChunkedSoftmaxCrossEntropy(X, y, K, sample_weight=sw, label_smoothing=eps)
    explicit = ChunkedSoftmaxCrossEntropy(
        X, (1 - eps) * np.eye(K)[y] + eps / K, K, sample_weight=sw
    )
    w = rng.normal(size=smooth.n_params)
    f1, g1 = smooth.loss_gradient(w)
    f2, g2 = explicit.loss_gradient(w)
    assert f1 == pytest.approx(f2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, atol=1e-14)


def test_hessian_vector_product_matches_gradient_differences():
    X, _, y, sw, K = _problem(weighted=True, seed=5)
    obj = ChunkedSoftmaxCrossEntropy(X, y, K, sample_weight=sw, C=1.5, chunk_size=11)
    rng = np.random.default_rng(6)
    w, v = rng.normal(size=obj.n_params), rng.normal(size=obj.n_params)
    grad, hessp = obj.gradient_hessian_product(w)
    h = 1e-6
    fd = (obj.loss_gradient(w + h * v)[1] - obj.loss_gradient(w - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(hessp(v), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad, obj.loss_gradient(w)[1])


def test_lipschitz_bound_bounds_the_hessian():
    for scale, d in [(1.0, 5), (100.0, 5), (1.0, 3000)]:
        rng = np.random.default_rng(7)
        X = rng.normal(scale, 1.0, size=(60, d))
        y = rng.integers(0, 3, size=60)
        obj = ChunkedSoftmaxCrossEntropy(X, y, 3, C=1.0)
        L = obj.lipschitz_bound()
        # Largest Hessian eigenvalue, by power iteration on random points.
        for _ in range(3):
            _, hessp = obj.gradient_hessian_product(
                rng.normal(size=obj.n_params) * 0.01
            )
            v = rng.normal(size=obj.n_params)
            for _ in range(50):
                v = hessp(v)
                v /= np.linalg.norm(v)
            assert v @ hessp(v) <= L * (1 + 1e-9)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.5, np.inf])
@pytest.mark.parametrize("targets", ["labels", "soft", "smoothed"])
@pytest.mark.parametrize("K", [2, 4])
# chunk_size=None: one block, X~ kept between passes (dense); 7: blocks.
@pytest.mark.parametrize("chunk_size", [7, None])
def test_dense_hessian_matches_finite_differences(
    sparse, fit_intercept, C, targets, K, chunk_size
):
    X, Xd, y, sw, K = _problem(sparse, weighted=True, seed=8, K=K)
    rng = np.random.default_rng(9)
    target = rng.dirichlet(np.ones(K), size=len(y)) if targets == "soft" else y
    obj = ChunkedSoftmaxCrossEntropy(
        X,
        target,
        K,
        sample_weight=sw,
        C=C,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
        label_smoothing=0.1 if targets == "smoothed" else 0.0,
    )
    w = rng.normal(size=obj.n_params)
    loss, grad, H = obj.loss_gradient_hessian(w)
    # Loss and gradient: those of loss_gradient (the same objective).
    ref_loss, ref_grad = obj.loss_gradient(w)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    # Hessian: central differences of the gradient, column by column.
    h = 1e-6
    fd = np.column_stack(
        [
            (obj.loss_gradient(w + h * e)[1] - obj.loss_gradient(w - h * e)[1])
            / (2 * h)
            for e in np.eye(obj.n_params)
        ]
    )
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-15)
    # ... and the Hessian-vector products of the Newton-CG finish.
    v = rng.normal(size=obj.n_params)
    np.testing.assert_allclose(H @ v, obj.hessian_product(w)(v), rtol=1e-10, atol=1e-13)
    # The invariant directions are null directions of H, orthogonal to g.
    N = obj.invariant_directions()
    assert N.shape[1] == int(fit_intercept) + (Xd.shape[1] if np.isinf(C) else 0)
    if N.size:
        np.testing.assert_allclose(N.T @ N, np.eye(N.shape[1]), atol=1e-15)
        np.testing.assert_allclose(H @ N, 0.0, atol=1e-14)
        np.testing.assert_allclose(grad @ N, 0.0, atol=1e-14)
        shifted = w + N @ rng.normal(size=N.shape[1])
        assert obj.loss(shifted) == pytest.approx(obj.loss(w), rel=1e-12)


def test_dense_hessian_of_float32_data_is_float64_and_close():
    X, _, y, sw, K = _problem(weighted=True, seed=10)
    obj64 = ChunkedSoftmaxCrossEntropy(X, y, K, sample_weight=sw)
    obj32 = ChunkedSoftmaxCrossEntropy(X.astype(np.float32), y, K, sample_weight=sw)
    w = np.random.default_rng(11).normal(size=obj64.n_params)
    _, g64, H64 = obj64.loss_gradient_hessian(w)
    _, g32, H32 = obj32.loss_gradient_hessian(w)
    assert H32.dtype == g32.dtype == np.float64
    np.testing.assert_allclose(H32, H64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.5, np.inf])
@pytest.mark.parametrize("targets", ["labels", "soft", "smoothed"])
@pytest.mark.parametrize("chunk_size", [7, None])
def test_binary_objective_is_the_full_one_on_the_rows_difference(
    sparse, fit_intercept, C, targets, chunk_size
):
    # Two classes, rows [-v/2 + u_b, v/2 + u_b]: f_r(v) = f(w), grad f_r =
    # class 1's rows of grad f (class 0's: the negative), and
    # H_r = M^T H M with w = M v (M = [-I/2; I/2]).
    X, _, y, sw, K = _problem(sparse, weighted=True, seed=12, K=2)
    rng = np.random.default_rng(13)
    target = rng.dirichlet(np.ones(2), size=len(y)) if targets == "soft" else y
    obj = ChunkedSoftmaxCrossEntropy(
        X,
        target,
        2,
        sample_weight=sw,
        C=C,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
        label_smoothing=0.1 if targets == "smoothed" else 0.0,
    )
    binary = obj.binary()
    p = obj.n_params // 2
    v = rng.normal(size=p)
    w0 = rng.normal(size=obj.n_params)
    w = binary.to_full(v, w0)
    Wb = w.reshape(2, p)
    np.testing.assert_allclose(Wb[1] - Wb[0], v, rtol=1e-15, atol=1e-15)
    if fit_intercept:  # the intercepts' common shift of w0 is kept
        assert Wb[:, -1].sum() == pytest.approx(w0[p - 1] + w0[-1], rel=1e-14)
        w[[p - 1, -1]] -= 0.5 * (w0[p - 1] + w0[-1]) - 0.3  # any shift
    np.testing.assert_array_equal(binary.from_full(w), w[p:] - w[:p])
    loss_r, grad_r, H_r = binary.loss_gradient_hessian(v)
    loss, grad, H = obj.loss_gradient_hessian(w)
    assert loss_r == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(grad_r, grad[p:], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(-grad_r, grad[:p], rtol=1e-11, atol=1e-14)
    M = np.vstack([-0.5 * np.eye(p), 0.5 * np.eye(p)])
    np.testing.assert_allclose(H_r, M.T @ H @ M, rtol=1e-11, atol=1e-14)
    # A start whose weight rows are not opposite has no such v.
    assert binary.from_full(rng.normal(size=obj.n_params)) is None
    assert ChunkedSoftmaxCrossEntropy(X, rng.integers(0, 3, len(y)), 3).binary() is None
