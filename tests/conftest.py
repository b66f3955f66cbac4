"""Shared test fixtures: one problem builder, one objective builder and one
float64 reference objective.

The objective tests of every backend build their data with ``make_problem``,
their objective with ``build_objective`` (the backend of ``X``'s namespace)
and check against ``reference``: the objective written directly from its
definition, unchunked, in float64, with a one-hot target matrix.
"""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.utils._array_api import get_namespace_and_device

from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._objective._array_api import ArrayAPISoftmaxCrossEntropy

# Not a doctest module: --doctest-modules would import this file as the module
# "conftest", which docs/conftest.py already is.
collect_ignore = ["conftest.py"]

# Default problem shape: a row count that no chunk size used in the tests
# divides, a few features and classes; the objective's C.
N, D, K = 53, 6, 4
C = 0.7


def _make_problem(sparse=False, soft=False, seed=0, dtype=np.float64, n=N, d=D, k=K):
    """``(X, y, sw)``: Gaussian ``X`` (40% non-zero when sparse, as CSR),
    class codes or Dirichlet-like soft targets, weights in [0.1, 2] with one
    zero weight."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sparse:
        X = sp.csr_matrix(X * (rng.random((n, d)) < 0.4))
    X = X.astype(dtype)
    if soft:
        y = rng.random((n, k))
        y /= y.sum(axis=1, keepdims=True)
    else:
        y = rng.integers(0, k, n)
    sw = rng.uniform(0.1, 2.0, n)
    sw[3] = 0.0  # a zero weight must be harmless
    return X, y, sw


class _Reference:
    """Unchunked float64 loss, gradient and Hessian product (one-hot ``Y``)."""

    @staticmethod
    def _parts(X, y, sw, C, fit_intercept, w, eps, k):
        Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
        Xd = Xd.astype(np.float64)
        Wb = w.reshape(k, -1)
        W, b = (Wb[:, :-1], Wb[:, -1]) if fit_intercept else (Wb, np.zeros(k))
        Y = y if y.ndim == 2 else np.eye(k)[y]
        T = (1 - eps) * Y + eps / k
        return Xd, W, Xd @ W.T + b, T, sw.sum()

    def loss_gradient(self, X, y, sw, C, fit_intercept, w, eps=0.0, k=K):
        """``(loss, grad)`` of the mean-scaled objective at ``w``."""
        Xd, W, Z, T, S = self._parts(X, y, sw, C, fit_intercept, w, eps, k)
        loss = -(sw[:, None] * T * log_softmax(Z, axis=1)).sum() / S
        loss += (W**2).sum() / (2 * C * S)
        G = sw[:, None] * (softmax(Z, axis=1) - T) / S
        gW = G.T @ Xd + W / (C * S)
        grad = np.hstack([gW, G.sum(axis=0)[:, None]]) if fit_intercept else gW
        return loss, grad.ravel()

    def hessian_product(self, X, y, sw, C, fit_intercept, w, v, eps=0.0, k=K):
        """``H(w) v`` = ``[R^T X + V / (C S), sum_i R_i]`` with
        ``R = s / S * P * (Zv - sum_k P_k Zv_k)``."""
        Xd, _, Z, _, S = self._parts(X, y, sw, C, fit_intercept, w, eps, k)
        _, V, Zv, _, _ = self._parts(X, y, sw, C, fit_intercept, v, eps, k)
        P = softmax(Z, axis=1)
        R = sw[:, None] / S * P * (Zv - (P * Zv).sum(axis=1, keepdims=True))
        hW = R.T @ Xd + V / (C * S)
        out = np.hstack([hW, R.sum(axis=0)[:, None]]) if fit_intercept else hW
        return out.ravel()


@pytest.fixture
def make_problem():
    """The shared problem builder (a function, see ``_make_problem``)."""
    return _make_problem


def _build_objective(X, y, sw, *, fit_intercept=True, eps=0.0, chunk_size=7):
    """The objective of ``X``'s backend on a shared problem: the numpy kernel
    for numpy arrays and scipy.sparse matrices, the Array API one otherwise
    (``K`` classes, or as many as the soft targets' columns)."""
    kwargs = dict(
        sample_weight=sw,
        C=C,
        fit_intercept=fit_intercept,
        chunk_size=chunk_size,
        label_smoothing=eps,
    )
    n_classes = y.shape[1] if y.ndim == 2 else K
    if isinstance(X, np.ndarray) or sp.issparse(X):
        return ChunkedSoftmaxCrossEntropy(X, y, n_classes, **kwargs)
    xp, _, device = get_namespace_and_device(X)
    return ArrayAPISoftmaxCrossEntropy(X, y, n_classes, xp=xp, device=device, **kwargs)


@pytest.fixture
def build_objective():
    """The shared objective builder (a function, see ``_build_objective``)."""
    return _build_objective


@pytest.fixture
def private_blas():
    """The private single-threaded OpenBLAS (``sk_softmax._blas.private_openblas``).

    Fails where numpy ships OpenBLAS on Linux but the private copy did not
    load; skips on platforms without one.
    """
    from sk_softmax import get_config
    from sk_softmax._blas import _numpy_openblas_path, load_error, private_openblas

    if not get_config()["private_blas"]:
        pytest.skip("the private BLAS is switched off (SK_SOFTMAX_PRIVATE_BLAS)")
    lib = private_openblas()
    if lib is None:
        if sys.platform.startswith("linux") and _numpy_openblas_path():
            pytest.fail(
                "numpy ships OpenBLAS here but its private copy did not load: "
                f"{load_error()}"
            )
        pytest.skip("no private BLAS on this platform")
    return lib


@pytest.fixture
def reference():
    """The float64 reference objective (see ``_Reference``)."""
    return _Reference()
