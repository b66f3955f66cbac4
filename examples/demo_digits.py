"""Main demo: SoftmaxRegression vs LogisticRegression on the digits data.

Fits both estimators with the same C and tol on standardised digits, and prints
accuracy, fit time (the first fit in the process, then the median of three
more), iterations and the largest probability difference. Run:
``python examples/demo_digits.py``.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    models = {
        "SoftmaxRegression(lbfgs)": SoftmaxRegression(C=1.0, tol=1e-8, solver="lbfgs"),
        "SoftmaxRegression(gd)": SoftmaxRegression(C=1.0, tol=1e-6, solver="gd"),
        "LogisticRegression(lbfgs)": LogisticRegression(
            C=1.0, tol=1e-8, max_iter=10_000
        ),
    }
    proba = {}
    print(f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test samples")
    # The first fit in a process also pays one-time costs (for
    # SoftmaxRegression ~35 ms: threadpoolctl's scan of the loaded libraries
    # and loading its private single-threaded BLAS); later fits do not.
    print(
        f"{'model':28s} {'accuracy':>8s} {'first fit [s]':>14s} "
        f"{'later fits [s]':>15s} {'n_iter':>7s}"
    )
    for name, model in models.items():
        times = []
        for _ in range(4):  # the first fit, then the median of three more
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
        n_iter = int(np.max(model.n_iter_))
        acc = model.score(X_test, y_test)
        proba[name] = model.predict_proba(X_test)
        print(
            f"{name:28s} {acc:8.4f} {times[0]:14.3f} "
            f"{np.median(times[1:]):15.3f} {n_iter:7d}"
        )

    ref = proba["LogisticRegression(lbfgs)"]
    for name in ("SoftmaxRegression(lbfgs)", "SoftmaxRegression(gd)"):
        diff = np.abs(proba[name] - ref).max()
        print(f"max |proba difference| {name} vs LogisticRegression: {diff:.2e}")


if __name__ == "__main__":
    main()
