"""The Dask backend: the data term summed over the row blocks of a Dask array.

:class:`DaskSoftmaxObjective` computes the data term of the objective of
:mod:`sk_softmax._objective._base` on ``X`` split into row blocks (a Dask
array, dense or with scipy.sparse blocks): each block's part is computed by
the numpy kernel (:class:`~sk_softmax._objective.ChunkedSoftmaxCrossEntropy`) on
the worker that holds the block, and the client sums the parts in block
order. Since the objective is a sum over rows::

    f(w) = sum_blocks sum_{i in block} (s_i / S) CE_i(w) + penalty(w)

each block's kernel divides by the *global* weight sum ``S`` (computed once
in the validation pass), so the sum of the parts is the in-memory data term
up to the order of the floating-point additions: the fit is exact. The
solvers (L-BFGS with its Newton-CG finish, gd, newton-cholesky) run on the
client unchanged and never see the data.

The blocks are grouped by the worker they live on, and per worker a
:class:`_Group` is built once there and kept as a future: the numpy kernel
on its blocks (sparse blocks merged into one kernel, see :class:`_Group`)
with their class codes and weights. An evaluation is one round of tasks,
one per worker's group, pinned to that worker and depending only on the
group's future and on the parameters (sent inline when small, else straight
from the client to each worker, see :class:`_ClusterBlocks`): no data in the
graph, no block moved.

Blocks of ``X`` that are memory maps of files (``.npy`` opened with
``mmap_mode="r"``, e.g. by ``dask.array.from_npy_stack``) stay on disk: the
kernel reads them through the map at each evaluation and afterwards drops
the mapped pages from the worker's resident memory (``madvise``), so that
data larger than the workers' memory are fitted with a flat worker memory.

Without a ``distributed.Client`` the blocks are computed with dask's local
scheduler and the evaluations run in the calling process, block after
block, each block's kernel on its own worker threads (running blocks in
dask's thread pool as well would nest two thread pools on the same cores).

Faults: a worker lost during a fit loses its blocks' futures; the scheduler
recomputes them from their lineage (the graph of ``X``) and the fit
continues with the same result. Where the lineage is gone (e.g. data
scattered by the user), the fit stops with a RuntimeError naming the cause.
"""

import functools
import mmap
import uuid

import numpy as np
import scipy.sparse as sp

from .._dask_cluster import current_client, home_worker, pin_lineage
from ._base import FlatLayout, SoftmaxObjective
from ._numpy import ChunkedSoftmaxCrossEntropy, FeatureMajorLayout

__all__ = ["DaskSoftmaxObjective", "merge_by_label"]

# Parameter vectors up to this size go inline in each group's task (dense
# shapes: K * (d + 1) floats, 16 KB for 200000 x 100, K=20); larger ones
# (sparse, 32 MB for 200000 features, K=20) are sent once per evaluation
# straight to each worker, outside the graph.
_INLINE_BYTES = 2**20


# ----------------------------------------------------------------- worker side
def _mapped_range(a):
    """``(mmap, start, length)`` of the pages of file map under ``a``, or None."""
    base = a
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "_mmap", None) or getattr(base, "base", None)
    if base is None or base.closed or a.nbytes == 0:
        return None
    page = mmap.PAGESIZE
    origin = np.frombuffer(base, dtype=np.uint8).ctypes.data
    start = (a.ctypes.data - origin) // page * page
    stop = min(len(base), a.ctypes.data - origin + a.nbytes)
    return base, start, stop - start


