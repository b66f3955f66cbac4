"""Small-data fit time: ``SoftmaxRegression`` vs ``LogisticRegression``.

Run ``python benchmarks/bench_small.py`` (about a minute on 2 cores);
options: ``--repeats N`` (fits of each estimator per setting, default 40),
``--budget S`` (stop a data set's rounds after S seconds, half per setting,
at least 5 rounds; default 12), ``--datasets iris wine ...``, ``--out FILE``
(one JSON line per data set and setting).

On the standardised iris, wine, breast_cancer and digits data sets that
scikit-learn ships, with defaults and the same objective (``tol=1e-4``;
``C=1``, for two classes ``LogisticRegression(C=2)``, which fits the same
model as ``SoftmaxRegression(C=1)``, see the README), it measures the median
wall time of a fit of each estimator in two settings:

* ``shipped``: the BLAS thread pools as the process has them;
* ``1 thread``: inside ``threadpool_limits(1)`` (every BLAS at one thread),
  entered outside the timed fits (creating a threadpoolctl controller costs
  ~2 ms, more than a whole small fit).

Besides the wall time, the CPU time of the process (``time.process_time``,
all its threads) is measured per fit: on a machine shared with other jobs a
millisecond fit is often preempted, which inflates wall-time medians
erratically, while single-threaded CPU time stays put (as shipped, it also
counts the CPU that BLAS threads burn).

The fits are interleaved: each round times ours and ``LogisticRegression``,
in alternating order, so that the machine's load affects both alike;
medians and their ratio are reported. The two settings run one after the
other (OpenBLAS threads keep spinning for a while after a threaded call, and
would slow the next single-threaded fits: measured 11 ms instead of 3 ms per
fit on breast_cancer when the settings alternated). The final objective of
each fitted model is computed by one independent float64 function
(:func:`objective`) to show that both reach the same optimum.
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import scipy
import sklearn
from _meta import run_meta
from scipy.special import log_softmax
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from sk_softmax import SoftmaxRegression

LOADERS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}
C = 1.0
TOL = 1e-4


def objective(X, y, coef, intercept, C=C):
    """``SoftmaxRegression``'s objective (mean CE + ||W||^2 / (2 C n)), float64.

    A binary ``LogisticRegression`` model ``(w, b)`` is the softmax model
    ``W = [-w/2, w/2]``, ``b = [-b/2, b/2]`` (same probabilities, and with
    ``C_LR = 2 C`` the same penalty ``||w||^2 / (2 C_LR) = ||W||^2 / (2 C)``).
    """
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64)
    if coef.shape[0] == 1:
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    Z = X @ coef.T + intercept
    nll = -log_softmax(Z, axis=1)[np.arange(X.shape[0]), y].sum()
    return (nll + float(np.sum(coef**2)) / (2 * C)) / X.shape[0]


def make(name, n_classes):
    if name == "ours":
        return SoftmaxRegression(C=C, tol=TOL)
    return LogisticRegression(C=2 * C if n_classes == 2 else C, tol=TOL)


def timed_fit(name, X, y, n_classes):
    """Fit once; the fitted estimator, its wall time and its process CPU time."""
    est = make(name, n_classes)
    c0, t0 = time.process_time(), time.perf_counter()
    est.fit(X, y)
    return est, time.perf_counter() - t0, time.process_time() - c0


def run_dataset(data_name, args, controller):
    X, y = LOADERS[data_name](return_X_y=True)
    X = StandardScaler().fit_transform(X)
    K = int(np.unique(y).size)
    settings = ("shipped", "1 thread")
    times = {(s, e): [] for s in settings for e in ("ours", "lr")}
    cpu = {(s, e): [] for s in settings for e in ("ours", "lr")}
    models = {}
    for setting in settings:
        limit = controller.limit(limits=1) if setting == "1 thread" else None
        try:
            time.sleep(0.2)  # let the BLAS threads of earlier fits go idle
            start = time.perf_counter()
            for r in range(args.repeats):
                for est_name in ("ours", "lr") if r % 2 == 0 else ("lr", "ours"):
                    est, t, c = timed_fit(est_name, X, y, K)
                    times[setting, est_name].append(t)
                    cpu[setting, est_name].append(c)
                    models[setting, est_name] = est
                if r + 1 >= 5 and time.perf_counter() - start > args.budget / 2:
                    break
        finally:
            if limit is not None:
                limit.restore_original_limits()
    rows = []
    for setting in settings:
        ours, lr = models[setting, "ours"], models[setting, "lr"]
        f_ours = objective(X, y, ours.coef_, ours.intercept_)
        f_lr = objective(X, y, lr.coef_, lr.intercept_)
        t_ours = float(np.median(times[setting, "ours"]))
        t_lr = float(np.median(times[setting, "lr"]))
        c_ours = float(np.median(cpu[setting, "ours"]))
        c_lr = float(np.median(cpu[setting, "lr"]))
        rows.append(
            {
                "dataset": data_name,
                "shape": list(X.shape),
                "n_classes": K,
                "n_params": K * (X.shape[1] + 1),
                "setting": setting,
                "fits": len(times[setting, "ours"]),
                "ours_ms": 1e3 * t_ours,
                "lr_ms": 1e3 * t_lr,
                "ratio": t_ours / t_lr,
                "ours_cpu_ms": 1e3 * c_ours,
                "lr_cpu_ms": 1e3 * c_lr,
                "cpu_ratio": c_ours / c_lr,
                "n_iter_ours": int(ours.n_iter_),
                "n_iter_lr": int(np.max(lr.n_iter_)),
                "objective_ours": f_ours,
                "objective_lr": f_lr,
                "objective_rel_diff": (f_ours - f_lr) / abs(f_lr),
            }
        )
    return rows


def environment():
    blas = sorted(
        {
            f"{lib.internal_api} {lib.version} ({lib.filepath.rsplit('/', 1)[-1]})"
            for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas"
        }
    )
    return (
        f"{platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}; "
        f"BLAS: {'; '.join(blas)}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(LOADERS))
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--budget", type=float, default=12.0)
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "results", "small.jsonl"),
        help="append JSON lines here ('' for none)",
    )
    args = parser.parse_args(argv)
    controller = ThreadpoolController()
    print(environment())
    header = (
        f"{'data':<14}{'params':>7}  {'setting':<9}{'fits':>5}"
        f"{'ours ms':>9}{'LR ms':>9}{'ratio':>7}{'CPU ratio':>10}"
        f"{'n_iter':>9}{'obj. rel. diff':>16}"
    )
    print(header)
    print("-" * len(header))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning shows in n_iter
        for name in args.datasets:
            load = os.getloadavg()[0]
            for row in run_dataset(name, args, controller):
                row["meta"] = run_meta(load)
                row["machine"] = environment()
                print(
                    f"{row['dataset']:<14}{row['n_params']:>7}  "
                    f"{row['setting']:<9}{row['fits']:>5}"
                    f"{row['ours_ms']:>9.2f}{row['lr_ms']:>9.2f}"
                    f"{row['ratio']:>7.2f}{row['cpu_ratio']:>10.2f}"
                    f"{row['n_iter_ours']:>5}/{row['n_iter_lr']:<3}"
                    f"{row['objective_rel_diff']:>+16.1e}"
                )
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
