"""Deterministic synthetic data sets of the benchmark shapes.

Labels are drawn from a softmax model with known weights, ``y = argmax(X W^T +
b + Gumbel noise)``, so the problems are realistic classification tasks
(accuracy well above chance, not separable) whatever their size.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["SHAPES", "make_data"]

# name: (kind, n_samples, n_features, n_classes, nnz per row for sparse)
SHAPES = {
    "dense_60000x784_K10": ("dense", 60000, 784, 10, None),
    "dense_200000x100_K20": ("dense", 200000, 100, 20, None),
    "dense_50000x256_K200": ("dense", 50000, 256, 200, None),
    "csr_50000x200000_K20": ("sparse", 50000, 200000, 20, 80),
    # issue 14's smaller and larger sparse shapes
    "csr_5000x20000_K5": ("sparse", 5000, 20000, 5, 80),
    "csr_100000x500000_K100": ("sparse", 100000, 500000, 100, 80),
}


def quick_shape(name):
    """Scaled-down version of a shape (about 1/10 of the rows) for quick runs."""
    kind, n, d, K, nnz = SHAPES[name]
    return kind, n // 10, d if kind == "dense" else d // 10, K, nnz


def make_data(name, dtype=np.float64, quick=False, seed=0):
    """Generate ``(X, y)`` for a named shape.

    Parameters
    ----------
    name : str
        Key of :data:`SHAPES`.
    dtype : dtype, default=np.float64
        float32 or float64.
    quick : bool, default=False
        Use the scaled-down shape.
    seed : int, default=0
        Random seed; the data are a deterministic function of it.

    Returns
    -------
    X : ndarray or csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    """
    kind, n, d, K, nnz = quick_shape(name) if quick else SHAPES[name]
    rng = np.random.default_rng(seed)
    if kind == "dense":
        # Correlated features through a few latent factors, then unit scale.
        X = rng.standard_normal((n, d), dtype=np.float64)
        F = rng.standard_normal((n, 8)) @ rng.standard_normal((8, d)) * 0.2
        X += F
        X /= X.std(axis=0)
        W = rng.standard_normal((K, d)) * (1.0 / np.sqrt(d))
        Z = X @ W.T
        X = X.astype(dtype, copy=False)
    else:
        # Bag-of-words-like rows: nnz random columns with Zipf-like frequency,
        # positive tf-idf-like values, rows L2-normalised.
        p = 1.0 / np.arange(1, d + 1) ** 0.8
        p /= p.sum()
        cols = rng.choice(d, size=n * nnz, p=p)
        rows = np.repeat(np.arange(n), nnz)
        vals = rng.exponential(1.0, size=n * nnz)
        X = sp.csr_matrix((vals, (rows, cols)), shape=(n, d), dtype=np.float64)
        X.sum_duplicates()
        X = sp.csr_matrix(
            X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))), dtype=np.float64
        )
        W = rng.standard_normal((K, d)) * 4.0
        Z = np.asarray(X @ W.T)
        X = X.astype(dtype)
    Z += rng.standard_normal(K)
    Z += rng.gumbel(size=Z.shape)
    y = Z.argmax(axis=1)
    return X, y