class _Block:
    """One row block's kernel state, built once on the worker that holds it.

    Holds the numpy kernel on the block (``X`` as given, the class codes,
    the weights scaled by the global ``S``) and the rows' group labels (or
    None; see :meth:`DaskSoftmaxObjective.map_row_groups`). A memory-mapped
    dense block is read through its map at each evaluation; :meth:`release`
    then drops its pages from the resident memory.
    """

    def __init__(self, X, y, sample_weight, spec, labels=None):
        if sp.issparse(X):
            X = sp.csr_matrix(X).astype(spec["dtype"], copy=False)
        else:
            # Blocks received from another process (scattered, transferred)
            # can sit at any byte offset of their message: numpy's loops and
            # BLAS on unaligned float64 were ~10x slower (measured on a
            # scattered 10000 x 100 block: 170-200 ms per evaluation instead
            # of 20 ms), so such a block is copied once, here.
            X = np.require(X, dtype=spec["dtype"], requirements=["C", "A"])
        self.inputs = (X, y, sample_weight, spec, labels)  # no second copy of X
        self.labels = None if labels is None else np.asarray(labels)
        self._hessian = None  # (w, product at w), see hessian_product
        self.mapped = None if sp.issparse(X) else _mapped_range(X)
        # y and the weights come validated, encoded and class-weighted (the
        # validation's lazy blocks, computed here; see sk_softmax._dask_input).
        self.kernel = ChunkedSoftmaxCrossEntropy(
            X,
            np.asarray(y),
            spec["n_classes"],
            sample_weight=sample_weight,
            C=np.inf,  # the penalty is added once, on the client
            fit_intercept=spec["fit_intercept"],
            chunk_size=spec["chunk_size"],
            label_smoothing=spec["label_smoothing"],
            weight_sum=spec["weight_sum"],
        )

    def __reduce__(self):
        # Moved or spilled: rebuilt from its inputs (buffers are not pickled).
        return (_Block, self.inputs)

    def __sizeof__(self):
        # What the block keeps in memory, so that dask's scheduler keeps its
        # tasks where it is (a mapped X stays on disk and is not counted).
        k = self.kernel
        X = k.X
        if sp.issparse(X):
            x_bytes = 2 * (X.data.nbytes + X.indices.nbytes) + X.indptr.nbytes
        else:
            x_bytes = 0 if self.mapped else X.nbytes
        g_bytes = 0 if self.labels is None else self.labels.nbytes
        return int(x_bytes + k.y.nbytes + 2 * k.sample_weight.nbytes + g_bytes + 1000)

    def release(self):
        """Drop the mapped pages of a memory-mapped block from resident memory."""
        if self.mapped is not None:
            base, start, length = self.mapped
            if not base.closed:
                base.madvise(mmap.MADV_DONTNEED, start, length)

    def run(self, fn, *args):
        """``fn(self, *args)``, then :meth:`release`."""
        try:
            return fn(self, *args)
        finally:
            self.release()

    def hessian_product(self, w, v):
        """The data term's Hessian at ``w`` times ``v``.

        The product at the last ``w`` is kept: the products of one Newton
        step get the same ``w`` object on this worker (sent once, see
        :meth:`_ClusterBlocks.pinned`), so ``w`` is unpacked and transposed
        once per step, not once per product. (It holds ``w`` and its
        transposed copy until the next step or the end of the fit.)
        """
        if self._hessian is None or self._hessian[0] is not w:
            self._hessian = None  # drop the previous step's arrays first
            self._hessian = (w, self.kernel.data_hessian_product(w))
        return self._hessian[1](v)

    def forget_hessian(self):
        """Drop the kept Hessian product (and its copies of ``w``)."""
        self._hessian = None


