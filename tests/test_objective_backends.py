"""Every backend of the objective against one float64 reference.

Backends today: the numpy kernel on dense float64 and float32 arrays and on
CSR matrices. Each is checked against ``reference`` (conftest.py), the
objective written from its definition, and the mini-batch view, the penalty
and the sparse products against independent truths.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from sk_softmax._objective._csr import CSRChunks
from sk_softmax._penalty import L2Penalty, penalty_from_C

C = 0.7
BACKENDS = {
    "dense-float64": (False, np.float64),
    "dense-float32": (False, np.float32),
    "csr-float64": (True, np.float64),
    "csr-float32": (True, np.float32),
}


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    """``(sparse, dtype, rtol, atol)`` of one backend."""
    sparse, dtype = BACKENDS[request.param]
    tol = (1e-10, 1e-13) if dtype == np.float64 else (2e-5, 2e-6)
    return sparse, dtype, *tol


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_backend_matches_the_reference(
    backend, fit_intercept, soft, eps, make_problem, reference, build_objective
):
    sparse, dtype, rtol, atol = backend
    X, y, sw = make_problem(sparse, soft, seed=21, dtype=dtype)
    obj = build_objective(X, y, sw, fit_intercept=fit_intercept, eps=eps)
    assert obj.dtype == dtype
    rng = np.random.default_rng(22)
    w = rng.standard_normal(obj.n_params) * 0.5
    v = rng.standard_normal(obj.n_params)
    loss, grad = obj.loss_gradient(w)
    loss_ref, grad_ref = reference.loss_gradient(X, y, sw, C, fit_intercept, w, eps)
    assert isinstance(loss, float) and grad.dtype == np.float64
    np.testing.assert_allclose(loss, loss_ref, rtol=rtol)
    np.testing.assert_allclose(grad, grad_ref, rtol=rtol, atol=atol)
    hv = obj.hessian_product(w)(v)
    hv_ref = reference.hessian_product(X, y, sw, C, fit_intercept, w, v, eps)
    np.testing.assert_allclose(hv, hv_ref, rtol=rtol, atol=10 * atol)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
def test_dense_hessian_of_every_backend_matches_the_reference(
    backend, fit_intercept, soft, make_problem, reference, build_objective
):
    # loss_gradient_hessian: the backend's data Hessian plus the penalty's
    # diagonal, column by column against the reference Hessian products.
    sparse, dtype, rtol, atol = backend
    X, y, sw = make_problem(sparse, soft, seed=33, dtype=dtype)
    obj = build_objective(
        X, y, sw, fit_intercept=fit_intercept, eps=0.1, chunk_size=None
    )
    w = np.random.default_rng(34).standard_normal(obj.n_params) * 0.5
    loss, grad, H = obj.loss_gradient_hessian(w)
    loss_ref, grad_ref = reference.loss_gradient(X, y, sw, C, fit_intercept, w, 0.1)
    H_ref = np.column_stack(
        [
            reference.hessian_product(X, y, sw, C, fit_intercept, w, e, 0.1)
            for e in np.eye(obj.n_params)
        ]
    )
    assert H.dtype == grad.dtype == np.float64
    np.testing.assert_allclose(loss, loss_ref, rtol=rtol)
    np.testing.assert_allclose(grad, grad_ref, rtol=rtol, atol=atol)
    np.testing.assert_allclose(H, H_ref, rtol=rtol, atol=10 * atol)


def test_lipschitz_bound_of_every_backend(
    backend, make_problem, reference, build_objective
):
    sparse, dtype, _, _ = backend
    X, y, sw = make_problem(sparse, seed=23, dtype=dtype)
    obj = build_objective(X, y, sw)
    rng = np.random.default_rng(24)
    w = rng.standard_normal(obj.n_params) * 0.1
    H = np.column_stack(
        [
            reference.hessian_product(X, y, sw, C, True, w, e)
            for e in np.eye(obj.n_params)
        ]
    )
    assert np.linalg.eigvalsh((H + H.T) / 2)[-1] <= obj.lipschitz_bound() * (1 + 1e-6)


def test_minibatch_view_is_unbiased_and_adds_the_full_penalty(
    backend, make_problem, build_objective
):
    sparse, dtype, rtol, atol = backend
    X, y, sw = make_problem(sparse, seed=25, dtype=dtype, n=48)
    obj = build_objective(X, y, sw)
    view = obj.minibatch()
    assert view.n_samples == 48
    assert view.penalty.strength == obj.l2_reg_strength
    w = np.random.default_rng(26).standard_normal(obj.n_params) * 0.5
    f, g = obj.loss_gradient(w)
    parts = [view(w, rows) for rows in np.split(np.arange(48), 6)]
    np.testing.assert_allclose(np.mean([p[0] for p in parts]), f, rtol=rtol)
    np.testing.assert_allclose(
        np.mean([p[1] for p in parts], axis=0), g, rtol=rtol, atol=atol
    )


def test_minibatch_view_of_a_zero_weight_batch_is_the_penalty(
    make_problem, build_objective
):
    X, y, sw = make_problem(seed=27)
    sw[:5] = 0.0
    obj = build_objective(X, y, sw)
    w = np.random.default_rng(28).standard_normal(obj.n_params)
    loss, grad = obj.minibatch()(w, np.arange(5))
    W, _ = obj.unpack(w)
    assert loss == pytest.approx(0.5 * obj.l2_reg_strength * np.sum(W**2), rel=1e-14)
    gW, gb = obj.unpack(grad)
    np.testing.assert_allclose(gW, obj.l2_reg_strength * W, rtol=1e-15)
    np.testing.assert_array_equal(gb, 0.0)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_minibatch_view_of_training_rows_equals_the_copied_rows(
    sparse, make_problem, build_objective
):
    X, y, sw = make_problem(sparse, seed=29)
    train = np.sort(np.random.default_rng(30).choice(len(y), 40, replace=False))
    by_index = build_objective(X, y, sw).minibatch(train)
    copied = build_objective(X[train], y[train], sw[train]).minibatch()
    assert by_index.penalty.strength == copied.penalty.strength
    w = np.random.default_rng(31).standard_normal(by_index.objective.n_params)
    for rows in np.array_split(np.arange(40), 3):
        a, b = by_index(w, rows), copied(w, rows)
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])


def test_l2_penalty_value_gradient_and_hessian():
    rng = np.random.default_rng(32)
    Wb = rng.standard_normal((3, 5))  # 4 weights and an intercept per class
    w = Wb.ravel()
    W, b = Wb[:, :-1], Wb[:, -1]
    pen = penalty_from_C(0.5, 4.0)
    assert type(pen) is L2Penalty
    assert pen.strength == 0.5 and pen.lipschitz() == 0.5
    assert pen.value(w, b) == pytest.approx(0.25 * np.sum(W**2), rel=1e-14)
    assert pen.value(w) == pytest.approx(0.25 * np.sum(w**2), rel=1e-14)
    g = np.ones((3, 4))
    pen.add_gradient(g, W)
    np.testing.assert_allclose(g, 1 + 0.5 * W)
    h = np.zeros((3, 4))
    pen.add_hessian_product(h, b[:, None] * np.ones((1, 4)))
    np.testing.assert_allclose(h, 0.5 * b[:, None] * np.ones((1, 4)))
    H = np.zeros((15, 15))
    pen.add_hessian(H.reshape(-1)[::16].reshape(3, 5)[:, :4])  # diag of W part
    np.testing.assert_array_equal(H, np.diag(np.tile([0.5] * 4 + [0.0], 3)))
    none = penalty_from_C(np.inf, 4.0)
    assert none.strength == 0.0 and none.value(w, b) == 0.0
    g = np.ones((3, 4))
    none.add_gradient(g, W)
    np.testing.assert_array_equal(g, 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_csr_chunk_products_are_the_dense_ones(dtype, fit_intercept):
    """The CSR kernel's two products (public scipy API only) on its
    transposed chunk blocks: the scores, and the accumulation into a new
    and into an existing (d, K) accumulator, plain and squared."""
    rng = np.random.default_rng(33)
    dense = rng.standard_normal((37, 23)) * (rng.random((37, 23)) < 0.3)
    X = sp.csr_matrix(dense.astype(dtype))
    kernel = CSRChunks(X, 5, fit_intercept)
    chunks = [slice(0, 20), slice(20, 37)]
    kernel.prepare(chunks)
    W = rng.standard_normal((5, 23))
    b = rng.standard_normal(5).astype(dtype)
    M = kernel.params(W, b)
    assert M.shape == (23 + fit_intercept, 5) and M.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    acc, acc_sq = kernel.new_accumulator(), kernel.new_accumulator()
    bufs = kernel.buffers(20)
    blocks = []
    for i, sl in enumerate(chunks):
        out = np.empty((5, sl.stop - sl.start), dtype=dtype)
        kernel.scores(i, sl, M, out, bufs)
        ref = W @ dense[sl].T + (b[:, None] if fit_intercept else 0)
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol)
        G = rng.standard_normal(out.shape).astype(dtype)
        blocks.append(G)
        acc = kernel.accumulate(i, sl, G, acc, bufs)
        acc_sq = kernel.accumulate(i, sl, G, acc_sq, bufs, squared=True)
        assert all(a.dtype == dtype and a.shape == (23, 5) for a in acc)
    G_all = np.hstack(blocks)
    want, want_sq = dense.T @ G_all.T, (dense**2).T @ G_all.T
    # one group of two chunks, and two groups of one, in both layouts
    for groups, ref in (([acc], want), ([acc_sq[:1], acc_sq[1:]], want_sq)):
        for feature_major in (False, True):
            got = np.empty((23, 5) if feature_major else (5, 23))
            fresh = [[a.copy() for a in g] for g in groups]  # summed in place
            kernel.write_weights(fresh, got, feature_major)
            got = got if feature_major else got.T
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol)


def test_with_penalty_is_a_new_objective_on_the_same_data_term(
    backend, make_problem, build_objective
):
    """``with_penalty`` (the CV paths' move along ``Cs``) gives the objective
    a fresh build would, shares the data term, and leaves the original alone."""
    sparse, dtype, _, _ = backend
    X, y, sw = make_problem(sparse, seed=41, dtype=dtype)
    obj = build_objective(X, y, sw)
    w = np.random.default_rng(42).standard_normal(obj.n_params)
    before = obj.loss_gradient(w)
    for C_new, l1_ratio in [(0.05, None), (3.0, 0.4), (np.inf, 0.0)]:
        other = obj.with_penalty(C_new, l1_ratio)
        ref = type(obj)(
            X,
            y,
            obj.n_classes,
            sample_weight=sw,
            C=C_new,
            l1_ratio=l1_ratio or 0.0,
            chunk_size=7,
        )
        got, want = other.loss_gradient(w), ref.loss_gradient(w)
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])
        assert other.loss(w) == ref.loss(w)
        assert other.X is obj.X and other.C == float(C_new)
    after = obj.loss_gradient(w)
    assert after[0] == before[0] and obj.C == C
    np.testing.assert_array_equal(after[1], before[1])


def test_make_objective_is_the_backend_choice(make_problem):
    """numpy and scipy.sparse input get the numpy backend; every backend
    implements the DataTerm protocol and declares its capabilities."""
    from sk_softmax._objective import DataTerm, make_objective
    from sk_softmax._objective._numpy import ChunkedSoftmaxCrossEntropy

    for sparse in (False, True):
        X, y, sw = make_problem(sparse, seed=43)
        obj = make_objective(X, y, 4, sw, C=C, chunk_size=7)
        assert type(obj) is ChunkedSoftmaxCrossEntropy
        assert isinstance(obj, DataTerm)
        assert obj.sparse == sparse and obj.device == "cpu"
        assert obj.row_maps and obj.dense_hessian and not obj.distributed
    with pytest.raises(ValueError, match="Dask"):
        make_objective(X, y, 4, sw, groups=np.zeros(len(y)))
