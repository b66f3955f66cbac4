"""
Decision regions and probability contours in 2-D
================================================

A softmax regression with ``K`` classes scores each point with ``K`` linear
functions ``z_k = w_k . x + b_k`` and predicts the largest. The boundary
between two classes ``j`` and ``k`` is where ``z_j = z_k``, a straight line, so
the decision regions are convex polygons. ``predict_proba`` turns the scores
into probabilities with the softmax, which changes smoothly across a boundary.

This example draws both for a 3-class problem in two dimensions, for a strong
and a weak L2 penalty (small and large ``C``).
"""

# %%
# A 3-class problem in 2-D
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_blobs

from sk_softmax import SoftmaxRegression

X, y = make_blobs(
    n_samples=300,
    centers=[[-2, -1], [2, -1], [0, 2]],
    cluster_std=[1.2, 1.0, 1.4],
    random_state=0,
)
print(X.shape, np.bincount(y))

# %%
# Decision regions and probability contours
# -----------------------------------------
# Both models are evaluated on a grid covering the data. Top row: ``predict``,
# the decision regions. Bottom row: the largest ``predict_proba`` (the
# confidence of the prediction) as a filled contour, and the line where each
# class reaches probability 0.5.
#
# The decision regions are separated by straight lines for both values of
# ``C``. The penalty shows in the probabilities: with a strong penalty
# (``C=0.01``) the weights are small and the probabilities change slowly across
# the boundaries (wide grey bands, and the 0.5 lines bend far from the
# boundaries); with ``C=100`` the fit is nearly unpenalised and the model turns
# confident within a short distance of a boundary.
models = {C: SoftmaxRegression(C=C).fit(X, y) for C in (0.01, 100.0)}
xx, yy = np.meshgrid(
    np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200),
    np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200),
)
grid = np.c_[xx.ravel(), yy.ravel()]
colors = ["tab:blue", "tab:orange", "tab:green"]
region_cmap = ListedColormap(colors)

fig, axes = plt.subplots(2, 2, figsize=(10, 9), sharex=True, sharey=True)
for col, (C, model) in enumerate(models.items()):
    labels = model.predict(grid).reshape(xx.shape)
    proba = model.predict_proba(grid).reshape(*xx.shape, 3)

    ax = axes[0, col]
    ax.contourf(
        xx, yy, labels, levels=[-0.5, 0.5, 1.5, 2.5], cmap=region_cmap, alpha=0.25
    )
    for k, color in enumerate(colors):
        ax.scatter(*X[y == k].T, s=12, color=color, edgecolor="k", lw=0.3)
    ax.set_title(f"C={C:g}: decision regions (accuracy {model.score(X, y):.2f})")

    ax = axes[1, col]
    filled = ax.contourf(
        xx, yy, proba.max(axis=2), levels=np.linspace(1 / 3, 1, 9), cmap="Greys"
    )
    for k, color in enumerate(colors):
        ax.contour(xx, yy, proba[..., k], levels=[0.5], colors=color, linewidths=2)
        ax.scatter(*X[y == k].T, s=12, color=color, edgecolor="k", lw=0.3)
    ax.set_title(f"C={C:g}: max predict_proba and P(k)=0.5 lines")
    fig.colorbar(filled, ax=ax, label="max_k P(k | x)", format="%.2f")
fig.tight_layout()

# %%
# The scores are linear: ``decision_function`` returns ``X @ coef_.T +
# intercept_``, one column per class, and ``predict`` is its arg-max.
model = models[100.0]
scores = model.decision_function(X[:3])
print(np.allclose(scores, X[:3] @ model.coef_.T + model.intercept_))
print(model.predict(X[:3]), scores.argmax(axis=1))

# %%
# Softmax weights are only defined up to a common shift: adding the same vector
# to every row of ``coef_`` changes no probability. The L2 penalty removes this
# freedom: at the optimum the rows sum to zero (the gradient condition
# ``sum_k w_k = 0`` follows from ``sum_k (p_k - y_k) = 0``).
print("rows of coef_ sum to zero:", np.allclose(model.coef_.sum(axis=0), 0, atol=1e-8))
plt.show()