class _Group:
    """The blocks that one worker holds, built once there; one task each round.

    Sparse blocks are merged into one kernel at build (``scipy.sparse.vstack``:
    one transient copy of the worker's share). Each kernel pass does work on
    ``(d, K)``-sized arrays besides its rows (the transposed parameters, the
    zeroed accumulator, the assembled gradient: 7.6-8.6 ms each for
    ``d=200000, K=20`` float64 in a worker), so per block it was paid once
    per block: 12500-row blocks of the 50000 x 200000 benchmark took 41-53 ms
    each in a worker against 92 ms for all 50000 rows in memory. Dense
    blocks hold ``rows * d`` numbers against those ``K * d`` and are kept
    apart (no copy), as are memory-mapped ones (merging would read them into
    memory). The parts of several kernels are summed on the worker, in block
    order, and one part per worker comes to the client.
    """

    def __init__(self, blocks):
        if len(blocks) > 1 and all(sp.issparse(b.kernel.X) for b in blocks):
            xs, ys, sws, spec, gs = zip(*(b.inputs for b in blocks), strict=True)
            X = sp.vstack([sp.csr_matrix(x) for x in xs], format="csr")
            y = np.concatenate([np.asarray(v) for v in ys])
            sw = None
            if any(s is not None for s in sws):
                sw = np.concatenate(
                    [
                        np.ones(x.shape[0]) if s is None else np.asarray(s, "f8")
                        for x, s in zip(xs, sws, strict=True)
                    ]
                )
            g = None if gs[0] is None else np.concatenate([np.asarray(v) for v in gs])
            blocks = [_Block(X, y, sw, spec[0], g)]
        self.blocks = list(blocks)

    def __reduce__(self):
        # Moved or spilled: the blocks are rebuilt from their (merged) inputs.
        return (_Group, (self.blocks,))

    def __sizeof__(self):
        return sum(b.__sizeof__() for b in self.blocks)

    def run(self, fn, *args):
        """``fn(block, *args)`` on each block, the parts reduced in order."""
        parts = [b.run(fn, *args) for b in self.blocks]
        if len(parts) == 1:
            return parts[0]
        if fn is _label_sums:
            return merge_by_label(parts)
        return max(parts) if fn is _max_abs else _sum(parts)


def _loss_gradient(b, w, need_gradient, feature_major=False):
    return b.kernel.data_loss_gradient(w, need_gradient, feature_major)


def _hessian_product(b, w, v):
    return b.hessian_product(w, v)


def _loss_gradient_hessian(b, w):
    return b.kernel.data_loss_gradient_hessian(w)


def _map_rows(b, fn, chunk_rows, *args):
    return b.kernel.map_rows(fn, *args, chunk_rows=chunk_rows)[0]


def _label_sums(b, fn, width, chunk_rows, *args):
    """``(labels, sums)``: the block's distinct group labels and, per label,
    the sums ``fn`` adds into its ``(n_labels, width)`` output over the
    label's rows (``fn(X_c, y_c, s_c, start, *args, codes, out)``, in place)."""
    labels, codes = np.unique(b.labels, return_inverse=True)
    out = np.zeros((labels.shape[0], width))
    b.kernel.map_rows(fn, *args, codes.astype(np.intp), out, chunk_rows=chunk_rows)
    return labels, out


def merge_by_label(parts):
    """Sums of ``(labels, sums)`` parts by label (a label may be in several).

    Parameters
    ----------
    parts : list of tuple
        ``(labels (m,), sums (m, width))`` per part, labels distinct in each.

    Returns
    -------
    labels : ndarray of shape (n_labels,)
        The sorted distinct labels of all parts.
    sums : ndarray of shape (n_labels, width)
        Per label, the sum of its rows of ``sums`` over the parts.
    """
    parts = [p for p in parts if p[0].shape[0]] or parts[:1]
    labels, codes = np.unique(
        np.concatenate([p[0] for p in parts]), return_inverse=True
    )
    sums = np.zeros((labels.shape[0], parts[0][1].shape[1]))
    np.add.at(sums, codes, np.concatenate([p[1] for p in parts]))
    return labels, sums


def _max_abs(b):
    return b.kernel.max_abs_feature()


def _gram(b, a):
    return b.kernel.weighted_gram(a)


def _gram_bound(b, a):
    return b.kernel.gram_bound(a)


def _build(X, y, sample_weight, spec, labels=None):
    return _Block(X, y, sample_weight, spec, labels)


def _build_group(blocks):
    return _Group(blocks)


