"""In memory vs a 2-worker ``LocalCluster``: per evaluation and whole fit.

Usage::

    python benchmarks/bench_dask.py [--quick] [--big-rows N] [--skip dense,csr,big]
                                    [--blocks N] [--reps N] [--breakdown]

- Per evaluation: the evaluation ``lbfgs`` runs (``layout_loss_gradient``
  in the backend's ``solver_layout``: the sparse kernel's feature-major
  order, flat for dense data) of the in-memory objective and of the Dask
  objective (2 one-thread worker processes), interleaved in one process,
  median of the repetitions; the ratio is Dask / in memory. The same for
  ``loss_gradient`` in the flat layout (what ``"gd"`` and the Newton
  finish evaluate).
  ``--blocks`` row blocks (default 4), in contiguous shares over the workers.
- Whole fit: ``SoftmaxRegression(solver="lbfgs", max_iter=100)`` on both (the
  Dask one including its validation round and the build of the blocks).
- Cluster start-up is timed apart.
- ``--breakdown`` (instead of the two above): where one round's time goes,
  near its floor: the bare transfers of a parameter-sized float64 vector to
  every worker and of one part back from each (straight, as the backend
  does, and through the scheduler), the client's sum, an empty round trip,
  the tasks' own durations inside real rounds (dask's task stream), and on
  each worker its group's evaluation alone with the ``(d, K)``-sized extras
  of a pass (transposed parameters, gradient assembly, a fresh
  parameter-sized allocation against refilling one, a copy).
- Larger than memory: ``--big-rows`` x 100 float64 written as ``.npy``
  blocks, fitted from memory maps by workers whose ``memory_limit`` is
  smaller than their share of the data; the peak resident memory of each
  worker process during the fit (sampled every 20 ms) is reported.

The load average is printed with the results: on a shared machine the
timings are noisy, the ratios measured in one process less so.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from datasets import make_data  # noqa: E402

from sk_softmax import SoftmaxRegression  # noqa: E402
from sk_softmax._dask_input import validate_dask_fit_input  # noqa: E402
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy  # noqa: E402
from sk_softmax._objective._dask import DaskSoftmaxObjective  # noqa: E402


def _rss_mb(pid):
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


class _PeakRSS:
    """Peak resident memory of some processes, sampled every 20 ms."""

    def __init__(self, pids):
        self.pids, self.peak = pids, [0.0] * len(pids)

    def _run(self):
        while not self._stop.wait(0.02):
            for i, pid in enumerate(self.pids):
                self.peak[i] = max(self.peak[i], _rss_mb(pid))

    def __enter__(self):
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _dask_objective(Xd, yd):
    est = SoftmaxRegression()
    X, target, sw = validate_dask_fit_input(est, Xd, yd, None)
    return DaskSoftmaxObjective(X, target, len(target.classes), sample_weight=sw)


def _blocks_on_workers(client, X, y, n_blocks):
    """Scatter row blocks over the workers, each with its labels."""
    import dask.array as da

    rows = -(-X.shape[0] // n_blocks)
    workers = sorted(client.nthreads())
    xs, ys = [], []
    for i, start in enumerate(range(0, X.shape[0], rows)):
        xb, yb = X[start : start + rows], y[start : start + rows]
        home = [workers[i * len(workers) // n_blocks]]  # contiguous shares
        fx, fy = client.scatter([xb, yb], workers=home)
        xs.append(da.from_delayed(fx, shape=xb.shape, dtype=xb.dtype, meta=xb[:0]))
        ys.append(da.from_delayed(fy, shape=yb.shape, dtype=yb.dtype))
    return da.concatenate(xs), da.concatenate(ys)


def per_evaluation(name, X, y, client, reps, n_blocks):
    K = int(y.max()) + 1
    mem = ChunkedSoftmaxCrossEntropy(X, y, K)
    Xd, yd = _blocks_on_workers(client, X, y, n_blocks)
    dsk = _dask_objective(Xd, yd)
    w = np.random.default_rng(0).standard_normal(mem.n_params) * 0.01
    order = mem.solver_layout()
    u = order.to_model(w)
    fns = {
        "in memory": lambda: mem.layout_loss_gradient(order)(u),
        "dask": lambda: dsk.layout_loss_gradient(dsk.solver_layout())(u),
        "in memory, flat": lambda: mem.loss_gradient(w),
        "dask, flat": lambda: dsk.loss_gradient(w),
    }
    times = {k: [] for k in fns}
    for fn in fns.values():  # warm-up (buffers, imports)
        fn()
    for _ in range(reps):  # interleaved
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    ms = {k: np.median(v) * 1e3 for k, v in times.items()}
    print(
        f"{name}: per evaluation ({type(order).__name__}) in memory "
        f"{ms['in memory']:.1f} ms, dask {ms['dask']:.1f} ms, ratio "
        f"{ms['dask'] / ms['in memory']:.2f}; flat layout in memory "
        f"{ms['in memory, flat']:.1f} ms, dask {ms['dask, flat']:.1f} ms, ratio "
        f"{ms['dask, flat'] / ms['in memory, flat']:.2f}  (medians of {reps}, "
        f"loadavg {os.getloadavg()[0]:.2f})"
    )
    t0 = time.perf_counter()
    ref = SoftmaxRegression(solver="lbfgs", max_iter=100).fit(X, y)
    t1 = time.perf_counter()
    fit = SoftmaxRegression(solver="lbfgs", max_iter=100).fit(Xd, yd)
    t2 = time.perf_counter()
    print(
        f"{name}: whole fit (tol=1e-4, max_iter=100) in memory {t1 - t0:.2f} s "
        f"({ref.n_iter_} it), dask {t2 - t1:.2f} s ({fit.n_iter_} it), "
        f"ratio {(t2 - t1) / (t1 - t0):.2f}, max|coef diff| "
        f"{np.abs(fit.coef_ - ref.coef_).max():.2e}, loadavg "
        f"{os.getloadavg()[0]:.2f}"
    )
    dsk.close()


def _median_ms(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def _group_times(g, reps):
    from sk_softmax._objective._dask import _loss_gradient

    k = g.blocks[0].kernel
    w = np.random.default_rng(0).standard_normal(k.n_params) * 0.01
    buf = np.empty(k.n_params)
    acc, gb = k._new_accumulator(), np.zeros(k.n_classes)
    out = {"evaluation": _median_ms(lambda: g.run(_loss_gradient, w, True), reps)}
    if k.solver_layout().feature_major:
        out["evaluation, feature-major"] = _median_ms(
            lambda: g.run(_loss_gradient, w, True, True), reps
        )
    return out | {
        "transposed parameters": _median_ms(lambda: k._params(w), reps),
        "gradient assembly": _median_ms(lambda: k._assemble(acc, gb), reps),
        "fresh alloc + fill": _median_ms(lambda: np.empty(w.size).fill(1.0), reps),
        "refill": _median_ms(lambda: buf.fill(1.0), reps),
        "copy": _median_ms(lambda: np.array(w), reps),
    }


def _worker_side(dask_worker, reps):
    """On each worker: its group's evaluation alone, and the (d, K)-sized
    extras of a pass (transposed parameters, gradient assembly, a fresh
    parameter-sized allocation vs refilling one, a copy)."""
    from sk_softmax._objective._dask import _Group

    out = {"MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_")}
    for g in dask_worker.data.values():
        if isinstance(g, _Group):
            k = g.blocks[0].kernel
            name = f"group of {len(g.blocks)} kernel(s), {k.n_samples} rows"
            out[name] = {n: round(t, 1) for n, t in _group_times(g, reps).items()}
    return out


def breakdown(name, X, y, client, reps, n_blocks):
    """Where one round's time goes: the bare transfers of a parameter-sized
    float64 vector (to every worker, and one part back from each), the
    workers' kernel alone, the client's sum, an empty round trip; and the
    tasks' own durations inside real rounds (dask's task stream)."""
    from distributed import get_task_stream, wait

    K = int(y.max()) + 1
    mem = ChunkedSoftmaxCrossEntropy(X, y, K)
    Xd, yd = _blocks_on_workers(client, X, y, n_blocks)
    dsk = _dask_objective(Xd, yd)
    w = np.random.default_rng(0).standard_normal(mem.n_params) * 0.01
    mem.loss_gradient(w), dsk.loss_gradient(w)
    workers = sorted(client.nthreads())
    mb = w.nbytes / 2**20
    row = {"in-memory evaluation": _median_ms(lambda: mem.loss_gradient(w), reps)}
    row["dask evaluation"] = _median_ms(lambda: dsk.loss_gradient(w), reps)
    order = mem.solver_layout()
    u = order.to_model(w)
    mem_fun = mem.layout_loss_gradient(order)
    dsk_fun = dsk.layout_loss_gradient(dsk.solver_layout())
    row["in-memory evaluation, solver order"] = _median_ms(lambda: mem_fun(u), reps)
    row["dask evaluation, solver order"] = _median_ms(lambda: dsk_fun(u), reps)

    def send(**kw):
        client.scatter(w, broadcast=True, hash=False, **kw)

    def send_each():  # what the backend does: direct, all workers at once
        dsk._blocks._send((w,))

    row["send to all, via the scheduler"] = _median_ms(send, reps)
    row["send to all, direct (concurrent)"] = _median_ms(send_each, reps)
    row["send to one, direct"] = _median_ms(
        lambda: client.scatter(w, workers=workers[:1], direct=True, hash=False), reps
    )
    parts = [client.submit(np.ones, w.size, workers=[a], pure=False) for a in workers]
    wait(parts)
    row["gather one per worker, via the scheduler"] = _median_ms(
        lambda: client.gather(parts), reps
    )
    row["gather one per worker, direct"] = _median_ms(
        lambda: client.gather(parts, direct=True), reps
    )
    got = client.gather(parts, direct=True)
    from sk_softmax._objective._dask import _sum

    row["client sum of the parts"] = _median_ms(lambda: _sum(got), reps)
    row["empty task round trip"] = _median_ms(
        lambda: client.submit(int, 1, pure=False).result(), reps
    )
    with get_task_stream(client) as ts:
        for _ in range(reps):
            dsk_fun(u)
    tasks = [t for t in ts.data if "loss_gradient" in str(t["key"])]
    durations = [
        s["stop"] - s["start"]
        for t in tasks
        for s in t["startstops"]
        if s["action"] == "compute"
    ]
    row["task compute inside rounds"] = float(np.median(durations)) * 1e3
    print(
        f"{name}: round breakdown ({mb:.0f} MB per parameter vector, {len(workers)} "
        f"workers, {n_blocks} blocks; medians of {reps}, ms; loadavg "
        f"{os.getloadavg()[0]:.2f})"
    )
    for k, v in row.items():
        print(f"  {k}: {v:.1f}")
    for worker, out in client.run(_worker_side, reps=reps).items():
        print(f"  worker {worker}: {out}")
    dsk.close()


def larger_than_memory(rows, limit):
    import dask.array as da
    import distributed

    d, K = 100, 20
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        block = 25000
        stack = os.path.join(tmp, "X")
        os.makedirs(stack)
        ys = []
        for i, start in enumerate(range(0, rows, block)):
            n = min(block, rows - start)
            Xb = rng.standard_normal((n, d))
            ys.append((Xb[:, :K] + rng.gumbel(size=(n, K))).argmax(axis=1))
            np.save(os.path.join(stack, f"{i}.npy"), Xb)
        n_blocks = len(ys)
        import pickle

        with open(os.path.join(stack, "info"), "wb") as f:
            pickle.dump(
                {
                    "chunks": ((block,) * (rows // block), (d,)),
                    "dtype": np.float64,
                    "axis": 0,
                },
                f,
            )
        y = np.concatenate(ys)
        # labels as .npy blocks too: no data in the graph
        da.to_npy_stack(os.path.join(tmp, "y"), da.from_array(y, chunks=block))
        nbytes = rows * d * 8
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                memory_limit=limit,
                dashboard_address=":0",
                silence_logs=40,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            pids = list(client.run(os.getpid).values())
            base = [_rss_mb(p) for p in pids]
            sampler = _PeakRSS(pids)
            Xd = da.from_npy_stack(stack, mmap_mode="r")
            yd = da.from_npy_stack(os.path.join(tmp, "y"), mmap_mode="r")
            t0 = time.perf_counter()
            with sampler:
                fit = SoftmaxRegression(solver="lbfgs", max_iter=10).fit(Xd, yd)
            t1 = time.perf_counter()
            peak = sampler.peak
        print(
            f"larger than memory: {rows} x {d} float64 = {nbytes / 2**20:.0f} MiB "
            f"in {n_blocks} .npy blocks, 2 workers with memory_limit={limit}; "
            f"fit (max_iter=10, {fit.n_iter_} it) {t1 - t0:.1f} s; worker RSS "
            f"(MiB) before the fit {[round(v) for v in base]}, peak during the "
            f"fit {[round(v) for v in peak]}; loadavg {os.getloadavg()[0]:.2f}"
        )


def main():
    import distributed

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--limit", default="400MiB")
    parser.add_argument("--skip", default="")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument(
        "--breakdown", action="store_true", help="where a round's time goes"
    )
    parser.add_argument("--reps", type=int, default=0, help="repetitions (median)")
    args = parser.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    t0 = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(lambda: __import__("sk_softmax._objective._dask"))
        print(
            f"cluster start-up (2 worker processes, imports): "
            f"{time.perf_counter() - t0:.1f} s"
        )
        for name in ["dense_200000x100_K20", "csr_50000x200000_K20"]:
            if name.split("_")[0] in args.skip.split(","):
                continue
            X, y = make_data(name, quick=args.quick)
            if args.breakdown:
                breakdown(name, X, y, client, reps, args.blocks)
                continue
            per_evaluation(name, X, y, client, reps, args.blocks)
    if "big" not in args.skip.split(","):
        larger_than_memory(args.big_rows, args.limit)


if __name__ == "__main__":
    main()
