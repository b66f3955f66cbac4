"""Main demo: SoftmaxRegression vs LogisticRegression on the digits data.

Fits both estimators with the same C and tol on standardised digits, and prints
accuracy, fit time (the first fit in the process, then the median of three
more, as shipped and with every BLAS limited to one thread), iterations and the
largest probability difference, and what the machine was doing (cores, load
average). Run: ``python examples/demo_digits.py``.

Why the one-thread column: digits is small (1347 x 64). ``LogisticRegression``
hands its matrix products to the BLAS, whose thread pool uses every core; on a
machine whose cores are busy with other work, those threads wait for each other
and a fit that takes ~0.05 s on an idle machine can take seconds. Limiting the
BLAS to one thread (``threadpoolctl.threadpool_limits(1)``, restored on exit)
removes that, and is what a user of ``LogisticRegression`` on a busy machine
can do. ``SoftmaxRegression`` makes no threaded BLAS call on data this small.
"""

import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sk_softmax import SoftmaxRegression


def fit_times(model, X, y, repeats):
    """Wall time of ``repeats`` fits of ``model`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    return times


def machine_state():
    """Cores and load averages: what else the machine was doing."""
    cores = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {cores} cores, load average (1, 5, 15 min): {load}"


def main(models=None):
    """Fit ``models`` (name -> estimator; default: the three below) and print."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    if models is None:
        models = {
            "SoftmaxRegression(lbfgs)": SoftmaxRegression(
                C=1.0, tol=1e-8, solver="lbfgs"
            ),
            "SoftmaxRegression(gd)": SoftmaxRegression(C=1.0, tol=1e-6, solver="gd"),
            "LogisticRegression(lbfgs)": LogisticRegression(
                C=1.0, tol=1e-8, max_iter=10_000
            ),
        }
    proba = {}
    print(f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test samples")
    print(machine_state())
    # The first fit in a process also pays one-time costs (for
    # SoftmaxRegression ~35 ms: threadpoolctl's scan of the loaded libraries
    # and loading its private single-threaded BLAS); later fits do not.
    print(
        f"{'model':26s} {'accuracy':>8s} {'first fit':>10s} "
        f"{'later fits':>11s} {'1 thread':>9s} {'n_iter':>7s}"
    )
    print(f"{'':26s} {'':8s} {'[s]':>10s} {'[s]':>11s} {'[s]':>9s}")
    for name, model in models.items():
        times = fit_times(model, X_train, y_train, 4)
        # The same fits with every BLAS (numpy's, scipy's) at one thread; the
        # context restores the previous limits on exit.
        with threadpool_limits(limits=1):
            one_thread = fit_times(model, X_train, y_train, 3)
        n_iter = int(np.max(model.n_iter_))
        acc = model.score(X_test, y_test)
        proba[name] = model.predict_proba(X_test)
        print(
            f"{name:26s} {acc:8.4f} {times[0]:10.3f} "
            f"{np.median(times[1:]):11.3f} {np.median(one_thread):9.3f} "
            f"{n_iter:7d}"
        )
    print(machine_state())

    # The last model is the reference of the probability differences.
    *others, reference = proba
    for name in others:
        diff = np.abs(proba[name] - proba[reference]).max()
        print(f"max |proba difference| {name} vs {reference}: {diff:.2e}")


if __name__ == "__main__":
    main()
