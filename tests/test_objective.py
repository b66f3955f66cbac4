"""Tests of the fused, chunked softmax cross-entropy objective."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import sk_softmax._objective._csr as csr_module
import sk_softmax._objective._numpy as objective_module
import sk_softmax._objective._small_dense as small_module
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy, auto_chunk_size

N, D, K = 53, 6, 4  # the shape of conftest's make_problem


def objective(X, y, sw, fit_intercept=True, chunk_size=None, eps=0.0, C=0.7):
    return ChunkedSoftmaxCrossEntropy(
        X,
        y,
        K,
        sample_weight=sw,
        C=C,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
        label_smoothing=eps,
    )


@pytest.fixture(params=[True, False], ids=["threads", "serial"])
def parallel(request, monkeypatch):
    monkeypatch.setattr(objective_module, "_PARALLEL", request.param)
    return request.param


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_chunked_equals_unchunked(
    sparse, fit_intercept, soft, eps, parallel, make_problem, reference
):
    X, y, sw = make_problem(sparse, soft)
    full = objective(X, y, sw, fit_intercept, chunk_size=N, eps=eps)
    rng = np.random.default_rng(1)
    w = rng.standard_normal(full.n_params)
    v = rng.standard_normal(full.n_params)
    loss_ref, grad_ref = reference.loss_gradient(X, y, sw, 0.7, fit_intercept, w, eps)
    loss_full, grad_full = full.loss_gradient(w)
    np.testing.assert_allclose(loss_full, loss_ref, rtol=1e-12)
    np.testing.assert_allclose(grad_full, grad_ref, rtol=1e-10, atol=1e-13)
    hv_full = full.gradient_hessian_product(w)[1](v)
    for chunk_size in [1, 7, N, None]:
        obj = objective(X, y, sw, fit_intercept, chunk_size=chunk_size, eps=eps)
        loss, grad = obj.loss_gradient(w)
        assert grad.dtype == np.float64 and grad.shape == (obj.n_params,)
        np.testing.assert_allclose(loss, loss_full, rtol=1e-12, atol=0)
        np.testing.assert_allclose(grad, grad_full, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(obj.loss(w), loss_full, rtol=1e-12)
        g2, hessp = obj.gradient_hessian_product(w)
        np.testing.assert_allclose(g2, grad_full, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(hessp(v), hv_full, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
def test_gradient_matches_finite_differences(sparse, soft, make_problem):
    X, y, sw = make_problem(sparse, soft, seed=2)
    obj = objective(X, y, sw, chunk_size=7, eps=0.05)
    rng = np.random.default_rng(3)
    w = rng.standard_normal(obj.n_params)
    _, grad = obj.loss_gradient(w)
    h = 1e-6
    fd = np.empty_like(w)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        fd[j] = (obj.loss(w + e) - obj.loss(w - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_solver_layout_evaluation_is_the_flat_one_permuted(
    sparse, fit_intercept, dtype, make_problem, monkeypatch
):
    # The evaluation lbfgs runs: in the sparse kernel's (d, K) order, with
    # several chunks (and their threads), the same values as loss_gradient,
    # and no (d, K) transposition either way; the flat layout for dense X.
    X, y, sw = make_problem(sparse, seed=21, dtype=dtype)
    obj = objective(X, y, sw, fit_intercept, chunk_size=7, eps=0.1)
    order = obj.solver_layout()
    assert order.feature_major == sparse
    rng = np.random.default_rng(22)
    w = rng.standard_normal(obj.n_params)
    loss, grad = obj.loss_gradient(w)
    u = order.to_model(w)
    np.testing.assert_array_equal(order.to_flat(u), w)

    def no_transpose(*args, **kwargs):
        raise AssertionError("transposed a (d, K) array")

    monkeypatch.setattr(objective_module, "blocked_transpose", no_transpose)
    monkeypatch.setattr(csr_module, "blocked_transpose", no_transpose)
    loss_o, grad_o = obj.layout_loss_gradient(order)(u)
    monkeypatch.undo()
    np.testing.assert_allclose(loss_o, loss, rtol=1e-13)
    np.testing.assert_allclose(order.to_flat(grad_o), grad, rtol=1e-12, atol=1e-14)
    if sparse:  # and the gradient in that order is the derivative in that order
        h = 1e-6 if dtype == np.float64 else 1e-2
        fun = obj.layout_loss_gradient(order)
        for j in rng.choice(u.size, 6, replace=False):
            e = np.zeros_like(u)
            e[j] = h
            fd = (fun(u + e)[0] - fun(u - e)[0]) / (2 * h)
            tol = 1e-6 if dtype == np.float64 else 1e-2
            np.testing.assert_allclose(grad_o[j], fd, rtol=tol, atol=tol)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hessian_product_matches_gradient_differences(
    sparse, fit_intercept, make_problem
):
    X, y, sw = make_problem(sparse, seed=4)
    obj = objective(X, y, sw, fit_intercept, chunk_size=7, eps=0.1)
    rng = np.random.default_rng(5)
    w = rng.standard_normal(obj.n_params)
    v = rng.standard_normal(obj.n_params)
    _, hessp = obj.gradient_hessian_product(w)
    h = 1e-6
    fd = (obj.loss_gradient(w + h * v)[1] - obj.loss_gradient(w - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(hessp(v), fd, rtol=1e-6, atol=1e-8)
    # symmetric: u . H v == v . H u
    u = rng.standard_normal(obj.n_params)
    np.testing.assert_allclose(u @ hessp(v), v @ hessp(u), rtol=1e-10)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_float32_agrees_with_float64(sparse, make_problem):
    X, y, sw = make_problem(sparse, seed=6)
    obj64 = objective(X, y, sw, chunk_size=7)
    obj32 = objective(X.astype(np.float32), y, sw, chunk_size=7)
    assert obj32.dtype == np.float32
    w = np.random.default_rng(7).standard_normal(obj64.n_params) * 0.5
    l64, g64 = obj64.loss_gradient(w)
    l32, g32 = obj32.loss_gradient(w)
    assert isinstance(l32, float) and g32.dtype == np.float64
    np.testing.assert_allclose(l32, l64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)
    v = np.random.default_rng(8).standard_normal(obj64.n_params)
    np.testing.assert_allclose(
        obj32.gradient_hessian_product(w)[1](v),
        obj64.gradient_hessian_product(w)[1](v),
        rtol=1e-4,
        atol=1e-5,
    )


def test_large_scores_do_not_overflow(make_problem, reference):
    X, y, sw = make_problem(seed=9)
    obj = objective(X * 1e4, y, sw, chunk_size=7)
    w = np.random.default_rng(10).standard_normal(obj.n_params)
    loss, grad = obj.loss_gradient(w)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    loss_ref, _ = reference.loss_gradient(X * 1e4, y, sw, 0.7, True, w)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-12)


def test_threads_match_serial_exactly_for_a_fixed_split(monkeypatch, make_problem):
    # Same chunks, same groups: the worker threads give exactly the results
    # of the same groups run one after another in the calling thread, so
    # results do not depend on thread timing. Three groups on three threads
    # whatever the machine's cores (the worker count is forced).
    import threading

    from sk_softmax import _threadpool

    monkeypatch.setattr(objective_module, "chunk_workers", lambda n: min(n, 3))
    monkeypatch.setattr(_threadpool, "available_cpus", lambda: 3)
    X, y, sw = make_problem(seed=11)
    obj = objective(X, y, sw, chunk_size=5)
    w = np.random.default_rng(12).standard_normal(obj.n_params)
    v = np.random.default_rng(13).standard_normal(obj.n_params)
    threads = set()

    def threaded(fn, args):
        def marked(*a):
            threads.add(threading.get_ident())
            return fn(*a)

        assert len(args) == 3
        return _threadpool.run_in_threads(marked, args)

    def serial(fn, args):
        assert len(args) == 3
        return [fn(*a) for a in args]

    results = {}
    for name, runner in [("threads", threaded), ("serial", serial)]:
        monkeypatch.setattr(objective_module, "run_in_threads", runner)
        results[name] = [
            (*obj.loss_gradient(w), obj.hessian_product(w)(v)) for _ in range(3)
        ]
    # group 0 runs in the calling thread, groups 1 and 2 on the executor's
    assert len(threads) >= 2
    for loss, grad, hv in results["threads"]:
        ref_loss, ref_grad, ref_hv = results["serial"][0]
        assert loss == ref_loss
        np.testing.assert_array_equal(grad, ref_grad)
        np.testing.assert_array_equal(hv, ref_hv)


def test_user_blas_limit_makes_the_kernel_serial_and_is_kept(monkeypatch, make_problem):
    from sk_softmax import _threadpool

    X, y, sw = make_problem(seed=13)
    obj = objective(X, y, sw, chunk_size=5)
    w = np.zeros(obj.n_params)
    with threadpool_limits(limits=1, user_api="blas"):
        assert _threadpool.chunk_workers(20) == 1
        obj.loss_gradient(w)
        libs = _threadpool.numpy_blas_controllers()
        assert all(lib.num_threads == 1 for lib in libs)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
def test_small_float64_data_run_one_kept_block_in_the_calling_thread(
    monkeypatch, fit_intercept, soft
):
    # Small dense float64 data: one pass over a float64 X~ = [X, 1] kept
    # between evaluations, in the calling thread (no worker hand-offs, no
    # per-evaluation conversion), with the chunked pass's values.
    monkeypatch.setattr(objective_module, "available_cpus", lambda: 2)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 10))
    y = rng.dirichlet(np.ones(3), size=1000) if soft else rng.integers(0, 3, 1000)
    sw = rng.uniform(0.5, 2.0, size=1000)
    X_before = X.copy()
    kw = dict(sample_weight=sw, C=0.7, fit_intercept=fit_intercept, label_smoothing=0.1)
    small = ChunkedSoftmaxCrossEntropy(X, y, 3, **kw)
    chunked = ChunkedSoftmaxCrossEntropy(X, y, 3, chunk_size=7, **kw)
    assert small.chunk_size == 500  # the threaded pass would use two chunks
    w = rng.normal(size=small.n_params)
    ref_loss, ref_grad = chunked.loss_gradient(w)
    ref_hessian = chunked.loss_gradient_hessian(w)

    def no_threads(fn, args):
        raise AssertionError("a small float64 pass ran on worker threads")

    monkeypatch.setattr(objective_module, "run_in_threads", no_threads)
    loss, grad = small.loss_gradient(w)
    design = small._design_passes.kept_design
    assert design.shape == (10 + fit_intercept, 1000) and design.dtype == np.float64
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)
    assert small.loss(w) == pytest.approx(ref_loss, rel=1e-12)
    for got, ref in zip(small.loss_gradient_hessian(w), ref_hessian, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    assert small._design_passes.kept_design is design  # built once
    np.testing.assert_array_equal(X, X_before)
    # float32 data keep their float32 chunks (and worker threads).
    monkeypatch.undo()
    small32 = ChunkedSoftmaxCrossEntropy(X.astype(np.float32), y, 3, **kw)
    small32.loss_gradient(w)
    assert small32._design_passes.kept_design is None


def test_small_passes_run_large_products_in_the_private_blas(monkeypatch, private_blas):
    # While numpy's BLAS may thread, the small passes' large products run in
    # the single-threaded private BLAS: the same values as numpy's.
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(300, 8)), rng.integers(0, 4, 300)
    obj = ChunkedSoftmaxCrossEntropy(X, y, 4, C=0.5)
    w = rng.normal(size=obj.n_params)
    ref = obj.loss_gradient(w), obj.loss_gradient_hessian(w)
    calls = []

    def counted(A, B, out, trans_b=False):
        calls.append(A.shape)
        return private_blas(A, B, out, trans_b=trans_b)

    monkeypatch.setattr(small_module, "_PRIVATE_GEMM_MIN_MADDS", 0)
    monkeypatch.setattr(small_module, "small_gemm", lambda largest: counted)
    got = obj.loss_gradient(w), obj.loss_gradient_hessian(w)
    assert len(calls) == 2 + 3  # scores, gradient; + the stacked Hessian blocks
    for a, b in zip(got[0] + got[1], ref[0] + ref[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # Column blocks of the kept X~^T (256 rows at least: 150 + 150 here).
    monkeypatch.setattr(small_module, "_SMALL_BLOCK_BYTES", 1)
    calls.clear()
    got = obj.loss_gradient(w)
    # two blocks: both blocks' scores, then both blocks' gradient products
    assert calls == [(4, 9), (4, 9), (4, 150), (4, 150)]
    np.testing.assert_allclose(got[0], ref[0][0], rtol=1e-12)
    np.testing.assert_allclose(got[1], ref[0][1], rtol=1e-12, atol=1e-14)
    # The Hessian's 10 blocks stacked one pair at a time (an 8 MiB budget).
    monkeypatch.setattr(small_module, "_STACK_BYTES", 4)
    calls.clear()
    got = obj.loss_gradient_hessian(w)
    assert len(calls) == 2 + 10
    for a, b in zip(got, ref[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    monkeypatch.undo()
    with threadpool_limits(limits=1, user_api="blas"):
        # numpy's BLAS cannot thread: numpy's products
        assert small_module.small_gemm(2**30) is None
    assert small_module.small_gemm(2**19) is None  # small products: numpy's
    # Where numpy's BLAS may thread (forced: a one-core machine's may not),
    # large products go to the private BLAS.
    monkeypatch.setattr(small_module, "chunk_workers", lambda n: min(n, 2))
    assert small_module.small_gemm(2**30) is private_blas


def test_buffers_do_not_grow_with_n_samples(make_problem):
    X, y, sw = make_problem(seed=14)
    obj = objective(X, y, sw, chunk_size=8)
    obj.loss_gradient(np.zeros(obj.n_params))
    for bufs in obj._bufs:
        assert bufs["zt"].size == K * 8


def test_auto_chunk_size_rule():
    # ~2 MiB working set, at least 256 rows, at most n_samples
    assert auto_chunk_size(10**6, 784, 10, 8) == 2 * 2**20 // (8 * (784 + 20))
    assert auto_chunk_size(10**6, 10**5, 10, 8) == 256
    assert auto_chunk_size(100, 10, 3, 8) == 100
    obj = ChunkedSoftmaxCrossEntropy(np.zeros((10**4, 100)), np.zeros(10**4, int), 20)
    assert obj.chunk_size == auto_chunk_size(10**4, 100, 20, 8)


def test_lipschitz_bound_bounds_the_hessian(make_problem):
    X, y, sw = make_problem(seed=15)
    obj = objective(X, y, sw, chunk_size=7)
    w = np.random.default_rng(16).standard_normal(obj.n_params) * 0.1
    _, hessp = obj.gradient_hessian_product(w)
    H = np.column_stack([hessp(e) for e in np.eye(obj.n_params)])
    assert np.linalg.eigvalsh((H + H.T) / 2)[-1] <= obj.lipschitz_bound() * (1 + 1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_lipschitz_bound_of_huge_features_is_scaled_not_overflowed(sparse):
    # lambda_max(X^T X) = a^2 lambda_max((X / a)^T (X / a)): features beyond
    # ~1e154 overflowed the Gram matrix (LinAlgError: eigenvalues did not
    # converge) or the trace bound, where L itself is still finite. Sparse
    # with 3000 features takes the trace / Hoelder bound instead of the Gram
    # matrix.
    rng = np.random.default_rng(17)
    d = 3000 if sparse else D
    X = rng.standard_normal((N, d))
    if sparse:
        X *= rng.random((N, d)) < 0.01
    X[0, 0] = 20.0
    if sparse:
        X = sp.csr_matrix(X)

    def bound(X):
        y = rng.integers(0, K, N)
        return ChunkedSoftmaxCrossEntropy(X, y, K, C=np.inf, fit_intercept=False)

    L = bound(X).lipschitz_bound()
    c = 1e153  # 20 c squared overflows; c^2 L does not
    assert bound(X * c).lipschitz_bound() == pytest.approx(c * c * L, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        assert bound(X * 1e200).lipschitz_bound() == np.inf


def test_public_attributes(make_problem):
    X, y, sw = make_problem()
    obj = objective(X, y, sw, chunk_size=7)
    assert obj.n_classes == K and obj.n_features == D
    assert obj.n_params == K * (D + 1)
    np.testing.assert_allclose(obj.weight_sum, sw.sum())
    np.testing.assert_allclose(obj.l2_reg_strength, 1 / (0.7 * sw.sum()))
    W, b = obj.unpack(np.arange(obj.n_params, dtype=float))
    assert W.shape == (K, D) and b.shape == (K,)
    assert obj.dtype == np.float64 and obj.chunk_size == 7


def test_small_dense_data_are_split_over_the_usable_cpus(monkeypatch):
    # One chunk ran in the calling thread with numpy's BLAS, whose threaded
    # products cost ~70 ms each on a loaded 2-core machine (digits as
    # shipped: 2.3 s per fit); split over the CPUs, the kernel's workers run
    # them single-threaded.
    assert auto_chunk_size(1797, 64, 10, 8, min_chunks=2) == 899
    assert auto_chunk_size(1797, 64, 10, 8, min_chunks=16) == 256
    assert auto_chunk_size(300, 64, 10, 8, min_chunks=2) == 256
    monkeypatch.setattr(objective_module, "available_cpus", lambda: 2)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(1000, 10)), rng.integers(0, 3, size=1000)
    obj = ChunkedSoftmaxCrossEntropy(X, y, 3)
    assert obj.chunk_size == 500
    assert ChunkedSoftmaxCrossEntropy(sp.csr_matrix(X), y, 3).chunk_size == 1000
    assert ChunkedSoftmaxCrossEntropy(X, y, 3, chunk_size=1000).chunk_size == 1000
    # The serial Hessian pass keeps its own blocks (the memory rule only):
    # the same values as with one chunk.
    w = rng.normal(size=obj.n_params)
    one = ChunkedSoftmaxCrossEntropy(X, y, 3, chunk_size=1000)
    pairs = zip(obj.loss_gradient_hessian(w), one.loss_gradient_hessian(w), strict=True)
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(obj.loss_gradient(w)[1], one.loss_gradient(w)[1])
