"""Benchmark ``SoftmaxRegression`` against ``LogisticRegression(solver="lbfgs")``.

Run ``python benchmarks/bench_vs_logreg.py`` (all cells, takes long on 2 cores)
or e.g. ``python benchmarks/bench_vs_logreg.py --quick`` (shapes scaled down
10x), ``--shapes dense_60000x784_K10 --dtypes float64 --tols 1e-4``.

For each cell (shape, dtype, tol) on deterministic synthetic data
(:mod:`datasets`), with the same ``C`` and ``tol`` and ``max_iter=1000`` for
every estimator:

* fit time, median of ``--repeats`` fits, the estimators interleaved:
  ``SoftmaxRegression`` (``ours``), ``LogisticRegression`` (``lr``) and
  ``LogisticRegression`` with scipy's own BLAS pool limited to one thread
  through threadpoolctl (``lr1``);
* iterations, whether a ConvergenceWarning was raised or ``max_iter`` hit;
* the final objective of each fitted model, computed by ONE independent
  function (:func:`objective`, ``scipy.special.log_softmax`` in float64) as
  ``LogisticRegression``'s objective divided by ``n_samples``;
* where ours ends lower than LR but after more iterations, the fit time of
  ours stopped at the first iteration reaching LR's final objective
  (:func:`time_to_objective`);
* training accuracy;
* peak extra memory of a fit (beyond the data), measured in a fresh
  subprocess that generates the data and then fits once, as the larger of
  the ``tracemalloc`` peak (numpy reports its allocations to it) and the rise
  of the peak resident set size (``VmHWM``, reset through
  ``/proc/self/clear_refs`` after the data exist). To bound the run time the
  memory fit is capped at 30 iterations: the L-BFGS history is full after 10
  and later iterations allocate the same;
* one evaluation of our loss and gradient versus the two matrix products
  ``X W^T`` and ``G^T X`` it needs, in the same process.

Each finished cell is printed and appended as one JSON line to ``--out``;
``--rst`` renders the collected lines as one RST table; the docs use the
narrower tables and figures of ``report.py``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import scipy
import sklearn
from scipy.special import log_softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _meta import run_meta  # noqa: E402
from datasets import SHAPES, make_data  # noqa: E402

from sk_softmax import SoftmaxRegression  # noqa: E402

try:  # noqa: E402 - the kernel's class (named SoftmaxCrossEntropyL2 before
    # issue 21, for compare_checkouts.py runs on older checkouts)
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
except ImportError:
    from sk_softmax._objective import (
        SoftmaxCrossEntropyL2 as ChunkedSoftmaxCrossEntropy,
    )

C = 1.0
MAX_ITER = 1000
MEM_MAX_ITER = 30


def objective(X, y, coef, intercept, C=C):
    """``LogisticRegression``'s objective / n: mean CE + ||W||^2 / (2 C n).

    Independent of every estimator's code (also used by ``bench_sparse.py``
    for the peers): float64 log-softmax by row blocks of 8192, sparse rows
    multiplied as sparse (a densified block of 200000 columns would be
    13 GB).
    """
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64).ravel()
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, 8192):
        Xb = X[start : start + 8192].astype(np.float64)
        Z = np.asarray(Xb @ coef.T) + intercept
        L = log_softmax(Z, axis=1)
        total -= L[np.arange(Z.shape[0]), y[start : start + 8192]].sum()
    return total / n + float(np.sum(coef**2)) / (2 * C * n)


def single_threaded_scipy_blas():
    """threadpoolctl limit of scipy's own BLAS (not numpy's) to one thread (LR1)."""
    import scipy
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    scipy_dir = os.path.realpath(os.path.dirname(scipy.__file__))
    paths = [
        lib.filepath
        for lib in controller.lib_controllers
        if lib.user_api == "blas"
        and os.path.realpath(lib.filepath).startswith(scipy_dir)
    ]
    return controller.select(filepath=paths).limit(limits=1)


def make_estimator(name, tol, max_iter=MAX_ITER):
    if name == "ours":
        return SoftmaxRegression(C=C, tol=tol, max_iter=max_iter)
    return LogisticRegression(C=C, tol=tol, max_iter=max_iter, solver="lbfgs")


def fit(name, X, y, tol, max_iter=MAX_ITER):
    """Fit one estimator; return (estimator, seconds, warned)."""
    est = make_estimator(name, tol, max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0 = time.perf_counter()
        if name == "lr1":
            with single_threaded_scipy_blas():
                est.fit(X, y)
        else:
            est.fit(X, y)
        seconds = time.perf_counter() - t0
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, seconds, warned


def n_iter(est):
    return int(np.max(est.n_iter_))


def _vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def memory_child(shape, dtype, tol, quick, name):
    """In a fresh process: peak extra memory (bytes) of one fit."""
    X, y = make_data(shape, dtype=np.dtype(dtype), quick=quick)
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        rss0 = _vm("VmRSS")
    except OSError:
        rss0 = None
    tracemalloc.start()
    fit(name, X, y, tol, max_iter=MEM_MAX_ITER)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = _vm("VmHWM") - rss0 if rss0 is not None else 0
    print(json.dumps({"traced": traced, "rss": rss}))


def measure_memory(args, shape, dtype, tol, name):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child-mem",
        shape,
        dtype,
        repr(tol),
        name,
    ] + (["--quick"] if args.quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return max(res["traced"], res["rss"]), res


def median_time(f, repeats=5):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def eval_vs_products(X, y, dtype):
    """Our loss+gradient vs the two products it needs (seconds, medians)."""
    K = int(y.max()) + 1
    obj = ChunkedSoftmaxCrossEntropy(X, y, K)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(obj.n_params) * 0.01
    W = np.ascontiguousarray(obj.unpack(w)[0], dtype=dtype)
    G = rng.standard_normal((X.shape[0], K)).astype(dtype)
    t_eval = median_time(lambda: obj.loss_gradient(w))
    t_prod = median_time(lambda: X @ W.T) + median_time(lambda: X.T @ G)
    return t_eval, t_prod


def time_to_objective(X, y, tol, ours, target, args):
    """Fit time of ours stopped at the first iteration reaching ``target``.

    How long ours takes to be as good as ``LogisticRegression``: where ours
    ends lower than LR but only after more iterations
    (LR stopped on its ``ftol`` test short of ``tol``, ours went on), this
    times ``max_iter=k`` fits (median of ``--repeats``), ``k`` the first
    iteration whose objective in ``loss_curve_`` is at most ``target``; the
    independent objective of that fit is recorded with it. None where ours
    needs all its iterations (or never gets there).
    """
    curve = np.asarray(ours.loss_curve_)
    hits = np.flatnonzero(curve <= target)
    if hits.size == 0 or hits[0] + 1 >= ours.n_iter_:
        return None
    k = int(hits[0]) + 1
    times = []
    for _ in range(args.repeats):
        est, seconds, _ = fit("ours", X, y, tol, max_iter=k)
        times.append(seconds)
    return {
        "n_iter": k,
        "time": float(np.median(times)),
        "times": times,
        "obj": objective(X, y, est.coef_, est.intercept_),
    }


def run_cell(args, shape, dtype, tol):
    X, y = make_data(shape, dtype=np.dtype(dtype), quick=args.quick)
    y = np.unique(y, return_inverse=True)[1]  # codes 0..K-1 of present classes
    names = ["ours", "lr", "lr1"]
    times = {k: [] for k in names}
    last = {}
    for _ in range(args.repeats):
        for name in names:
            est, seconds, warned = fit(name, X, y, tol)
            times[name].append(seconds)
            last[name] = (est, warned)
    row = {
        "shape": shape,
        "dtype": dtype,
        "tol": tol,
        "quick": args.quick,
        "repeats": args.repeats,
    }
    for name in names:
        est, warned = last[name]
        row[name] = {
            "time": float(np.median(times[name])),
            "times": times[name],
            "n_iter": n_iter(est),
            "warned": warned,
            "obj": objective(X, y, est.coef_, est.intercept_),
            "acc": float(np.mean(est.predict(X) == y)),
        }
    to_lr = time_to_objective(X, y, tol, last["ours"][0], row["lr"]["obj"], args)
    if to_lr is not None:
        row["ours"]["to_lr_obj"] = to_lr
    t_eval, t_prod = eval_vs_products(X, y, np.dtype(dtype))
    row["eval_ms"], row["two_products_ms"] = 1e3 * t_eval, 1e3 * t_prod
    if not args.no_memory:
        for name in ["ours", "lr"]:
            row[name]["mem"], row[name]["mem_detail"] = measure_memory(
                args, shape, dtype, tol, name
            )
    return row


def summary(row):
    o, lr, lr1 = row["ours"], row["lr"], row["lr1"]
    rel = (o["obj"] - lr["obj"]) / abs(lr["obj"])
    parts = [
        f"{row['shape']} {row['dtype']} tol={row['tol']:g}",
        f"time ours {o['time']:.2f}s lr {lr['time']:.2f}s lr1 {lr1['time']:.2f}s",
        f"ratio {o['time'] / lr['time']:.2f} vs-lr1 {o['time'] / lr1['time']:.2f}",
        f"iter {o['n_iter']}/{lr['n_iter']}/{lr1['n_iter']}",
        f"warn {int(o['warned'])}/{int(lr['warned'])}",
        f"obj rel diff {rel:+.1e}",
        f"acc {o['acc']:.4f}/{lr['acc']:.4f}",
        f"eval {row['eval_ms']:.0f}ms two-products {row['two_products_ms']:.0f}ms",
    ]
    if "to_lr_obj" in o:
        t = o["to_lr_obj"]
        parts.append(
            f"to LR's objective: {t['time']:.2f}s at iter {t['n_iter']} ratio "
            f"{t['time'] / lr['time']:.2f} vs-lr1 {t['time'] / lr1['time']:.2f} "
            f"obj rel diff {(t['obj'] - lr['obj']) / abs(lr['obj']):+.1e}"
        )
    if "mem" in o:
        parts.append(
            f"mem ours {o['mem'] / 2**20:.0f}MiB lr {lr['mem'] / 2**20:.0f}MiB "
            f"ratio {o['mem'] / lr['mem']:.2f}"
        )
    return " | ".join(parts)


def machine():
    model = platform.processor()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    from threadpoolctl import threadpool_info

    blas = sorted(
        {
            f"{i['internal_api']} {i['version']} ({os.path.basename(i['filepath'])})"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        }
    )
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}; BLAS: {'; '.join(blas)}"
    )


def render_rst(rows):
    header, lines = table(rows)
    out = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header] + lines:
        out.append("   * - " + cells[0])
        out.extend("     - " + c for c in cells[1:])
    return "\n".join(out)


def render_markdown(rows):
    header, lines = table(rows)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def table(rows):
    header = [
        "shape",
        "dtype",
        "tol",
        "ours (s)",
        "LR (s)",
        "ratio",
        "LR1 (s)",
        "ratio LR1",
        "n_iter ours/LR",
        "objective rel. diff",
        "accuracy ours/LR",
        "eval / 2 products (ms)",
        "ours to LR's objective: s (ratio / ratio LR1)",
        "memory ours/LR (MiB)",
        "mem. ratio",
    ]
    lines = []
    for row in rows:
        o, lr, lr1 = row["ours"], row["lr"], row["lr1"]
        rel = (o["obj"] - lr["obj"]) / abs(lr["obj"])
        it = f"{o['n_iter']}{'*' if o['warned'] else ''}/"
        it += f"{lr['n_iter']}{'*' if lr['warned'] else ''}"
        mem = mem_ratio = "not run"
        to_lr = "-"
        if "to_lr_obj" in o:
            t = o["to_lr_obj"]
            to_lr = (
                f"{t['time']:.2f} at iter {t['n_iter']} "
                f"({t['time'] / lr['time']:.2f} / {t['time'] / lr1['time']:.2f})"
            )
        if "mem" in o:
            mem = f"{o['mem'] / 2**20:.0f} / {lr['mem'] / 2**20:.0f}"
            mem_ratio = f"{o['mem'] / lr['mem']:.2f}"
        lines.append(
            [
                row["shape"],
                row["dtype"],
                f"{row['tol']:g}",
                f"{o['time']:.2f}",
                f"{lr['time']:.2f}",
                f"{o['time'] / lr['time']:.2f}",
                f"{lr1['time']:.2f}",
                f"{o['time'] / lr1['time']:.2f}",
                it,
                f"{rel:+.1e}",
                f"{o['acc']:.3f} / {lr['acc']:.3f}",
                f"{row['eval_ms']:.0f} / {row['two_products_ms']:.0f}",
                to_lr,
                mem,
                mem_ratio,
            ]
        )
    return header, lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--tols", nargs="+", type=float, default=[1e-4, 1e-8])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="shapes scaled down 10x")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "results", "vs_logreg.jsonl"),
    )
    p.add_argument("--rst", action="store_true", help="render --out as RST")
    p.add_argument("--md", action="store_true", help="render --out as Markdown")
    p.add_argument("--child-mem", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_mem:
        shape, dtype, tol, name = args.child_mem
        memory_child(shape, dtype, float(tol), args.quick, name)
        return
    if args.rst or args.md:
        with open(args.out) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if rows:
            machine_text = rows[0]["machine"]
            if args.rst:  # literal, so that names like "lib_x_.so" are not links
                machine_text = f"``{machine_text}``"
            print(f"Machine: {machine_text}.\n")
        print(render_rst(rows) if args.rst else render_markdown(rows))
        return
    print(machine(), flush=True)
    for tol in args.tols:
        for dtype in args.dtypes:
            for shape in args.shapes:
                load = os.getloadavg()[0]
                row = run_cell(args, shape, dtype, tol)
                row["machine"] = machine()
                row["meta"] = run_meta(load)
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(summary(row), flush=True)


if __name__ == "__main__":
    main()