def _call(group, fn, *args):
    # Runs on the worker holding ``group``; parameters come inline or as
    # futures scattered to this worker (resolved by dask before the call).
    return group.run(fn, *args)


# ----------------------------------------------------------------- client side
class _WorkerLost(Exception):
    """A worker that holds blocks died during a round."""


class _Pinned:
    """A large array sent at most once to each worker, for several rounds
    (the point of Hessian products at one Newton step)."""

    def __init__(self, array):
        self.array = array
        self.sent = {}  # worker -> future of the array there


def _lost(exc):
    return RuntimeError(
        "The Dask fit lost data it cannot recompute: "
        f"{type(exc).__name__}: {exc}. Workers died repeatedly, or "
        "blocks of X without a lineage (scattered data) were lost; "
        "the fit was stopped."
    )


class _ClusterBlocks:
    """The blocks as one :class:`_Group` per worker; one round of tasks per call.

    The blocks are grouped by the worker they are computed on (contiguous
    shares, or where a persisted ``X`` has them) and each group is built
    there once. An evaluation is one graph of one task per group, each
    strictly restricted to the worker that holds its group (work stealing
    never moves a block; dask's placement by data size alone did move small
    blocks between workers, measured in tests/test_dask.py). The parts come
    back in group order, so the order of the additions is fixed.

    Large parameter vectors (over ``_INLINE_BYTES``) go from the client
    straight to each worker holding a group, all workers at once, and the
    parts come straight back (``direct=True``): through the scheduler each
    32 MB vector crossed two connections. A client made with
    ``direct_to_workers=False``, or one that cannot reach the workers, keeps
    the scheduler's route. Measured on the 2-worker
    ``LocalCluster`` near idle (one 32 MB float64 vector): sent to both
    workers through the scheduler 49.8 ms, direct to both 27.2 ms; two parts
    gathered through the scheduler 67.4 ms, direct 29.3 ms.

    A strict restriction to a worker that died would wait forever, so the
    client polls: when a holder is gone it cancels the round and sends it
    again to where the groups are now (the scheduler recomputes lost groups
    from their lineage).
    """

    #: Seconds between checks for dead workers while a round runs.
    poll = 1.0
    #: Times one evaluation is sent again after losing a worker.
    retries = 10

    def __init__(self, client, parts):
        import dask

        self.client = client
        n = len(parts)
        groups = {}  # worker -> block indices, in block order
        for i, part in enumerate(parts):
            groups.setdefault(home_worker(client, part[0], i, n), []).append(i)
        self.groups = list(groups.values())
        # One graph: per block a _Block task, per worker a _Group task on
        # its blocks, each with the block's lineage pinned to the worker.
        # The group's inputs are the _Block objects, not the blocks of X:
        # the scheduler refuses a task whose inputs' size (a memory-mapped
        # block counts its whole file) exceeds the worker's memory limit.
        token = uuid.uuid4().hex
        tasks, placement = [], {}
        for j, (home, members) in enumerate(groups.items()):
            where = [home]
            blocks = []
            for i in members:
                pin_lineage(placement, parts[i][:3] + parts[i][4:], where)
                key = f"sk_softmax-part-{token}-{i}"
                placement[key] = where
                blocks.append(dask.delayed(_build)(*parts[i], dask_key_name=key))
            key = f"sk_softmax-block-{token}-{j}"
            placement[key] = where
            tasks.append(dask.delayed(_build_group)(blocks, dask_key_name=key))
        with dask.annotate(
            workers=functools.partial(dict.get, placement), allow_other_workers=True
        ):
            self.futures = client.compute(tasks, optimize_graph=False)
        self._wait(self.futures)
        self._locate()
        # The evaluations keep the workers' threads busy (see
        # DaskSoftmaxObjective.n_workers).
        self.n_workers = max(1, sum(client.nthreads().values()))
        # Large parameter vectors go straight to the workers unless the
        # client says not to (see _send).
        self.direct = client.direct_to_workers is not False
        self.gather_direct = None

    def _wait(self, futures, timeout=None):
        # ``distributed.wait`` runs on the default client: make it this one
        # (a client passed explicitly need not be the default).
        from distributed import wait

        with self.client.as_current():
            wait(futures, timeout=timeout)

    def _locate(self):
        """Record the worker holding each group (any worker when in flight)."""
        who_has = self.client.who_has(self.futures)
        alive = sorted(self.client.nthreads())
        self.holders = [list(who_has.get(f.key, ())) or alive for f in self.futures]

    def pinned(self, a):
        """``a`` for several rounds: a large array is then sent to each
        worker once, not at every round.

        Parameters
        ----------
        a : ndarray
            The array.

        Returns
        -------
        pinned : _Pinned or ndarray
        """
        return _Pinned(a) if a.nbytes > _INLINE_BYTES else a

    def _send(self, args):
        """Per holder worker: ``args`` with the large arrays scattered there.

        Straight from the client to each worker, all at once, unless the
        client was made with ``direct_to_workers=False`` or cannot reach
        the workers (then through the scheduler, for the rest of the fit).
        A :class:`_Pinned` array goes to each worker once.
        """
        import asyncio

        client = self.client
        workers = list(dict.fromkeys(h[0] for h in self.holders))
        out = {w: list(args) for w in workers}
        todo = {w: [] for w in workers}  # worker -> indices of args to send
        for i, a in enumerate(args):
            for w in workers:
                if isinstance(a, _Pinned):
                    if w in a.sent:
                        out[w][i] = a.sent[w]
                    else:
                        todo[w].append(i)
                elif isinstance(a, np.ndarray) and a.nbytes > _INLINE_BYTES:
                    todo[w].append(i)
        large = any(
            isinstance(a, _Pinned)
            or (isinstance(a, np.ndarray) and a.nbytes > _INLINE_BYTES)
            for a in args
        )
        # Large parameters, large parts: back the way they went. Small
        # parts: the client's default.
        self.gather_direct = self.direct if large else None
        todo = {w: idx for w, idx in todo.items() if idx}
        if not todo:
            return out
        direct = self.direct

        def array(a):
            return a.array if isinstance(a, _Pinned) else a

        async def send_all():
            return await asyncio.gather(
                *[
                    client.scatter(
                        [array(args[i]) for i in idx],
                        workers=[w],
                        direct=direct,
                        hash=False,
                        timeout=self.poll,
                        asynchronous=True,
                    )
                    for w, idx in todo.items()
                ]
            )

        try:
            sent = client.sync(send_all)
        except (OSError, TimeoutError) as exc:
            if direct and set(workers) <= set(client.nthreads()):
                # The workers are up but out of the client's reach.
                self.direct = False
                return self._send(args)
            raise _WorkerLost from exc
        for (w, idx), futures in zip(todo.items(), sent, strict=True):
            for i, f in zip(idx, futures, strict=True):
                out[w][i] = f
                if isinstance(args[i], _Pinned):
                    args[i].sent[w] = f
        return out

    def _submit(self, fn, args):
        import dask

        token = uuid.uuid4().hex
        n = len(self.futures)
        keys = [f"sk_softmax-{fn.__name__.lstrip('_')}-{token}-{i}" for i in range(n)]
        where = [h[:1] for h in self.holders]
        placement = dict(zip(keys, where, strict=True))
        sent = self._send(args)
        per_group = [sent[w[0]] for w in where]
        # One graph of one task per group, each pinned to its group's worker
        # (the scheduler calls the annotation with each key).
        with dask.annotate(
            workers=functools.partial(dict.get, placement), allow_other_workers=False
        ):
            return self.client.map(
                _call,
                self.futures,
                [fn] * n,
                *zip(*per_group, strict=True),
                key=keys,
                pure=False,
            )

    def _collect(self, futures):
        """The round's parts: one gather, which waits for the tasks itself,
        polled for dead holders (a strictly pinned task whose worker died
        would wait forever). Waiting first and gathering after left the
        fetch unwatched: a holder dying then stopped the fit with "lost data"
        although its groups could be recomputed."""
        import asyncio
        import concurrent.futures

        client = self.client
        gather = client.gather(futures, direct=self.gather_direct, asynchronous=True)
        pending = asyncio.run_coroutine_threadsafe(gather, client.loop.asyncio_loop)
        while True:
            concurrent.futures.wait([pending], timeout=self.poll)
            if pending.done():
                return pending.result()
            alive = set(client.nthreads())
            if not all(set(h) & alive for h in self.holders):
                pending.cancel()
                client.cancel(futures)
                raise _WorkerLost

    def map(self, fn, *args):
        """``[fn(kernels of group g, *args) for each group g]``, one task each."""
        from distributed import CancelledError, KilledWorker

        for _ in range(self.retries + 1):
            try:
                return self._collect(self._submit(fn, args))
            except (_WorkerLost, CancelledError) as exc:
                # A holder died: its groups are recomputed from their lineage
                # and the round is sent again. (The round's task on it can
                # also come back cancelled: the parameters scattered there,
                # which have no lineage, were lost with it.)
                cause = exc
                for a in args:
                    if isinstance(a, _Pinned):
                        a.sent.clear()  # sent again, wherever the groups are
                try:
                    self._wait(self.futures)
                except CancelledError as lost:  # the groups' lineage is gone
                    raise _lost(lost) from lost
                self._locate()
            except KilledWorker as exc:
                raise _lost(exc) from exc
        raise _lost(cause) from cause

    def close(self):
        """Release the groups' futures (their memory on the workers)."""
        self.futures = []


