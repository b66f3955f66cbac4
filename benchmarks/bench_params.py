"""Does a process-wide cache of parameter names and validation pay off?

``sk_softmax._params.CachedParamsMixin`` (until issue 21) overrode
scikit-learn's ``BaseEstimator._get_param_names`` (``inspect.signature`` of
``__init__`` on every ``get_params``: each ``fit``, ``clone``, ``repr``) and
``_validate_params`` (every parameter checked against
``_parameter_constraints`` on every ``fit``) with a process-wide cache, to
save ~100 us per fit. This script measures what that saves on the workload
it was written for: ``GridSearchCV`` over ``SoftmaxRegression`` on small
data.

Run ``python benchmarks/bench_params.py`` (about a minute on 2 cores);
options: ``--rounds N`` (default 15, at least 7), ``--fits N`` (bare fits
per variant, default 300), ``--datasets iris wine breast_cancer``,
``--out FILE`` (one JSON line per data set, with ``"meta"``; default
``results/params.jsonl``, '' for none), ``--summary`` (pool the rounds of
every run in ``--out``: per data set, the median of the per-round savings of
each cache, paired within a round; nothing is measured).

Two variants of the same estimator, both defined here so that the script
runs with or without the cache in the package:

* ``uncached``: scikit-learn's ``_get_param_names`` and ``_validate_params``
  (``BaseEstimator``'s own);
* ``cached``: the removed mixin's cache (its code, copied below), emptied
  before each search, so that each search starts cold as a user's would;
* ``names_cached``: only the parameter names cached (per class), the
  validation scikit-learn's.

Each round runs, per data set (standardised, as scikit-learn ships it),
``GridSearchCV(estimator, {"C": 8 values}, cv=5, n_jobs=1)`` once per
variant, in rotating order (interleaved: the machine's load affects both
alike); medians over the rounds and their ratio are reported, with the
median of the per-round differences of the validation cache (``cached``
against ``names_cached`` in the same round: less sensitive to the load
drifting between rounds), the per-fit cost of ``get_params`` +
``_validate_params`` alone and the median time of ``--fits`` bare fits of
each variant (interleaved; the same fit repeated, as ``bench_small.py``
does: the validation cache's best case).
The searches run with one BLAS thread (``threadpool_limits(1)``, entered
outside the timed part), as ``bench_small.py``'s "1 thread" setting.
"""

import argparse
import functools
import json
import numbers
import os
import time
import warnings

import numpy as np
from _meta import run_meta
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sk_softmax import SoftmaxRegression

LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}
GRID = {"C": list(np.logspace(-3, 3, 8))}
CV = 5

# ------------------------------------------------ the cache, as it was shipped
_SCALAR_TYPES = (type(None), bool, int, float, str, np.generic)
_VALIDATED = set()
_VALIDATED_MAX = 1024


@functools.cache
def _param_names(cls):
    return tuple(BaseEstimator._get_param_names.__func__(cls))


def _validation_key(estimator, params):
    items = []
    for name, value in params.items():
        if not isinstance(value, _SCALAR_TYPES) or (
            isinstance(value, numbers.Real) and value != value
        ):
            return None
        items.append((name, type(value), value))
    return (type(estimator), tuple(items))


class CachedSoftmaxRegression(SoftmaxRegression):
    """``SoftmaxRegression`` with the process-wide cache."""

    @classmethod
    def _get_param_names(cls):
        return list(_param_names(cls))

    def _validate_params(self):
        key = _validation_key(self, self.get_params(deep=False))
        if key is not None and key in _VALIDATED:
            return
        BaseEstimator._validate_params(self)
        if key is not None:
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED.add(key)


class NamesCachedSoftmaxRegression(SoftmaxRegression):
    """``SoftmaxRegression`` with the names cached, the validation not."""

    @classmethod
    def _get_param_names(cls):
        return list(_param_names(cls))

    def _validate_params(self):
        BaseEstimator._validate_params(self)


class UncachedSoftmaxRegression(SoftmaxRegression):
    """``SoftmaxRegression`` with scikit-learn's own methods."""

    @classmethod
    def _get_param_names(cls):
        return BaseEstimator._get_param_names.__func__(cls)

    def _validate_params(self):
        BaseEstimator._validate_params(self)


VARIANTS = {
    "cached": CachedSoftmaxRegression,
    "names_cached": NamesCachedSoftmaxRegression,
    "uncached": UncachedSoftmaxRegression,
}


def search_time(cls, X, y):
    """Wall time of one grid search (the cache emptied first)."""
    _VALIDATED.clear()
    grid = GridSearchCV(cls(), GRID, cv=CV, n_jobs=1)
    t0 = time.perf_counter()
    grid.fit(X, y)
    return time.perf_counter() - t0


def overhead_us(cls, repeats=2000):
    """Median per-fit cost (us) of ``get_params`` + ``_validate_params`` (warm)."""
    est = cls(C=0.5)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.get_params()
        est._validate_params()
        times.append(time.perf_counter() - t0)
    return 1e6 * float(np.median(times))


