"""
=============================================
Exact full-batch fits on a Dask cluster
=============================================

``SoftmaxRegression.fit`` takes a Dask array: each row block's part of the
loss and gradient is computed on the worker that holds the block, and the
client sums the parts and runs the solver. The model is the one ``fit`` gives
in memory, not an approximation: the same optimum, to the solver's tolerance.

This example starts a small ``LocalCluster`` (two workers, in threads of this
process so that it runs quickly in the documentation build; use
``processes=True``, the default, or a real cluster's scheduler address in
practice), fits on a Dask array, compares with the in-memory fit and predicts
lazily.
"""

# %%
# Data as a Dask array of row blocks
# ----------------------------------
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from sk_softmax import SoftmaxRegression

rng = np.random.default_rng(0)
n_samples, n_features, n_classes = 20_000, 20, 5
X = rng.standard_normal((n_samples, n_features))
W = rng.standard_normal((n_classes, n_features))
y = (X @ W.T + rng.gumbel(size=(n_samples, n_classes))).argmax(axis=1)

X_dask = da.from_array(X, chunks=(5_000, n_features))  # 4 row blocks
y_dask = da.from_array(y, chunks=5_000)

# %%
# Fit on the cluster
# ------------------
# With a connected ``Client`` the fit runs on its cluster. The blocks are
# validated on the workers (nothing of ``X`` comes to the client), each
# block's kernel is built once on its worker, and every evaluation is one
# round of four small tasks.
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
)
client = Client(cluster)
on_dask = SoftmaxRegression(C=1.0, tol=1e-10).fit(X_dask, y_dask)
print("solver:", on_dask.solver_, "iterations:", on_dask.n_iter_)

# %%
# The same model as in memory
# ---------------------------
# Both fits minimise the same objective (the blocks' parts are normalised by
# the global weight sum) and stop when the largest gradient entry is at most
# ``tol``; their coefficients agree to what that criterion resolves (at
# ``tol=1e-10``, from 1e-14 to 1e-8 in our runs, depending on how the sums
# round: the objective is flat along some directions), and their loss curves
# overlap.
in_memory = SoftmaxRegression(C=1.0, tol=1e-10).fit(X, y)
print(
    "largest coefficient difference:",
    f"{np.abs(on_dask.coef_ - in_memory.coef_).max():.1e}",
)

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(
    np.array(in_memory.loss_curve_) - in_memory.loss_curve_[-1] + 1e-16,
    "o-",
    label="in memory",
)
ax.semilogy(
    np.array(on_dask.loss_curve_) - in_memory.loss_curve_[-1] + 1e-16,
    "x--",
    label="Dask, 4 blocks on 2 workers",
)
ax.set_xlabel("iteration")
ax.set_ylabel("objective - final objective")
ax.legend()
fig.tight_layout()

# %%
# Lazy predictions
# ----------------
# On a Dask array the prediction methods return Dask arrays, one task per
# block; nothing is computed until asked.
proba = on_dask.predict_proba(X_dask)
print(type(proba).__name__, proba.shape, proba.chunks[0])
accuracy = (on_dask.predict(X_dask) == y_dask).mean().compute()
print(f"training accuracy: {accuracy:.3f}")

client.close()
cluster.close()
