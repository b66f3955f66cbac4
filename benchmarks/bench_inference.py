"""Inference: ``fit`` + ``inference`` vs statsmodels' ``MNLogit`` Newton fit + ``bse``.

Run ``python benchmarks/bench_inference.py`` (all cases), or e.g.
``--cases compare``; ``--repeats N`` (default 3).

``compare`` (dense 200000 x 30, K=5, the issue's shape): on the same data,

- ours: ``SoftmaxRegression(C=np.inf, tol=1e-8).fit(X, y)`` then
  ``.inference(X, y).bse``;
- statsmodels: ``MNLogit(y, add_constant(X)).fit(method="newton")`` then
  ``.bse`` (its default Newton, ``tol=1e-8`` on the step);

timed ``--repeats`` times each, interleaved in this process; the medians,
their ratio and the largest relative difference of the standard errors are
reported.

``large`` (dense 2,000,000 x 50, K=10, float64: 800 MB of X): ours only,
fit + inference, in a fresh subprocess that generates the data and then
measures the time and the peak extra memory (beyond X: the rise of the
peak RSS, ``VmHWM``, reset once X exists, and the ``tracemalloc`` peak, the
larger of the two).

``tenth`` (the first 1/10 of the rows of ``large``: 200000 x 50, K=10):
statsmodels and ours, one fit each, to show statsmodels' cost on a tenth of
the large problem; at 10x the rows each of its Newton iterations takes 10x
as long (its Hessian is a Python double loop over class pairs of
``(n, d + 1)`` products).

Each case is printed and appended as one JSON line to ``--out`` (default
``benchmarks/bench_inference_results.jsonl``), with the load average.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sk_softmax import SoftmaxRegression  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def make_data(n, d, K, seed=0):
    """``(X, y)``: correlated unit-scale features, labels drawn from a softmax
    model with known weights (``argmax(X W^T + b + Gumbel)``): identifiable,
    not separable."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X += rng.standard_normal((n, 4)) @ rng.standard_normal((4, d)) * 0.2
    X /= X.std(axis=0)
    W = rng.standard_normal((K, d)) / np.sqrt(d)
    b = rng.standard_normal(K) * 0.5
    Z = X @ W.T + b + rng.gumbel(size=(n, K))
    return X, Z.argmax(axis=1)


def ours(X, y):
    clf = SoftmaxRegression(C=np.inf, tol=1e-8, max_iter=1000).fit(X, y)
    return clf.inference(X, y).bse, clf.solver_, clf.n_iter_


def statsmodels_fit(X, y):
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", disp=0)
    return np.asarray(res.bse), res.mle_retvals["iterations"]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def case_compare(repeats):
    X, y = make_data(200000, 30, 5)
    t_ours, t_sm = [], []
    for _ in range(repeats):
        t, (bse, solver, n_iter) = timed(ours, X, y)
        t_ours.append(t)
        t, (bse_sm, sm_iter) = timed(statsmodels_fit, X, y)
        t_sm.append(t)
    rel = float(np.max(np.abs(bse / bse_sm - 1)))
    med_o, med_s = float(np.median(t_ours)), float(np.median(t_sm))
    return {
        "case": "compare_dense_200000x30_K5",
        "ours": {"time": med_o, "times": t_ours, "solver": solver, "n_iter": n_iter},
        "statsmodels": {"time": med_s, "times": t_sm, "n_iter": int(sm_iter)},
        "ratio": med_o / med_s,
        "bse_max_rel_diff": rel,
    }


_LARGE = """
import json, sys, time, tracemalloc
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
from bench_inference import make_data, ours
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
X, y = make_data(2000000, 50, 10)
open("/proc/self/clear_refs", "w").write("5")
base = hwm()
tracemalloc.start()
t = time.perf_counter()
bse, solver, n_iter = ours(X, y)
t = time.perf_counter() - t
peak_tm = tracemalloc.get_traced_memory()[1]
print(json.dumps(dict(time=t, solver=solver, n_iter=int(n_iter),
    x_bytes=X.nbytes, peak_extra_rss=hwm() - base, peak_tracemalloc=peak_tm,
    bse_finite=bool((bse == bse).all()))))
"""


def case_large():
    code = _LARGE.format(root=os.path.dirname(HERE), here=HERE)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    big = json.loads(out.stdout.strip().splitlines()[-1])
    big["peak_extra"] = max(big["peak_extra_rss"], big["peak_tracemalloc"])
    return {"case": "large_dense_2000000x50_K10", "ours": big}


def case_tenth():
    X, y = make_data(2000000, 50, 10)
    X, y = X[:200000], y[:200000]
    t_sm, (_, sm_iter) = timed(statsmodels_fit, X, y)
    t_o, _ = timed(ours, X, y)
    return {
        "case": "tenth_of_large_dense_200000x50_K10",
        "statsmodels": {"time": t_sm, "n_iter": int(sm_iter)},
        "ours": {"time": t_o},
        "ratio": t_o / t_sm,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["compare", "large", "tenth"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", default=os.path.join(HERE, "bench_inference_results.jsonl")
    )
    args = parser.parse_args()
    for case in args.cases:
        if case == "compare":
            rec = case_compare(args.repeats)
        else:
            rec = {"large": case_large, "tenth": case_tenth}[case]()
        rec["load"] = list(os.getloadavg())
        rec["cpus"] = os.cpu_count()
        print(json.dumps(rec))
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