class _LocalBlocks:
    """The blocks in this process (dask's local scheduler built them)."""

    def __init__(self, parts):
        import dask

        tasks = [dask.delayed(_build, pure=False)(*p) for p in parts]
        self.blocks = list(dask.compute(*tasks))
        self.n_workers = max(b.kernel.n_workers() for b in self.blocks)

    def map(self, fn, *args):
        """``[fn(block_b, *args) for each block b]``, in block order."""
        parts = [b.run(fn, *args) for b in self.blocks]
        for b in self.blocks:  # no per-block copies of w kept in this process
            b.forget_hessian()
        return parts

    def pinned(self, a):
        """``a`` itself (in this process, nothing to send)."""
        return a

    def close(self):
        """Drop the blocks."""
        self.blocks = []


def _sum(parts):
    """Sum a list of parts in list order: arrays or floats into a new float64
    array, tuples of them entry by entry (None stays None)."""
    if isinstance(parts[0], tuple):
        return tuple(
            None if p[0] is None else _sum(list(p)) for p in zip(*parts, strict=True)
        )
    if len(parts) == 1:
        return np.array(parts[0], dtype=np.float64)
    total = np.add(parts[0], parts[1], dtype=np.float64)  # one pass, aligned
    for p in parts[2:]:
        total += p
    return total


