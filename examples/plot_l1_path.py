"""
L1 regularisation path
======================

With ``l1_ratio=1`` the penalty of :class:`~sk_softmax.SoftmaxRegression` is
``||W||_1 / C``: it sets weights to exact zeros. At a small ``C`` every weight
is zero (the model predicts the class frequencies); as ``C`` grows, weights
enter the model one by one, the most useful (feature, class) pairs first,
until at a large ``C`` the model is close to the unpenalised one.

This example fits the path on the standardised wine data (13 features,
3 classes) from the strongest penalty down, each fit starting from the
previous model (``warm_start=True``), and plots the weights of each class
against ``C``. The smallest ``C`` with a non-zero weight follows from the
optimality conditions (see the mathematics page): ``W = 0`` is optimal while
the largest gradient entry at ``W = 0`` is at most the L1 weight ``1 / C``.
"""

# %%
# The path
# --------
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
n, d = X.shape
K = 3

# The smallest C with a non-zero weight: at W = 0 the optimal intercepts give
# the class frequencies, and the gradient of the summed cross-entropy is
# (P - Y)^T X; a weight enters once |gradient| exceeds 1 / C.
freq = np.bincount(y) / n
G = (np.tile(freq, (n, 1)) - np.eye(K)[y]).T @ X
C_min = 1.0 / np.abs(G).max()
print(f"every weight is zero for C <= {C_min:.4f}")

Cs = C_min * np.logspace(-0.2, 3, 30)
clf = SoftmaxRegression(l1_ratio=1.0, warm_start=True, tol=1e-6)
coefs, n_nonzero = [], []
for C in Cs:
    clf.set_params(C=C).fit(X, y)
    coefs.append(clf.coef_.copy())
    n_nonzero.append(int((clf.coef_ != 0).sum()))
coefs = np.array(coefs)  # (len(Cs), K, d)
print("non-zero weights along the path:", n_nonzero[::5])

# below C_min every weight is zero, and the model predicts the class
# frequencies
first = SoftmaxRegression(l1_ratio=1.0, C=0.9 * C_min, tol=1e-6).fit(X, y)
print("all weights zero below C_min:", bool(np.all(first.coef_ == 0)))
print("class frequencies recovered:", np.allclose(softmax(first.intercept_), freq))

# %%
# Weights entering as C grows
# ---------------------------
fig, axes = plt.subplots(1, K, figsize=(12, 3.8), sharey=True)
for k, ax in enumerate(axes):
    ax.plot(Cs, coefs[:, k, :])
    ax.set_xscale("log")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_title(f"class {k}")
    ax.set_xlabel("C")
axes[0].set_ylabel("weight")
fig.suptitle("L1 path of SoftmaxRegression (wine, one line per feature)")
fig.tight_layout()

# %%
# The number of non-zero weights grows with C.
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.step(Cs, n_nonzero, where="post")
ax.set_xscale("log")
ax.set_xlabel("C")
ax.set_ylabel(f"non-zero weights (of {K * d})")
fig.tight_layout()
plt.show()
