"""Fits from several threads at once against the same fits in series.

``GridSearchCV`` over ``SoftmaxRegression`` (4 values of C x 3 folds) with
``n_jobs=1`` and with ``n_jobs=2`` under joblib's threading backend, and the
same for ``LogisticRegression`` as a reference, interleaved; then the BLAS
settings of every loaded library are compared with those before the runs.

Usage::

    python benchmarks/bench_threads.py [--repeats 5] [--n 20000] [--d 60]

Prints the median wall time of each configuration and the ratio threaded /
serial (below 1: the threads help; about 1: they cost nothing).
"""

import argparse
import time
import warnings

import numpy as np
from joblib import parallel_backend
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_info

from sk_softmax import SoftmaxRegression


def pools():
    """(filepath, user_api) -> num_threads of every loaded library."""
    return {(i["filepath"], i["user_api"]): i["num_threads"] for i in threadpool_info()}


def search(estimator, X, y, n_jobs):
    grid = GridSearchCV(estimator, {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3, n_jobs=n_jobs)
    t0 = time.perf_counter()
    with parallel_backend("threading", n_jobs=n_jobs):
        grid.fit(X, y)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--d", type=int, default=60)
    args = p.parse_args()
    rng = np.random.RandomState(0)
    X = rng.randn(args.n, args.d)
    y = np.arange(args.n) % 4
    warnings.simplefilter("ignore", ConvergenceWarning)
    before = pools()
    configs = [
        ("SoftmaxRegression", SoftmaxRegression()),
        ("LogisticRegression", LogisticRegression()),
    ]
    times = {(name, n_jobs): [] for name, _ in configs for n_jobs in (1, 2)}
    for _ in range(args.repeats):
        for name, est in configs:
            for n_jobs in (1, 2):
                times[name, n_jobs].append(search(est, X, y, n_jobs))
    print(f"GridSearchCV, 4 C x 3 folds, {args.n} x {args.d}, 4 classes, ")
    print(f"median of {args.repeats} interleaved runs (threading backend):")
    for name, _ in configs:
        serial = np.median(times[name, 1])
        threaded = np.median(times[name, 2])
        print(
            f"  {name:20s} n_jobs=1 {serial:6.2f} s   n_jobs=2 {threaded:6.2f} s"
            f"   threaded / serial {threaded / serial:.2f}"
        )
    after = pools()
    print("BLAS settings unchanged:", after == before)
    if after != before:
        print("  before:", before)
        print("  after: ", after)


if __name__ == "__main__":
    main()