class DaskSoftmaxObjective(SoftmaxObjective):
    """Mean-scaled softmax cross-entropy on a Dask array, plus a penalty.

    The Dask backend of :class:`SoftmaxObjective`; same parameters as
    :class:`~sk_softmax._objective.ChunkedSoftmaxCrossEntropy`, except:

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Validated training data: float32 or float64, one block of columns,
        known row blocks (numpy or scipy.sparse blocks).
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_classes)
        Validated class codes (or soft targets), row blocks matching ``X``'s
        (lazy blocks of the validation, computed on the workers).
    n_classes : int
        Number of classes ``K``.
    sample_weight : dask.array.Array of shape (n_samples,) or None
        Validated, class-weighted weights, row blocks matching ``X``'s.
    C : float
        Inverse of the regularisation strength.
    l1_ratio : float, default=0.0
        Elastic-net mixing of the penalty (see :class:`SoftmaxObjective`);
        added on the client, never seen by the blocks' kernels.
    fit_intercept : bool
        Whether the model has an intercept.
    chunk_size : int or None
        Rows per chunk of each block's kernel; None chooses it per block.
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1).
    client : distributed.Client or None, default=None
        The cluster to compute on; None uses the current client if there is
        one, else dask's local scheduler.
    groups : dask.array.Array of shape (n_samples,) or None, default=None
        Group labels of the rows, row blocks matching ``X``'s, kept with the
        blocks for :meth:`map_row_groups`.
    weight_sum : float or None, default=None
        ``S``, the global sum of the weights (the validation's); None
        computes it.
    """

    dense_hessian = True
    row_maps = True
    distributed = True

    def __init__(
        self,
        X,
        y,
        n_classes,
        sample_weight=None,
        C=1.0,
        l1_ratio=0.0,
        fit_intercept=True,
        chunk_size=None,
        label_smoothing=0.0,
        client=None,
        groups=None,
        weight_sum=None,
    ):
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.dtype = np.dtype(X.dtype)
        # Sparse blocks (not `sparse`: that says the Newton-CG diagonal of
        # solver="auto" is available, and it has no Dask reduction).
        self._x_sparse = sp.issparse(getattr(X, "_meta", None))
        self.soft = y.ndim == 2
        self.y = None  # on the workers
        if weight_sum is None:
            weight_sum = X.shape[0] if sample_weight is None else sample_weight.sum()
            weight_sum = float(getattr(weight_sum, "compute", lambda: weight_sum)())
        # The base class keeps S and builds the penalty; the weights stay on
        # the workers (a placeholder here: only SGD reads them, not run here).
        super().__init__(
            np.empty(0), C, weight_sum=float(weight_sum), l1_ratio=l1_ratio
        )
        spec = dict(
            dtype=self.dtype,
            n_classes=self.n_classes,
            fit_intercept=self.fit_intercept,
            chunk_size=chunk_size,
            label_smoothing=float(label_smoothing),
            weight_sum=self.weight_sum,
        )
        x_blocks = X.to_delayed().ravel()
        y_blocks = y.to_delayed().ravel()
        if sample_weight is None:
            sw_blocks = [None] * len(x_blocks)
        else:
            sw_blocks = sample_weight.to_delayed().ravel()
        specs = [spec] * len(x_blocks)
        self._has_groups = groups is not None
        g_blocks = [None] * len(x_blocks)
        if self._has_groups:
            g_blocks = groups.to_delayed().ravel()
        parts = list(zip(x_blocks, y_blocks, sw_blocks, specs, g_blocks, strict=True))
        client = current_client() if client is None else client
        if client is None:
            self._blocks = _LocalBlocks(parts)
        else:
            self._blocks = _ClusterBlocks(client, parts)

    def n_workers(self):
        """Threads an evaluation keeps busy (see base class).

        Dense ``X`` on a cluster: the workers' threads, so that the solver
        makes no threaded BLAS call between evaluations. Such calls (scipy's
        L-BFGS-B) spun against the workers where they share the machine:
        dense 200000 x 100, K=20 on a 2-worker ``LocalCluster``, 98 ms per
        evaluation inside the fit and 6.8 s per fit (63 iterations) with
        L-BFGS-B, 69-71 ms and 4.6-4.8 s (56 iterations, as in memory) with
        the BLAS-free L-BFGS. Sparse ``X``: 1, as in memory, since
        L-BFGS-B's own work is the cheaper one on millions of parameters
        (50000 x 200000 CSR, K=20, 30 iterations: 9.8 s against 13.6 s).

        Returns
        -------
        n_workers : int
        """
        return 1 if self._x_sparse else self._blocks.n_workers

    def close(self):
        """Release the blocks (on the workers, or in this process)."""
        self._blocks.close()

    def solver_layout(self):
        """The blocks' kernels' layout: :class:`FeatureMajorLayout` for sparse
        blocks (their ``(d, K)`` weights and gradient, nothing transposed on
        the workers), else the flat layout.

        Returns
        -------
        layout : FlatLayout
        """
        return FeatureMajorLayout(self) if self._x_sparse else FlatLayout(self)

    def data_loss_gradient(self, w64, need_gradient, feature_major=False):
        parts = self._blocks.map(_loss_gradient, w64, need_gradient, feature_major)
        loss = float(_sum([p[0] for p in parts]))
        if not need_gradient:
            return loss, None
        return loss, _sum([p[1] for p in parts])

    def data_hessian_product(self, w):
        w = self._blocks.pinned(np.array(w, dtype=np.float64))

        def hessp(v):
            return _sum(self._blocks.map(_hessian_product, w, v))

        return hessp

    def data_loss_gradient_hessian(self, w64):
        parts = self._blocks.map(_loss_gradient_hessian, w64)
        loss = float(_sum([p[0] for p in parts]))
        return loss, _sum([p[1] for p in parts]), _sum([p[2] for p in parts])

    def map_rows(self, fn, *args, chunk_rows=None):
        """``fn`` on each block's chunks of rows, on the worker holding it.

        See :meth:`SoftmaxObjective.map_rows`: each worker sums its chunks'
        results; one part per worker comes to the client, in block order.

        Returns
        -------
        parts : list
        """
        return self._blocks.map(_map_rows, fn, chunk_rows, *args)

    def map_row_groups(self, fn, width, *args, chunk_rows=None):
        """Per group of rows (``groups``): ``fn``'s sums over its rows.

        Each block sums over its own rows, on the worker holding it, per
        group label present in it, and returns only those labels and sums
        (``O(groups in the block * width)``); the client adds them up by
        label (a group may span blocks).

        Parameters
        ----------
        fn : callable
            ``fn(X_c, y_c, s_c, start, *args, codes, out)`` adds, for each
            row ``i`` of the chunk, its part into ``out[codes[start + i]]``
            (in place; module-level, for Dask clusters).
        width : int
            Columns of ``out``.
        *args
            Passed to ``fn`` after ``start``.
        chunk_rows : int or None, default=None
            Rows per chunk; None means the backend's choice.

        Returns
        -------
        labels : ndarray of shape (n_groups,)
            The sorted distinct group labels.
        sums : ndarray of shape (n_groups, width)
            The sums per group.
        """
        if not self._has_groups:
            raise ValueError("This objective was built without groups.")
        parts = self._blocks.map(_label_sums, fn, width, chunk_rows, *args)
        return merge_by_label(parts)

    def max_abs_feature(self):
        """float: ``max |X_ij|`` over all blocks.

        Returns
        -------
        max_abs : float
        """
        return max(self._blocks.map(_max_abs), default=0.0)

    def weighted_gram(self, scale):
        """The sum of the blocks' weighted Gram matrices (see ``DataTerm``).

        With :meth:`gram_bound`, the base class's Lipschitz bound is the
        in-memory one: exact from this sum for moderate ``d``.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        gram : ndarray, float64
        """
        return _sum(self._blocks.map(_gram, scale))

    def gram_bound(self, scale):
        """The sum of the blocks' own bounds: an upper bound of the
        ``lambda_max`` of the sum of their Gram matrices.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        bound : float
        """
        return float(sum(self._blocks.map(_gram_bound, scale)))

    def rows(self, idx, sample_weight, weight_sum):
        raise ValueError(
            "solver='sgd' does not run on Dask input: mini-batches would move "
            "rows between workers. Use solver='lbfgs' or 'gd', or partial_fit "
            "under dask_ml.wrappers.Incremental."
        )

    def accuracy(self, rows):
        """Not available on Dask input (SGD's early stopping)."""
        self.rows(None, None, None)
