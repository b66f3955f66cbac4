"""
==========================================================
Out-of-core learning with partial_fit, from a file on disk
==========================================================

``SoftmaxRegression.partial_fit`` makes one pass of mini-batch SGD over the
data it is given and keeps the optimiser's state (momentum, learning-rate
schedule) for the next call. That is all a streaming loop needs: read a chunk,
call ``partial_fit``, repeat. Memory stays flat: only one chunk is in memory.

The same method is what ``dask_ml.wrappers.Incremental`` calls on each block of
a dask array (same signature: ``partial_fit(X, y, classes=None,
sample_weight=None)``); the last section runs it when dask-ml is installed.

About the penalty: each call treats its data as the whole data set. With
chunks of ``m`` out of ``n`` samples, ``C * n / m`` reproduces the objective
that ``fit`` minimises with ``C``.
"""

# %%
# Write a data set to disk
# ------------------------
import os
import tempfile
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

from sk_softmax import SoftmaxRegression

rng = np.random.default_rng(0)
n_samples, n_features, n_classes = 200_000, 50, 5
W_true = rng.normal(size=(n_classes, n_features))
folder = tempfile.mkdtemp()
path_X = os.path.join(folder, "X.dat")
X_disk = np.memmap(path_X, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
y_all = np.empty(n_samples, dtype=np.int64)
for start in range(0, n_samples, 50_000):  # written in pieces too
    Xc = rng.normal(size=(50_000, n_features)).astype(np.float32)
    X_disk[start : start + 50_000] = Xc
    logits = Xc @ W_true.T
    y_all[start : start + 50_000] = np.argmax(
        logits + rng.gumbel(size=logits.shape), axis=1
    )
X_disk.flush()
del X_disk
size_mb = os.path.getsize(path_X) / 1e6
print(f"{n_samples} x {n_features} float32 on disk: {size_mb:.0f} MB")

# %%
# Stream it in chunks
# -------------------
# Open the file read-only and feed chunks of 10 000 rows. ``tracemalloc``
# follows the memory numpy allocates: it stays at the size of a chunk, not of
# the data set.
chunk = 10_000
X_stream = np.memmap(path_X, dtype=np.float32, mode="r", shape=(n_samples, n_features))
clf = SoftmaxRegression(C=1.0 * n_samples / chunk, random_state=0)
peaks, accuracy = [], []
X_check, y_check = np.asarray(X_stream[:5000]), y_all[:5000]
tracemalloc.start()
for _ in range(2):  # two passes
    for start in range(0, n_samples, chunk):
        tracemalloc.reset_peak()
        clf.partial_fit(
            X_stream[start : start + chunk],
            y_all[start : start + chunk],
            classes=np.arange(n_classes),
        )
        peaks.append(tracemalloc.get_traced_memory()[1] / 1e6)
        accuracy.append(clf.score(X_check, y_check))
tracemalloc.stop()
print(f"epochs (chunks seen): {clf.n_iter_}")
print(
    f"peak memory per partial_fit call: {max(peaks):.1f} MB "
    f"(one chunk: {chunk * n_features * 4 / 1e6:.1f} MB, all data: "
    f"{n_samples * n_features * 4 / 1e6:.0f} MB)"
)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(peaks)
ax1.set_xlabel("partial_fit call")
ax1.set_ylabel("peak memory [MB]")
ax1.set_ylim(0, max(peaks) * 1.5)
ax2.plot(accuracy)
ax2.set_xlabel("partial_fit call")
ax2.set_ylabel("accuracy on 5000 rows")
fig.tight_layout()
plt.show()

# %%
# The same model from ``fit``
# ---------------------------
# For comparison, the full-batch L-BFGS fit on the whole data (which needs it
# in memory). The streamed model's accuracy approaches it.
full = SoftmaxRegression(C=1.0).fit(np.asarray(X_stream), y_all)
print(f"accuracy, streamed (2 passes): {clf.score(X_check, y_check):.4f}")
print(f"accuracy, fit (L-BFGS):        {full.score(X_check, y_check):.4f}")

# %%
# With dask-ml
# ------------
# ``Incremental`` calls ``partial_fit`` once per block of a dask array.
try:
    import dask.array as da
    from dask_ml.wrappers import Incremental
except ImportError:
    print("dask-ml is not installed; skipping (pip install dask-ml)")
else:
    Xd = da.from_array(X_stream, chunks=(chunk, n_features))
    yd = da.from_array(y_all, chunks=chunk)
    inc = Incremental(SoftmaxRegression(C=1.0 * n_samples / chunk, random_state=0))
    inc.partial_fit(Xd, yd, classes=np.arange(n_classes))
    acc = inc.estimator_.score(X_check, y_check)
    print(f"dask-ml Incremental, one pass: accuracy {acc:.4f}")
