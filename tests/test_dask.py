"""Fits on Dask arrays: exactness against the in-memory fit, data locality, faults.

The in-memory fit of the same data is the independent truth: the Dask
objective sums the blocks' parts of the same data term, so at ``tol=1e-10``
both fits reach the same optimum. The cluster tests run on a real
``LocalCluster(processes=True)`` (two one-thread workers) started once for
the module; the first tests run before it, on dask's local scheduler. Every
test that waits on the cluster has a timeout (pytest-timeout).
"""

import functools
import os
import signal
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sk_softmax import SoftmaxRegression

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.timeout(120)

EXACT = dict(rtol=0, atol=1e-10)
# Guards against hangs, not time limits: a worker-kill test takes ~15 s on
# an idle 2-core machine, and over 90 s at load average 25 (two CPU hogs
# beside other work), where a 90 s limit failed 4 of 12 kill tests; a worker
# process restarts in ~2 s idle (a new Python process importing distributed:
# tens of seconds under such load).
KILL_TIMEOUT = 600
RESTART_TIMEOUT = 240


@pytest.fixture
def problem(make_problem):
    """The shared problem builder (conftest.py) with this module's shape:
    600 rows, 5 features, 3 classes."""
    return functools.partial(make_problem, n=600, d=5, k=3)


def _copy(a):
    return a.copy()


def _blocks(a, rows):
    """``a`` as a Dask array of row blocks, each a root task of the graph
    (spread over the workers, recomputable from the graph)."""
    parts = []
    for start in range(0, a.shape[0], rows):
        part = a[start : start + rows]
        meta = part[:0]
        parts.append(
            da.from_delayed(
                dask.delayed(_copy)(part), shape=part.shape, dtype=a.dtype, meta=meta
            )
        )
    return da.concatenate(parts)


def _reference(X, y, sw=None, **params):
    """The in-memory fit of the same data, in this process.

    A fit at ``tol=1e-10`` pins the optimum only to the solver's resolution:
    on dense data the in-memory fit here runs the BLAS-free L-BFGS (its
    kernel keeps 2 threads busy), and the Dask fit must take the same path
    (``DaskSoftmaxObjective.n_workers``): with scipy's L-BFGS-B instead, one
    of these problems ended 2.4e-10 apart (tested: that is what this
    comparison caught before the Dask backend reported its workers).
    """
    params = {"tol": 1e-10, **params}
    return SoftmaxRegression(**params).fit(X, y, sample_weight=sw)


def _assert_same_model(model, ref, **tol):
    tol = tol or EXACT
    np.testing.assert_allclose(model.coef_, ref.coef_, **tol)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, **tol)
    np.testing.assert_array_equal(model.classes_, ref.classes_)


# ----------------------------------------------------- without a cluster
def test_import_does_not_import_dask():
    code = "import sys, sk_softmax; assert 'dask' not in sys.modules"
    # a hang guard: the cold import alone took ~65 s at load average 25
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "newton-cholesky"])
def test_local_scheduler_exact(solver, problem):
    assert distributed.client._get_global_client() is None
    X, y, sw = problem()
    ref = _reference(X, y, sw, solver=solver)
    Xd, yd, swd = (da.from_array(a, chunks=250) for a in (X, y, sw))
    model = SoftmaxRegression(tol=1e-10, solver=solver).fit(Xd, yd, sample_weight=swd)
    assert model.solver_ == solver
    _assert_same_model(model, ref)


