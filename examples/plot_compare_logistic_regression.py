"""
SoftmaxRegression vs LogisticRegression
=======================================

:class:`~sk_softmax.SoftmaxRegression` minimises exactly the objective of
scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` (multinomial
cross-entropy plus ``||W||^2 / (2 C)``, unpenalised intercept). This example
checks that claim on the digits data, three ways:

* the predicted probabilities agree (a scatter plot on the diagonal);
* the coefficients agree, including for two classes, where
  ``SoftmaxRegression(C)`` equals ``LogisticRegression(C=2 * C)``;
* and it compares the fit times, side by side.
"""

# %%
# Data
# ----
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# Same objective, same minimiser
# ------------------------------
# Both are fitted with the same ``C`` and a tight ``tol`` (both use the same
# stopping rule, ``max |gradient| <= tol`` on the objective divided by the
# number of samples), so they should land on the same minimiser.
C = 1.0
softmax = SoftmaxRegression(C=C, tol=1e-8).fit(X_train, y_train)
logreg = LogisticRegression(C=C, tol=1e-8, max_iter=10_000).fit(X_train, y_train)

p_soft = softmax.predict_proba(X_test)
p_log = logreg.predict_proba(X_test)
print(f"max |P_softmax - P_logreg| = {np.abs(p_soft - p_log).max():.1e}")
print(f"max |coef difference|      = {np.abs(softmax.coef_ - logreg.coef_).max():.1e}")
same = np.array_equal(softmax.predict(X_test), logreg.predict(X_test))
print(f"same predictions: {same}")
print(
    f"test accuracy: SoftmaxRegression {softmax.score(X_test, y_test):.4f}, "
    f"LogisticRegression {logreg.score(X_test, y_test):.4f}"
)

# %%
# Two classes: C and 2C
# ---------------------
# With two classes ``SoftmaxRegression`` keeps one weight row per class and
# penalises both. At the optimum the rows are opposite, ``w0 = -w1``, so the
# logistic coefficient is ``beta = w1 - w0 = 2 w1`` and the penalty
# ``(||w0||^2 + ||w1||^2) / (2 C) = ||beta||^2 / (2 * 2C)``: the model of
# ``LogisticRegression(C=2 * C)``. See :ref:`math-binary` for the derivation.
binary = np.isin(y_train, [3, 8])  # two digits that are easy to confuse
Xb, yb = X_train[binary], y_train[binary]
soft_b = SoftmaxRegression(C=0.1, tol=1e-6).fit(Xb, yb)
log_b = LogisticRegression(C=0.2, tol=1e-6, max_iter=10_000).fit(Xb, yb)
beta = soft_b.coef_[1] - soft_b.coef_[0]
print(
    f"coef_ shapes: SoftmaxRegression {soft_b.coef_.shape}, "
    f"LogisticRegression {log_b.coef_.shape}"
)
print(f"max |w0 + w1| = {np.abs(soft_b.coef_.sum(axis=0)).max():.1e}")
print(f"max |(w1 - w0) - beta| = {np.abs(beta - log_b.coef_[0]).max():.1e}")
print(
    "max |decision_function difference| = "
    f"{np.abs(soft_b.decision_function(Xb) - log_b.decision_function(Xb)).max():.1e}"
)

# %%
# Plots: probabilities and coefficients
# -------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
ax = axes[0]
ax.scatter(p_log.ravel(), p_soft.ravel(), s=4, alpha=0.5)
ax.plot([0, 1], [0, 1], "k--", lw=1)
ax.set_xlabel("LogisticRegression.predict_proba")
ax.set_ylabel("SoftmaxRegression.predict_proba")
ax.set_title("Probabilities (digits, test set)")

ax = axes[1]
ax.scatter(logreg.coef_.ravel(), softmax.coef_.ravel(), s=4, alpha=0.5)
lim = np.abs(logreg.coef_).max() * 1.05
ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
ax.set_xlabel("LogisticRegression(C=1).coef_")
ax.set_ylabel("SoftmaxRegression(C=1).coef_")
ax.set_title("Coefficients, 10 classes")

ax = axes[2]
ax.scatter(log_b.coef_[0], beta, s=8)
lim = np.abs(beta).max() * 1.05
ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
ax.set_xlabel("LogisticRegression(C=0.2).coef_")
ax.set_ylabel("SoftmaxRegression(C=0.1): coef_[1] - coef_[0]")
ax.set_title("Coefficients, 2 classes (3 vs 8)")
fig.tight_layout()

# %%
# Fit time
# --------
# Each estimator is fitted several times at the default ``tol=1e-4``,
# alternating between the two so that both see the same machine load, and the
# median is reported. Digits is small; see :doc:`/benchmarks` for larger
# problems: on a data set this small, fixed per-fit overheads weigh as much as
# the arithmetic. Timings are taken on the machine that built this page (the
# documentation build uses single-threaded BLAS unless told otherwise) and
# will differ on yours.
models = {
    "SoftmaxRegression\n(lbfgs)": SoftmaxRegression(C=C, solver="lbfgs"),
    "SoftmaxRegression\n(gd)": SoftmaxRegression(C=C, solver="gd"),
    "LogisticRegression\n(lbfgs)": LogisticRegression(C=C, max_iter=10_000),
}
times = {name: [] for name in models}
for _ in range(5):
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        times[name].append(time.perf_counter() - start)
medians = {name: np.median(t) for name, t in times.items()}
for name, t in medians.items():
    print(f"{name.replace(chr(10), ' '):30s} median fit time {1e3 * t:7.1f} ms")

# %%
# The times differ by orders of magnitude (``gd`` runs many more, cheaper
# iterations), so the bars use a log scale and each is labelled with its ratio
# to ``LogisticRegression``'s time.
reference = medians["LogisticRegression\n(lbfgs)"]
fig, ax = plt.subplots(figsize=(6.5, 3))
names = list(medians)
values = [1e3 * medians[name] for name in names]
ax.barh(names, values, color=["C0", "C1", "C2"])
for y, name in enumerate(names):
    ax.annotate(
        f"{1e3 * medians[name]:.1f} ms ({medians[name] / reference:.2f}x)",
        (values[y], y),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
    )
ax.set_xscale("log")
ax.set_xlim(min(values) / 5, max(values) * 20)
ax.invert_yaxis()
ax.set_xlabel("median fit time [ms] (log scale)")
ax.set_title("Fit time on digits (1347 x 64, 10 classes)")
fig.tight_layout()
plt.show()
