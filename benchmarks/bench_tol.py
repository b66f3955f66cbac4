"""How far from the optimum does ``tol`` stop? Ours and ``LogisticRegression``.

Both estimators stop when ``max|grad|`` of the mean objective is at most
``tol``. On an ill-conditioned problem (many classes, correlated features) a
gradient of 1e-4 can leave the objective percents above its minimum, and
where each solver happens to pass below ``tol`` decides where it stops. This
script measures that distribution instead of one case.

For each data set (the scaled-down ``--quick`` shapes of :mod:`datasets`,
several seeds, float64 and float32) it fits, with ``C=1`` and
``max_iter=1000``:

* ``SoftmaxRegression`` (default solver) at each of ``--tols``;
* ``LogisticRegression(solver="lbfgs")`` at each of ``--lr-tols``;
* a reference: ``SoftmaxRegression(solver="newton-cg", tol=1e-10)`` on a
  float64 copy of the data (``--ref-tol``), whose objective ``f*`` is the
  optimum up to ~1e-12 relative (it must be at most every other fit's
  objective; the script checks it). ``--ref-tol 0`` skips it (objectives
  only, no gaps: for shapes where the reference is too slow).

Every model is scored by one independent float64 objective
(``objective()`` of ``bench_vs_logreg.py``); a fit's *gap* is
``(f - f*) / |f*|``. Also recorded: iterations, fit time, the share of
training predictions equal to the reference's, and the largest difference of
predicted probabilities from the reference's.

``--full`` adds the case reported in issue 20 (``dense_50000x256_K200``,
float32, seed 0; several minutes on 2 cores).

Usage::

    python benchmarks/bench_tol.py                   # quick shapes, seeds 0-4
    python benchmarks/bench_tol.py --seeds 0 1 --full
    python benchmarks/report.py                      # tables and figures

Results: one JSON line per (data set, dtype, seed) in ``--out``
(default ``benchmarks/results/tol.jsonl``), with :func:`_meta.run_meta`.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's sk_softmax first

from _meta import run_meta  # noqa: E402
from bench_vs_logreg import machine, objective  # noqa: E402
from datasets import make_data  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from sk_softmax import SoftmaxRegression  # noqa: E402

C = 1.0
MAX_ITER = 1000
QUICK_SHAPES = [
    "dense_60000x784_K10",
    "dense_200000x100_K20",
    "dense_50000x256_K200",
    "csr_50000x200000_K20",
]
FULL_CASE = ("dense_50000x256_K200", "float32", 0)


def _fit(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t0
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, seconds, warned


def _proba(X, coef, intercept):
    Z = np.asarray(X.astype(np.float64) @ np.asarray(coef, dtype=np.float64).T)
    Z += np.asarray(intercept, dtype=np.float64)
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    return P / P.sum(axis=1, keepdims=True)


def run_case(shape, dtype, seed, quick, tols, lr_tols, ref_tol):
    X, y = make_data(shape, dtype=np.dtype(dtype), quick=quick, seed=seed)
    y = np.unique(y, return_inverse=True)[1]
    if ref_tol > 0:
        ref, ref_s, ref_warned = _fit(
            SoftmaxRegression(C=C, solver="newton-cg", tol=ref_tol, max_iter=MAX_ITER),
            X.astype(np.float64),
            y,
        )
        f_ref = objective(X, y, ref.coef_, ref.intercept_)
        P_ref = _proba(X, ref.coef_, ref.intercept_)
    fits = []
    todo = [("SoftmaxRegression", t) for t in tols]
    todo += [("LogisticRegression", t) for t in lr_tols]
    for name, tol in todo:
        if name == "SoftmaxRegression":
            est = SoftmaxRegression(C=C, tol=tol, max_iter=MAX_ITER)
        else:
            est = LogisticRegression(C=C, solver="lbfgs", tol=tol, max_iter=MAX_ITER)
        est, seconds, warned = _fit(est, X, y)
        f = objective(X, y, est.coef_, est.intercept_)
        P = _proba(X, est.coef_, est.intercept_)
        fit = {
            "estimator": name,
            "tol": tol,
            "solver": getattr(est, "solver_", "lbfgs"),
            "n_iter": int(np.max(est.n_iter_)),
            "warned": warned,
            "time": seconds,
            "objective": f,
            "gap": None,  # without a reference (--ref-tol 0)
            "same_predictions": None,
            "max_proba_diff": None,
        }
        if ref_tol > 0:
            fit["gap"] = (f - f_ref) / abs(f_ref)
            fit["same_predictions"] = float(np.mean(P.argmax(1) == P_ref.argmax(1)))
            fit["max_proba_diff"] = float(np.abs(P - P_ref).max())
        fits.append(fit)
    n, d = X.shape
    row = {
        "shape": shape,
        "quick": quick,
        "n_samples": n,
        "n_features": d,
        "n_classes": int(y.max()) + 1,
        "dtype": dtype,
        "seed": seed,
        "reference": None,
        "fits": fits,
    }
    if ref_tol > 0:
        row["reference"] = {
            "tol": ref_tol,
            "n_iter": int(ref.n_iter_),
            "warned": ref_warned,
            "time": ref_s,
            "objective": f_ref,
            # The reference must be the lowest objective of all fits.
            "lowest": bool(all(f_ref <= r["objective"] * (1 + 1e-12) for r in fits)),
        }
    return row


def summary(row):
    parts = [f"{row['shape']}{' quick' if row['quick'] else ''} {row['dtype']}"]
    ref = row["reference"]
    parts.append(f"seed {row['seed']} ref {ref['n_iter'] if ref else '-'} it")
    for r in row["fits"]:
        name = "ours" if r["estimator"] == "SoftmaxRegression" else "LR"
        parts.append(
            f"{name} tol={r['tol']:g}: {r['n_iter']}{'*' if r['warned'] else ''} it "
            f"objective {r['objective']:.8g}"
            + (
                f" gap {r['gap']:.1e} same pred {r['same_predictions']:.4f}"
                if r["gap"] is not None
                else ""
            )
        )
    return " | ".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=QUICK_SHAPES)
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--tols", nargs="+", type=float, default=[1e-4, 1e-5, 1e-6])
    p.add_argument("--lr-tols", nargs="+", type=float, default=[1e-4, 1e-6])
    p.add_argument("--ref-tol", type=float, default=1e-10)
    p.add_argument("--no-quick", action="store_true", help="full-size shapes")
    p.add_argument("--full", action="store_true", help="add issue 20's full case")
    p.add_argument("--out", default=os.path.join(HERE, "results", "tol.jsonl"))
    args = p.parse_args(argv)
    cases = [
        (shape, dtype, seed, not args.no_quick)
        for shape in args.shapes
        for dtype in args.dtypes
        if not (shape.startswith("csr") and dtype == "float32")
        for seed in args.seeds
    ]
    if args.full:
        cases.append((*FULL_CASE, False))
    print(machine(), flush=True)
    for shape, dtype, seed, quick in cases:
        load = os.getloadavg()[0]
        row = run_case(shape, dtype, seed, quick, args.tols, args.lr_tols, args.ref_tol)
        row["meta"] = run_meta(load)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(summary(row), flush=True)


if __name__ == "__main__":
    main()
