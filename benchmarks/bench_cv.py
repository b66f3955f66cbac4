"""Benchmark ``SoftmaxRegressionCV`` against ``LogisticRegressionCV``.

Run ``python benchmarks/bench_cv.py`` (digits and the dense 200000 x 100 K=20
shape; the large shape takes long on 2 cores) or e.g.
``python benchmarks/bench_cv.py --data digits --repeats 5``.

Both estimators search the same grid (``Cs=10``: ``logspace(-4, 4, 10)``)
over the same folds (``cv=5``: ``StratifiedKFold(5)``) with their defaults
otherwise (``tol=1e-4``, ``scoring=None``: accuracy; ``max_iter``: 100 for
``LogisticRegressionCV``, the solver's default here; ``n_jobs=None``), and
``l1_ratios=(0,)``, ``use_legacy_attributes=False`` for
``LogisticRegressionCV`` to silence its deprecation warnings. Digits is
standardised (``StandardScaler``); the synthetic shape comes from
:mod:`datasets` (already unit-scaled).

Reported per data set: the median fit time of each over ``--repeats`` runs
(interleaved, the order alternating per repeat), the ratio ours / LRCV, the
chosen ``C`` of each, the largest difference of the held-out scores
(``scores_``), the number of ``ConvergenceWarning`` s each raised, and the
load average (1 min) before and after. Each data set is printed and appended
as one JSON line to ``--out``.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's sk_softmax

from datasets import make_data  # noqa: E402

from sk_softmax import SoftmaxRegressionCV  # noqa: E402

CS = 10
CV = 5


def load(name, quick=False):
    """``(X, y)`` of ``"digits"`` (standardised) or a :mod:`datasets` shape
    (scaled down 10x with ``quick``)."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    return make_data(name, quick=quick)


def estimators(n_jobs):
    """The two estimators, same grid, folds and (explicit, so no
    FutureWarning) l1_ratios, scoring and layout; defaults otherwise."""
    common = dict(
        Cs=CS,
        cv=CV,
        n_jobs=n_jobs,
        l1_ratios=(0,),
        scoring=None,
        use_legacy_attributes=False,
    )
    return {
        "ours": SoftmaxRegressionCV(**common),
        "lrcv": LogisticRegressionCV(**common),
    }


def timed_fit(est, X, y):
    """``(seconds, fitted estimator, number of ConvergenceWarnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t0
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, est, n_warn


def run(name, repeats, n_jobs, quick=False):
    """Interleaved fits of both estimators on ``name``; a result dict."""
    X, y = load(name, quick)
    load_before = os.getloadavg()[0]
    times = {"ours": [], "lrcv": []}
    fitted, n_warn = {}, {}
    for r in range(repeats):
        ests = estimators(n_jobs)
        order = ["ours", "lrcv"] if r % 2 == 0 else ["lrcv", "ours"]
        for key in order:
            seconds, fitted[key], n_warn[key] = timed_fit(ests[key], X, y)
            times[key].append(seconds)
            print(f"  {name} repeat {r} {key}: {seconds:.2f} s", flush=True)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {
        "data": name,
        "quick": quick,
        "shape": list(X.shape),
        "n_classes": int(len(np.unique(y))),
        "repeats": repeats,
        "n_jobs": n_jobs,
        "times": times,
        "median_s": med,
        "ratio": med["ours"] / med["lrcv"],
        "C_": {k: float(v.C_) for k, v in fitted.items()},
        "max_abs_score_diff": float(
            np.abs(fitted["ours"].scores_ - fitted["lrcv"].scores_).max()
        ),
        "convergence_warnings": n_warn,
        "loadavg_1min": [load_before, os.getloadavg()[0]],
        "versions": {
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "cpus": len(os.sched_getaffinity(0)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["digits", "dense_200000x100_K20"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="shapes / 10")
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "bench_cv_results.jsonl"),
    )
    args = parser.parse_args()
    for name in args.data:
        res = run(name, args.repeats, args.n_jobs, args.quick)
        print(
            f"{name}: ours {res['median_s']['ours']:.2f} s, "
            f"LRCV {res['median_s']['lrcv']:.2f} s, ratio {res['ratio']:.3f}; "
            f"C_ ours {res['C_']['ours']:.4g} LRCV {res['C_']['lrcv']:.4g}; "
            f"max |scores diff| {res['max_abs_score_diff']:.2e}; "
            f"ConvergenceWarnings {res['convergence_warnings']}; "
            f"load {res['loadavg_1min'][0]:.1f} -> {res['loadavg_1min'][1]:.1f}",
            flush=True,
        )
        with open(args.out, "a") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