def fit_times(X, y, fits):
    """Median wall time (ms) of one bare fit per variant, interleaved: the
    same fit repeated, the validation cache's best case (every fit but the
    first finds its values there), as in ``bench_small.py``."""
    times = {v: [] for v in VARIANTS}
    for _ in range(fits):
        for variant, cls in VARIANTS.items():
            t0 = time.perf_counter()
            cls(C=1.0).fit(X, y)
            times[variant].append(time.perf_counter() - t0)
    return {v: 1e3 * float(np.median(t)) for v, t in times.items()}


def run_dataset(name, rounds, fits):
    X, y = LOADERS[name](return_X_y=True)
    X = StandardScaler().fit_transform(X)
    times = {v: [] for v in VARIANTS}
    for r in range(rounds):
        order = list(VARIANTS)[r % 3 :] + list(VARIANTS)[: r % 3]  # rotated
        for variant in order:
            times[variant].append(search_time(VARIANTS[variant], X, y))
    bare = fit_times(X, y, fits)
    cached = float(np.median(times["cached"]))
    names = float(np.median(times["names_cached"]))
    uncached = float(np.median(times["uncached"]))
    n_fits = len(GRID["C"]) * CV + 1
    return {
        "dataset": name,
        "shape": list(X.shape),
        "n_classes": int(np.unique(y).size),
        "grid": {"C": [float(c) for c in GRID["C"]]},
        "cv": CV,
        "fits_per_search": n_fits,
        "rounds": rounds,
        "cached_ms": 1e3 * cached,
        "names_cached_ms": 1e3 * names,
        "uncached_ms": 1e3 * uncached,
        "saving_share": (uncached - cached) / uncached,
        "names_saving_share": (uncached - names) / uncached,
        # what the validation cache adds to the names cache, paired by round
        "validation_saving_share_paired": float(
            np.median(
                [
                    (n - c) / n
                    for n, c in zip(times["names_cached"], times["cached"], strict=True)
                ]
            )
        ),
        "saving_per_fit_us": 1e6 * (uncached - cached) / n_fits,
        **{f"{v}_ms_all": [1e3 * t for t in times[v]] for v in VARIANTS},
        **{f"overhead_{v}_us": overhead_us(cls) for v, cls in VARIANTS.items()},
        "bare_fits": fits,
        **{f"fit_{v}_ms": t for v, t in bare.items()},
    }


def summary(path):
    """Pool the rounds of every run in ``path``: per data set, the median of
    the per-round savings of each cache (paired within a round)."""
    pooled = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            rounds = zip(
                row["uncached_ms_all"],
                row["names_cached_ms_all"],
                row["cached_ms_all"],
                strict=True,
            )
            pooled.setdefault(row["dataset"], []).extend(rounds)
    print(f"{'data':<14}{'rounds':>7}{'names cache':>13}{'validation cache':>18}")
    for name, rounds in pooled.items():
        u, n, c = np.array(rounds).T
        print(
            f"{name:<14}{len(rounds):>7}{100 * np.median((u - n) / u):>12.1f}%"
            f"{100 * np.median((n - c) / n):>17.1f}%"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(LOADERS))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--fits", type=int, default=300, help="bare fits per variant")
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "results", "params.jsonl"),
        help="append JSON lines here ('' for none)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="pool the runs of --out and stop"
    )
    args = parser.parse_args(argv)
    if args.summary:
        summary(args.out)
        return
    if args.rounds < 7:
        parser.error("--rounds must be at least 7")
    header = (
        f"{'data':<14}{'fits':>5}{'cached ms':>11}{'names ms':>10}"
        f"{'uncached ms':>13}{'saving':>8}{'names':>7}{'us/fit':>8}"
        f"{'valid.':>7}{'get+validate us (c/n/u)':>26}{'bare fit ms (c/n/u)':>24}"
    )
    print(header)
    print("-" * len(header))
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # ConvergenceWarning at large C
        for name in args.datasets:
            load = os.getloadavg()[0]
            row = run_dataset(name, args.rounds, args.fits)
            row["meta"] = run_meta(load)
            print(
                f"{row['dataset']:<14}{row['fits_per_search']:>5}"
                f"{row['cached_ms']:>11.1f}{row['names_cached_ms']:>10.1f}"
                f"{row['uncached_ms']:>13.1f}"
                f"{100 * row['saving_share']:>7.1f}%"
                f"{100 * row['names_saving_share']:>6.1f}%"
                f"{row['saving_per_fit_us']:>8.0f}"
                f"{100 * row['validation_saving_share_paired']:>6.1f}%"
                f"{row['overhead_cached_us']:>10.0f} / "
                f"{row['overhead_names_cached_us']:.0f} / "
                f"{row['overhead_uncached_us']:.0f}"
                f"{row['fit_cached_ms']:>10.3f} / {row['fit_names_cached_ms']:.3f}"
                f" / {row['fit_uncached_ms']:.3f}"
            )
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