def test_two_classes_newton_cholesky(problem):
    # In memory, two classes run Newton on the rows' difference (a kernel the
    # Dask backend does not have): Dask input runs the full problem instead.
    X, y, sw = problem()
    y = y % 2
    ref = _reference(X, y, sw, solver="newton-cholesky")
    Xd, yd, swd = (da.from_array(a, chunks=250) for a in (X, y, sw))
    model = SoftmaxRegression(tol=1e-10, solver="newton-cholesky")
    model.fit(Xd, yd, sample_weight=swd)
    _assert_same_model(model, ref)
    np.testing.assert_allclose(model.coef_[0], -model.coef_[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_l1_ratio_same_model(solver, problem):
    # The elastic-net penalty is the client's: OWL-QN / FISTA on the summed
    # smooth part give the in-memory model, zeros included.
    X, y, sw = problem()
    params = dict(solver=solver, C=0.05, l1_ratio=0.7, tol=1e-8, max_iter=5000)
    ref = _reference(X, y, sw, **params)
    Xd, yd, swd = (da.from_array(a, chunks=250) for a in (X, y, sw))
    model = SoftmaxRegression(**params).fit(Xd, yd, sample_weight=swd)
    assert (ref.coef_ == 0).any() and (ref.coef_ != 0).any()
    np.testing.assert_array_equal(model.coef_ == 0, ref.coef_ == 0)
    _assert_same_model(model, ref, rtol=0, atol=1e-7)


def test_host_targets_and_soft_target_frame(problem):
    """numpy y / weights beside a Dask X are split into X's row blocks; a
    DataFrame of soft targets names the classes by its columns."""
    X, y, sw = problem(n=300)
    Xd = da.from_array(X, chunks=100)
    model = SoftmaxRegression(tol=1e-10).fit(Xd, list(y), sample_weight=sw)
    _assert_same_model(model, _reference(X, y, sw))
    _, Y, _ = problem(n=300, soft=True)
    frame = pd.DataFrame(Y, columns=["a", "b", "c"])
    model = SoftmaxRegression(tol=1e-10).fit(Xd, dd.from_pandas(frame, npartitions=2))
    ref = _reference(X, frame)
    _assert_same_model(model, ref)
    assert model.classes_.tolist() == ["a", "b", "c"]


def test_auto_solver_follows_the_in_memory_rule(problem):
    X, y, _ = problem()
    Xd, yd = da.from_array(X, chunks=250), da.from_array(y, chunks=250)
    # small problem: newton-cholesky, as in memory (the per-block dense
    # Hessians are summed); many parameters: lbfgs
    assert SoftmaxRegression().fit(Xd, yd).solver_ == "newton-cholesky"
    X2 = np.hstack([X] * 20)
    model = SoftmaxRegression().fit(da.from_array(X2, chunks=(250, 50)), yd)
    assert model.solver_ == "lbfgs" == SoftmaxRegression().fit(X2, y).solver_


def test_auto_solver_on_wide_sparse_data(problem):
    # In memory, "auto" runs the Jacobi-preconditioned newton-cg on wide
    # sparse data; its diagonal has no Dask reduction, so Dask keeps lbfgs,
    # and an explicit newton-cg (plain CG) reaches the same optimum.
    X, y, _ = problem(n=60, d=400, sparse=True, seed=1)
    Xd, yd = _blocks(X, 20), _blocks(y, 20)
    assert SoftmaxRegression().fit(X, y).solver_ == "newton-cg"
    assert SoftmaxRegression().fit(Xd, yd).solver_ == "lbfgs"
    ref = SoftmaxRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    model = SoftmaxRegression(solver="newton-cg", tol=1e-10).fit(Xd, yd)
    _assert_same_model(model, ref, rtol=0, atol=1e-8)


def test_memmapped_blocks_stay_on_disk(tmp_path, problem):
    X, y, sw = problem(n=900)
    da.to_npy_stack(tmp_path, da.from_array(X, chunks=(300, 5)))
    Xd = da.from_npy_stack(tmp_path, mmap_mode="r")
    ref = _reference(X, y, sw)
    model = SoftmaxRegression(tol=1e-10).fit(
        Xd, da.from_array(y, chunks=300), sample_weight=da.from_array(sw, chunks=300)
    )
    _assert_same_model(model, ref)
    # the kernel reads the file through its map (no in-memory copy)
    from sk_softmax._objective._dask import _Block

    block = _Block(np.load(tmp_path / "0.npy", mmap_mode="r"), y[:300], None, _spec())
    assert block.mapped is not None
    assert block.__sizeof__() < X[:300].nbytes
    block.release()


def test_unaligned_block_is_copied_aligned(problem):
    """A block received from another process can sit at any byte offset;
    the kernel works on an aligned copy (10x faster, see _Block)."""
    from sk_softmax._objective._dask import _Block

    X, y, _ = problem(n=300)
    raw = np.zeros(X.nbytes + 3, dtype=np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.uint8, count=X.nbytes, offset=3)
    unaligned = unaligned.view(np.float64).reshape(X.shape)
    unaligned[...] = X
    assert not unaligned.flags.aligned
    block = _Block(unaligned, y, None, _spec())
    assert block.kernel.X.flags.aligned and block.kernel.X.flags.c_contiguous
    np.testing.assert_array_equal(block.kernel.X, X)


def _spec():
    return dict(
        dtype=np.dtype(np.float64),
        n_classes=3,
        fit_intercept=True,
        chunk_size=None,
        label_smoothing=0.0,
        weight_sum=300.0,
    )


@pytest.mark.parametrize("sparse", [False, True])
def test_objective_equals_in_memory_objective(sparse, problem):
    """The backend itself: loss, gradient, Hessian products, dense Hessian and
    Lipschitz bound equal the numpy objective's at random points."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, sw = problem(n=500, d=8, sparse=sparse, seed=11)
    est = SoftmaxRegression(C=0.5)
    Xd, target, swd = validate_dask_fit_input(
        est, _blocks(X, 150), _blocks(y, 150), _blocks(sw, 150)
    )
    kwargs = dict(C=0.5, fit_intercept=True, chunk_size=None)
    obj = DaskSoftmaxObjective(
        Xd, target.y, 3, sample_weight=swd, **kwargs, weight_sum=target.weight_sum
    )
    ref = ChunkedSoftmaxCrossEntropy(X, y, 3, sample_weight=sw, **kwargs)
    rng = np.random.default_rng(0)
    order = obj.solver_layout()
    assert order.feature_major == sparse == ref.solver_layout().feature_major
    for _ in range(3):
        w, v = rng.standard_normal((2, obj.n_params))
        loss, grad = obj.loss_gradient(w)
        loss_ref, grad_ref = ref.loss_gradient(w)
        np.testing.assert_allclose(loss, loss_ref, rtol=1e-13)
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-12, atol=1e-15)
        # the evaluation lbfgs runs, in the kernels' order
        loss_o, grad_o = obj.layout_loss_gradient(order)(order.to_model(w))
        np.testing.assert_allclose(loss_o, loss_ref, rtol=1e-13)
        np.testing.assert_allclose(
            order.to_flat(grad_o), grad_ref, rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(
            obj.hessian_product(w)(v), ref.hessian_product(w)(v), rtol=1e-12
        )
    H = obj.loss_gradient_hessian(w)[2]
    np.testing.assert_allclose(H, ref.loss_gradient_hessian(w)[2], atol=1e-13)
    np.testing.assert_allclose(obj.lipschitz_bound(), ref.lipschitz_bound())
    assert obj.max_abs_feature() == ref.max_abs_feature()


def test_bad_input_clear_errors(problem):
    X, y, _ = problem(n=100)
    Xd, yd = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
    with pytest.raises(ValueError, match="solver='sgd' does not run on Dask"):
        SoftmaxRegression(solver="sgd").fit(Xd, yd)
    with pytest.raises(TypeError, match="Incremental"):
        SoftmaxRegression().partial_fit(Xd, yd, classes=[0, 1, 2])
    Xnan = X.copy()
    Xnan[70, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SoftmaxRegression().fit(da.from_array(Xnan, chunks=50), yd)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxRegression().fit(Xd, da.from_array(y[:90], chunks=50))
    with pytest.raises(ValueError, match="only one class"):
        SoftmaxRegression().fit(Xd, da.zeros(100, chunks=50, dtype=int))
    with pytest.raises(ValueError, match="Negative values"):
        SoftmaxRegression().fit(Xd, yd, sample_weight=-da.ones(100, chunks=50))
    Y = np.full((100, 3), 0.5)
    with pytest.raises(ValueError, match="must sum to 1"):
        SoftmaxRegression().fit(Xd, da.from_array(Y, chunks=50))


def test_host_targets_of_the_wrong_length_name_both_lengths(problem):
    # Issue 20: an in-memory y / sample_weight of the wrong length beside a
    # Dask X failed in dask ("Chunks do not add up to shape").
    X, y, sw = problem(n=100)
    Xd = da.from_array(X, chunks=50)
    match = r"inconsistent numbers of samples: \[100, 90\]"
    for bad_y in (y[:90], list(y[:90]), pd.Series(y[:90])):
        with pytest.raises(ValueError, match=match):
            SoftmaxRegression().fit(Xd, bad_y)
    # a Dask Series of string labels passes the nullable-column conversion
    # (a Series' dtypes is one dtype) and stays labels
    labels = dd.from_pandas(pd.Series(np.array(["a", "b", "c"])[y]), npartitions=2)
    model = SoftmaxRegression().fit(Xd, labels)
    assert model.classes_.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression().fit(Xd, y, sample_weight=sw[:90])


@pytest.mark.parametrize("dtype", ["Float64", "Float32", "Int64"])
def test_nullable_pandas_columns_fit_as_in_memory(dtype, problem):
    # Issue 20: a Dask DataFrame of pandas nullable Float64 columns was
    # refused as "dtype object"; the same DataFrame in memory fits.
    X, y, _ = problem(n=300)
    if dtype == "Int64":
        X = np.round(X * 10)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame = frame.astype(dtype)
    ref = _reference(frame, y)
    model = SoftmaxRegression(tol=1e-10).fit(dd.from_pandas(frame, npartitions=3), y)
    assert model.coef_.dtype == ref.coef_.dtype
    _assert_same_model(model, ref)
    np.testing.assert_array_equal(model.feature_names_in_, ref.feature_names_in_)
    lazy = model.predict_proba(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_allclose(lazy.compute(), ref.predict_proba(frame), **EXACT)
    frame.iloc[5, 1] = pd.NA
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SoftmaxRegression().fit(dd.from_pandas(frame, npartitions=3), y)


def test_unsorted_soft_target_frame_and_bad_weights(problem):
    # Issue 20 on Dask: a soft-target DataFrame with unsorted columns gets
    # sorted classes_ (its columns reordered: the in-memory model); bad
    # class weights and overflowing sample weights are the in-memory errors.
    X, y, _ = problem(n=300)
    _, Y, _ = problem(n=300, soft=True)
    frame = pd.DataFrame(Y, columns=["a", "b", "c"])[["c", "a", "b"]]
    Xd = da.from_array(X, chunks=100)
    model = SoftmaxRegression(tol=1e-10).fit(Xd, dd.from_pandas(frame, npartitions=3))
    assert model.classes_.tolist() == ["a", "b", "c"]
    _assert_same_model(model, _reference(X, frame[["a", "b", "c"]]))
    yd = da.from_array(y, chunks=100)
    with pytest.raises(ValueError, match="Negative values in data passed to `class"):
        SoftmaxRegression(class_weight={0: 1, 1: -1, 2: 1}).fit(Xd, yd)
    with pytest.raises(ValueError, match="sum to more than the largest float64"):
        SoftmaxRegression().fit(Xd, yd, sample_weight=da.full(300, 1e307, chunks=100))


# -------------------------------------------------------------- cluster
class _Removals(distributed.diagnostics.plugin.SchedulerPlugin):
    """The addresses of the workers the scheduler has removed, and a wait for
    one (the hook runs once the scheduler has forgotten the worker)."""

    name = "sk-softmax-test-removals"

    def __init__(self):
        self.removed = set()
        self.changed = threading.Condition()

    def remove_worker(self, scheduler, worker, **kwargs):
        with self.changed:
            self.removed.add(worker)
            self.changed.notify_all()

    def wait(self, address, timeout=RESTART_TIMEOUT):
        with self.changed:
            assert self.changed.wait_for(lambda: address in self.removed, timeout)


@pytest.fixture(scope="module")
def cluster():
    """Two one-thread worker processes, each under a nanny that restarts it
    when a test kills it.

    ``lost-worker-timeout`` is off for the module (1 h): the cluster closes
    the nanny of a worker the scheduler lost if, that long after the loss, no
    worker of the same name has registered. With the default 15 s, a kill
    test that killed the same worker as the previous one (within 15 s), or a
    restart slower than 15 s on a loaded machine, had the nanny closed during
    the restart: one worker for the rest of the module, and the kill test's
    ``wait_for_workers(2)`` failed ("Only 1/2 workers arrived", 5 of 10 runs
    beside two CPU hogs). Reproduced with a 3 s timeout and a second kill of
    the same worker 2.7 s after the first (``deploy/spec.py``,
    ``SpecCluster._update_worker_status``, distributed 2026.8).

    Each nanny writes ``distributed.nanny.pre-spawn-environ``
    (``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``...) into this
    process's ``os.environ`` before it spawns its worker, and nothing undoes
    it: later tests' subprocesses would inherit one-thread BLAS. The
    environment is restored when the module's cluster closes."""
    environ = os.environ.copy()
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
    ):
        cluster.scheduler.add_plugin(_Removals())
        try:
            yield cluster
        finally:
            os.environ.clear()
            os.environ.update(environ)


def _wait_removed(cluster, address):
    """Block until the scheduler has removed the worker at ``address``."""
    cluster.scheduler.plugins[_Removals.name].wait(address)


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def _transfers(client, to_client=False):
    """Every key any worker sent (``to_client``: to the client only, whose
    requests carry no worker address)."""
    logs = client.run(lambda dask_worker: list(dask_worker.transfer_outgoing_log))
    return [
        key
        for log in logs.values()
        for entry in log
        if not to_client or entry["who"] is None
        for key in entry["keys"]
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cluster_dense_exact_and_nothing_of_X_on_the_client(client, dtype, problem):
    X, y, sw = problem(n=1200, d=6, k=4, seed=1)
    X = X.astype(dtype)
    Xd, yd, swd = _blocks(X, 300), _blocks(y, 300), _blocks(sw, 300)
    before = set(_transfers(client))
    tol = 1e-10 if dtype == np.float64 else 1e-5  # float32 resolves 1e-5
    model = SoftmaxRegression(tol=tol, solver="lbfgs").fit(Xd, yd, sample_weight=swd)
    moved = set(_transfers(client)) - before
    gathered = {str(k) for k in _transfers(client, to_client=True)} - {
        str(k) for k in before
    }
    ref = _reference(X, y, sw, solver="lbfgs", tol=tol)
    same = EXACT if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

    if ChunkedSoftmaxCrossEntropy(X, y, 4).n_workers() == 1:
        # one usable CPU here: the in-memory fit runs L-BFGS-B, the Dask fit
        # (2 busy worker threads) the BLAS-free L-BFGS (see _reference)
        # (measured: 2.4e-10 in float64, 2.0e-5 in float32)
        same = dict(atol=1e-9) if dtype == np.float64 else dict(atol=1e-4)
    _assert_same_model(model, ref, **same)
    assert model.coef_.dtype == dtype
    moved = {str(k) for k in moved}
    x_keys = {str(k) for k in Xd.dask.keys()}
    assert moved, "the transfer log saw nothing: the check would be empty"
    assert str(next(iter(Xd.dask.keys()))).startswith(("(", "'"))  # same format
    assert not moved & x_keys  # no block of X went anywhere
    assert not gathered & x_keys  # (nor came to the client)
    # the kernels never moved (evaluations pinned to their workers)
    assert not [k for k in moved if k.startswith("sk_softmax-block")]
    # what came to the client: per-block results and summaries only
    assert gathered and all(k.startswith("sk_softmax-") for k in gathered)


def test_cluster_one_round_of_tasks_per_evaluation(
    client, cluster, monkeypatch, problem
):
    from sk_softmax._objective import _dask as backend

    calls = []
    original = backend._ClusterBlocks.map

    def counting_map(self, fn, *args):
        calls.append(fn.__name__)
        return original(self, fn, *args)

    monkeypatch.setattr(backend._ClusterBlocks, "map", counting_map)
    graphs = []

    class Recorder(distributed.diagnostics.plugin.SchedulerPlugin):
        def update_graph(self, scheduler, *, keys, **kwargs):
            graphs.append(sorted(map(str, keys)))

    plugin = Recorder()
    cluster.scheduler.add_plugin(plugin, name="sk-softmax-test")
    try:
        X, y, _ = problem(n=1200, seed=2)
        SoftmaxRegression(tol=1e-8, solver="lbfgs").fit(
            _blocks(X, 400), _blocks(y, 400)
        )
    finally:
        cluster.scheduler.remove_plugin(name="sk-softmax-test")
    evaluations = [g for g in graphs if g and g[0].startswith("sk_softmax-loss_")]
    assert len(evaluations) == calls.count("_loss_gradient") > 3
    # each evaluation: one graph of exactly one task per worker's group of
    # blocks (3 blocks in contiguous shares over 2 workers), nothing else
    assert all(len(g) == 2 for g in evaluations)


@pytest.mark.parametrize("d", [40, 45000])
def test_cluster_sparse_blocks_exact(client, monkeypatch, d, problem):
    """d=45000: 135003 parameters (> 1 MiB), sent straight to the workers,
    and one gradient per worker (its blocks merged) back to the client."""
    X, y, sw = problem(n=600, d=d, sparse=True, seed=3)
    Xd = _blocks(X, 150)
    assert sp.issparse(Xd._meta)
    # d=45000: 5 iterations, then the same iterate as in memory; d=40: to
    # tol=1e-10. lbfgs both: "auto" runs the preconditioned newton-cg on wide
    # sparse data in memory only (see test_auto_solver_on_wide_sparse_data).
    params = dict(solver="lbfgs", max_iter=5) if d > 40000 else {}
    before = set(_transfers(client, to_client=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression(tol=1e-10, **params).fit(
            Xd, _blocks(y, 150), _blocks(sw, 150)
        )
        ref = _reference(X, y, sw, **params)
    gathered = {str(k) for k in set(_transfers(client, to_client=True)) - before}
    _assert_same_model(model, ref)
    gradients = [k for k in gathered if k.startswith("sk_softmax-loss_gradient-")]
    # one part per worker and evaluation (4 blocks, 2 workers)
    rounds = {k.rsplit("-", 1)[0] for k in gradients}
    assert rounds and len(gradients) == 2 * len(rounds)


def _kernels_per_worker(client, futures):
    """Per worker: the kernels held under ``futures``' keys (a ``_Group``
    holds ``len(blocks)``, a ``_Block`` one)."""
    keys = [f.key for f in futures]

    def count(dask_worker):
        held = [dask_worker.data[k] for k in keys if k in dask_worker.data]
        return sorted(len(v.blocks) if hasattr(v, "blocks") else 1 for v in held if v)

    return client.run(count)


@pytest.mark.parametrize("sparse", [True, False])
def test_cluster_one_kernel_per_worker_for_sparse_blocks(client, sparse, problem):
    """Each worker's sparse blocks are merged into one kernel at build (its
    per-pass work on (d, K) arrays paid once per worker, not per block);
    dense blocks stay apart (no copy) in one group per worker. Either way
    the parts equal the in-memory objective's."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, sw = problem(n=800, d=300, sparse=sparse, seed=12)
    Xd, target, swd = validate_dask_fit_input(
        SoftmaxRegression(), _blocks(X, 100), _blocks(y, 100), _blocks(sw, 100)
    )
    obj = DaskSoftmaxObjective(
        Xd, target.y, 3, sample_weight=swd, weight_sum=target.weight_sum
    )
    try:
        counts = _kernels_per_worker(client, obj._blocks.futures)
        # 8 blocks in contiguous shares over 2 workers: 4 each
        expected = [1] if sparse else [4]
        assert list(counts.values()) == [expected, expected]
        ref = ChunkedSoftmaxCrossEntropy(X, y, 3, sample_weight=sw)
        w = np.random.default_rng(1).standard_normal(obj.n_params)
        loss, grad = obj.loss_gradient(w)
        loss_ref, grad_ref = ref.loss_gradient(w)
        np.testing.assert_allclose(loss, loss_ref, rtol=1e-13)
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-12, atol=1e-15)
        order = obj.solver_layout()
        loss_o, grad_o = obj.layout_loss_gradient(order)(order.to_model(w))
        np.testing.assert_allclose(loss_o, loss_ref, rtol=1e-13)
        np.testing.assert_allclose(
            order.to_flat(grad_o), grad_ref, rtol=1e-12, atol=1e-15
        )
    finally:
        obj.close()


def test_cluster_dataframe_and_series(client, problem):
    X, y, sw = problem(n=800, seed=4)
    labels = np.array(["ant", "bee", "cat"])[y]
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame["label"], frame["w"] = labels, sw
    ddf = dd.from_pandas(frame, npartitions=3)
    features = ddf[list(frame.columns[:-2])]
    model = SoftmaxRegression(tol=1e-10).fit(
        features, ddf["label"], sample_weight=ddf["w"]
    )
    ref = _reference(frame.iloc[:, :-2], labels, sw)
    _assert_same_model(model, ref)
    np.testing.assert_array_equal(model.feature_names_in_, ref.feature_names_in_)
    pred = model.predict(features)
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), ref.predict(frame.iloc[:, :-2]))


def test_cluster_soft_targets_class_weight_label_smoothing(client, problem):
    X, Y, sw = problem(n=900, soft=True, seed=5)
    params = dict(class_weight="balanced", label_smoothing=0.1)
    model = SoftmaxRegression(tol=1e-10, **params).fit(
        _blocks(X, 300), _blocks(Y, 300), sample_weight=_blocks(sw, 300)
    )
    _assert_same_model(model, _reference(X, Y, sw, **params))
    X, y, sw = problem(n=900, seed=6)
    params = dict(class_weight={0: 3.0, 1: 0.5, 2: 1.0}, solver="gd")
    model = SoftmaxRegression(tol=1e-10, **params).fit(
        _blocks(X, 300), _blocks(y, 300), sample_weight=_blocks(sw, 300)
    )
    _assert_same_model(model, _reference(X, y, sw, **params))


def test_cluster_predictions_are_lazy(client, problem):
    X, y, _ = problem(n=600, k=2, seed=7)
    Xd = _blocks(X, 200)
    model = SoftmaxRegression().fit(Xd, _blocks(y, 200))
    ref = SoftmaxRegression().fit(X, y)
    for method in ["predict", "predict_proba", "predict_log_proba"]:
        out = getattr(model, method)(Xd)
        assert isinstance(out, da.Array) and out.chunks[0] == Xd.chunks[0]
        expected = getattr(ref, method)(X)
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_allclose(out.compute(), expected, rtol=1e-6, atol=1e-6)
    dec = model.decision_function(Xd)
    assert isinstance(dec, da.Array) and dec.shape == (600,)


def _kill_on_call(monkeypatch, client, call_number, calls, target=None, data=None):
    """Kill the worker process ``target`` (default: the one holding block 0)
    at the ``call_number``-th evaluation (before its tasks are sent).

    ``data``: futures whose every copy must be lost; every worker holding
    one, or one of the blocks' kernels built from them, is killed then (a
    kernel's task is not bound to the worker the data were scattered to:
    built on the other worker, it survives a kill of the first, and the fit
    rightly goes on; the test once failed so in CI's oldest-versions pass)."""
    from sk_softmax._objective import _dask as backend

    original = backend._ClusterBlocks.map

    def map_then_kill(self, fn, *args):
        calls.append(fn.__name__)
        if len(calls) == call_number:
            if data is not None:
                held = client.who_has([*data, *self.futures]).values()
                holders = sorted({w for ws in held for w in ws})
            else:
                holders = [
                    target or next(iter(client.who_has(self.futures[:1]).values()))[0]
                ]
            pids = client.run(os.getpid, workers=holders)
            for holder in holders:
                os.kill(pids[holder], signal.SIGKILL)
            for holder in holders:
                _wait_removed(client.cluster, holder)
        return original(self, fn, *args)

    monkeypatch.setattr(backend._ClusterBlocks, "map", map_then_kill)


@pytest.mark.timeout(KILL_TIMEOUT)
@pytest.mark.parametrize("wide", [False, True, "newton-cg"])
def test_worker_killed_mid_fit_same_coefficients(client, monkeypatch, wide, problem):
    """wide: sparse blocks with 135003 parameters (sent straight to the
    workers, so the round first meets the dead worker when sending);
    newton-cg: killed before a Hessian product."""
    if wide:
        X, y, sw = problem(n=400, d=45000, sparse=True, seed=8)
        args = (_blocks(X, 100), _blocks(y, 100), _blocks(sw, 100))
        solver = "lbfgs" if wide is True else wide
        params = dict(tol=1e-10, solver=solver, max_iter=6)
    else:
        X, y, sw = problem(n=1200, seed=8)
        args = (_blocks(X, 300), _blocks(y, 300), _blocks(sw, 300))
        params = dict(tol=1e-10, solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        undisturbed = SoftmaxRegression(**params).fit(*args)
        calls = []
        _kill_on_call(monkeypatch, client, 4, calls)
        model = SoftmaxRegression(**params).fit(*args)
    assert len(calls) > 4  # the fit went on after the kill
    if wide == "newton-cg":  # killed before a Hessian product
        assert calls[3] == "_hessian_product"
    # lost blocks recomputed from the graph, parts summed in the same order
    np.testing.assert_array_equal(model.coef_, undisturbed.coef_)
    np.testing.assert_array_equal(model.intercept_, undisturbed.intercept_)
    client.wait_for_workers(2, timeout=RESTART_TIMEOUT)


@pytest.mark.timeout(KILL_TIMEOUT)
def test_worker_killed_with_scattered_blocks_clear_error(client, monkeypatch, problem):
    X, y, _ = problem(n=600, seed=9)
    X = X + 1.0  # not the data of another test (scatter keys hash the data)
    target = sorted(client.nthreads())[0]  # the blocks there
    parts = [client.scatter(X[i : i + 300], workers=[target]) for i in (0, 300)]
    Xd = da.concatenate(
        [da.from_delayed(p, shape=(300, 5), dtype=X.dtype) for p in parts]
    )
    _kill_on_call(monkeypatch, client, 3, [], data=parts)
    # scattered data have no lineage: the fit stops, naming the cause
    with pytest.raises(RuntimeError, match="lost data it cannot recompute"):
        SoftmaxRegression(tol=1e-10, solver="lbfgs").fit(Xd, _blocks(y, 300))
    client.wait_for_workers(2, timeout=RESTART_TIMEOUT)


@pytest.mark.parametrize("direct", [None, False])
def test_cluster_large_parameters_bypass_the_scheduler(cluster, direct, problem):
    """Parameter vectors over 1 MiB go from the client straight to the
    workers, and the parts straight back: the scheduler's ``scatter`` and
    ``gather`` handlers (which relay the data through the scheduler) are
    never called during an evaluation; unless the user's client says
    ``direct_to_workers=False``."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, _ = problem(n=400, d=45000, sparse=True, seed=13)
    # passed explicitly, not the default client (which the backend's
    # ``distributed.wait`` calls used to need)
    user = distributed.Client(cluster, direct_to_workers=direct, set_as_default=False)
    try:
        with user.as_current():
            Xd, target, _ = validate_dask_fit_input(
                SoftmaxRegression(), _blocks(X, 100), _blocks(y, 100), None
            )
        obj = DaskSoftmaxObjective(
            Xd, target.y, 3, client=user, weight_sum=target.weight_sum
        )
        _bypass_check(cluster, obj, X, y, relays=direct is False)
    finally:
        user.close()


def _bypass_check(cluster, obj, X, y, relays):
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

    handlers = cluster.scheduler.handlers
    relayed = []

    def recording(op):
        original = handlers[op]

        def handler(*args, **kwargs):
            relayed.append(op)
            return original(*args, **kwargs)

        return original, handler

    saved = {}
    for op in ["scatter", "gather"]:
        saved[op], handlers[op] = recording(op)
    try:
        w, v = np.random.default_rng(2).standard_normal((2, obj.n_params))
        assert w.nbytes > 2**20
        loss, grad = obj.loss_gradient(w)
        hv = obj.hessian_product(w)(v)
    finally:
        handlers.update(saved)
        obj.close()
    assert sorted(set(relayed)) == (["gather", "scatter"] if relays else [])
    ref = ChunkedSoftmaxCrossEntropy(X, y, 3)
    np.testing.assert_allclose(loss, ref.loss_gradient(w)[0], rtol=1e-13)
    np.testing.assert_allclose(grad, ref.loss_gradient(w)[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hv, ref.hessian_product(w)(v), rtol=1e-12, atol=1e-15)


def test_local_scheduler_score_equals_in_memory_score(problem):
    X, y, sw = problem(n=600, seed=14)
    model = SoftmaxRegression(C=0.05).fit(X, y)
    Xd, yd, swd = (da.from_array(a, chunks=250) for a in (X, y, sw))
    assert model.score(Xd, yd) == model.score(X, y)
    np.testing.assert_allclose(
        model.score(Xd, yd, sample_weight=swd),
        model.score(X, y, sample_weight=sw),
        rtol=1e-14,
    )
    # numpy labels and weights beside a Dask X are split into its blocks
    assert model.score(Xd, y) == model.score(X, y)
    with pytest.raises(ValueError, match="accuracy of soft targets"):
        model.score(Xd, da.from_array(np.eye(3)[y], chunks=250))


def test_cluster_score_runs_on_the_workers(client, problem):
    """Only two numbers per block come to the client (no predictions, no
    block of X); the result equals the in-memory score."""
    X, y, sw = problem(n=900, seed=15)
    labels = np.array(["ant", "bee", "cat"])[y]
    model = SoftmaxRegression(C=0.05).fit(X, labels)
    Xd, yd, swd = _blocks(X, 300), _blocks(labels, 300), _blocks(sw, 300)
    before = {str(k) for k in _transfers(client, to_client=True)}
    plain = model.score(Xd, yd)
    weighted = model.score(Xd, yd, sample_weight=swd)
    gathered = {str(k) for k in _transfers(client, to_client=True)} - before
    assert plain == model.score(X, labels)
    np.testing.assert_allclose(
        weighted, model.score(X, labels, sample_weight=sw), rtol=1e-14
    )
    assert isinstance(plain, float) and 0.3 < plain < 1.0
    assert gathered and all(k.startswith("sk_softmax-score-") for k in gathered)


def test_cluster_memmapped_blocks_group_inputs_are_small(
    client, cluster, tmp_path, problem
):
    """A worker's memory-mapped blocks stay on disk in its group, and the
    group's task depends on the blocks' small kernel states, not on the
    blocks of X: the scheduler counts a mapped block's whole file and
    refused a task whose inputs exceeded the worker's memory limit (data
    larger than memory, measured with benchmarks/bench_dask.py)."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, sw = problem(n=1200, seed=16)
    da.to_npy_stack(tmp_path, da.from_array(X, chunks=(300, 5)))
    Xd = da.from_npy_stack(tmp_path, mmap_mode="r")
    yd, swd = da.from_array(y, chunks=300), da.from_array(sw, chunks=300)
    Xv, target, swv = validate_dask_fit_input(SoftmaxRegression(), Xd, yd, swd)
    obj = DaskSoftmaxObjective(
        Xv, target.y, 3, sample_weight=swv, weight_sum=target.weight_sum
    )
    try:
        keys = [f.key for f in obj._blocks.futures]
        inputs = [cluster.scheduler.tasks[k].dependencies for k in keys]
        assert [len(deps) for deps in inputs] == [2, 2]
        for deps in inputs:
            for dep in deps:
                assert str(dep.key).startswith("sk_softmax-part-")
                assert 0 < dep.nbytes < X[:300].nbytes  # the file is not counted

        def mapped(dask_worker):
            return [
                b.mapped is not None
                for k in keys
                if k in dask_worker.data
                for b in dask_worker.data[k].blocks
            ]

        assert sorted(client.run(mapped).values()) == [[True, True], [True, True]]
    finally:
        obj.close()
    model = SoftmaxRegression(tol=1e-10).fit(Xd, yd, sample_weight=swd)
    _assert_same_model(model, _reference(X, y, sw))


@pytest.mark.timeout(KILL_TIMEOUT)
def test_worker_killed_while_its_part_is_fetched(client, monkeypatch, problem):
    """A holder that dies after computing its part, while the client
    fetches it: the round is sent again where the groups are recomputed
    (same coefficients). Waiting for the tasks and then gathering left this
    window unwatched: the fit stopped with "lost data it cannot recompute"
    (the gather's futures were cancelled) although the lineage was there."""
    from distributed import client as client_module

    X, y, sw = problem(n=400, d=45000, sparse=True, seed=17)
    args = (_blocks(X, 100), _blocks(y, 100), _blocks(sw, 100))
    params = dict(tol=1e-10, solver="lbfgs", max_iter=4)
    pids = client.run(os.getpid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        undisturbed = SoftmaxRegression(**params).fit(*args)
        original = client_module.gather_from_workers
        fetches, victims = [], []

        async def kill_then_fetch(who_has, *a, **kw):
            fetches.append(who_has)
            if len(fetches) == 3:  # a round's parts (direct: wide parameters)
                victim = sorted({w for ws in who_has.values() for w in ws})[0]
                victims.append(victim)
                os.kill(pids[victim], signal.SIGKILL)
            return await original(who_has, *a, **kw)

        monkeypatch.setattr(client_module, "gather_from_workers", kill_then_fetch)
        model = SoftmaxRegression(**params).fit(*args)
    assert len(fetches) > 3  # the fit went on after the kill
    np.testing.assert_array_equal(model.coef_, undisturbed.coef_)
    np.testing.assert_array_equal(model.intercept_, undisturbed.intercept_)
    # the victim gone from the scheduler, then its replacement registered
    # (otherwise the next test could start beside a worker yet to be removed)
    _wait_removed(client.cluster, victims[0])
    client.wait_for_workers(2, timeout=RESTART_TIMEOUT)


def test_cluster_hessian_products_send_the_point_once(client, cluster, problem):
    """The products of one Newton step send ``w`` to each worker once (then
    only ``v``), and each worker unpacks it once; the products equal the
    in-memory ones."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, _ = problem(n=400, d=45000, sparse=True, seed=18)
    Xd, target, _ = validate_dask_fit_input(
        SoftmaxRegression(), _blocks(X, 100), _blocks(y, 100), None
    )
    obj = DaskSoftmaxObjective(Xd, target.y, 3, weight_sum=target.weight_sum)
    ref = ChunkedSoftmaxCrossEntropy(X, y, 3)
    handlers = cluster.scheduler.handlers
    original = handlers["update_data"]
    received = []  # arrays the client placed on workers

    def update_data(*args, who_has, **kwargs):
        received.extend(who_has)
        return original(*args, who_has=who_has, **kwargs)

    handlers["update_data"] = update_data
    rng = np.random.default_rng(3)
    w = rng.standard_normal(obj.n_params)
    try:
        hessp, hessp_ref = obj.hessian_product(w), ref.hessian_product(w)
        for _ in range(3):
            v = rng.standard_normal(obj.n_params)
            np.testing.assert_allclose(hessp(v), hessp_ref(v), rtol=1e-12, atol=1e-15)
    finally:
        handlers["update_data"] = original
        obj.close()
    assert len(received) == 2 * (1 + 3)  # per worker: w once, then each v


@pytest.mark.timeout(KILL_TIMEOUT)
def test_worker_killed_between_hessian_products(client, problem):
    """The point of a Newton step went to each worker once; a worker lost
    after the first product takes it along: the next product sends it again
    to where the groups are recomputed, and equals the in-memory one."""
    from sk_softmax._dask_input import validate_dask_fit_input
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
    from sk_softmax._objective._dask import DaskSoftmaxObjective

    X, y, _ = problem(n=400, d=45000, sparse=True, seed=19)
    Xd, target, _ = validate_dask_fit_input(
        SoftmaxRegression(), _blocks(X, 100), _blocks(y, 100), None
    )
    obj = DaskSoftmaxObjective(Xd, target.y, 3, weight_sum=target.weight_sum)
    ref = ChunkedSoftmaxCrossEntropy(X, y, 3)
    rng = np.random.default_rng(4)
    w, v1, v2 = rng.standard_normal((3, obj.n_params))
    try:
        hessp, hessp_ref = obj.hessian_product(w), ref.hessian_product(w)
        np.testing.assert_allclose(hessp(v1), hessp_ref(v1), rtol=1e-12, atol=1e-15)
        victim = obj._blocks.holders[0][0]
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        _wait_removed(client.cluster, victim)
        np.testing.assert_allclose(hessp(v2), hessp_ref(v2), rtol=1e-12, atol=1e-15)
    finally:
        obj.close()
    client.wait_for_workers(2, timeout=RESTART_TIMEOUT)
