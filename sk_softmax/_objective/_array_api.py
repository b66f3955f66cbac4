"""The Array API backend: the data term on torch, cupy, array-api-strict arrays.

:class:`ArrayAPISoftmaxCrossEntropy` computes the same data term as the numpy
backend (:mod:`sk_softmax._objective._numpy`), written with the operations of
the Array API standard on the namespace ``xp`` of ``X``, so that ``X``, the
targets and the weights stay on their device (a GPU for torch or cupy).

The solvers run on the host, in numpy (L-BFGS, Newton-CG, gd, sgd: their cost
per iteration is O(n_params), negligible next to an evaluation). Per
evaluation the parameters cross once to the device and ``(loss, gradient)``
once back, as one vector (:func:`to_device`,
:func:`~sk_softmax._namespaces.to_host`; the tests count
them). The penalty is the base class's, on the host.

Per chunk of rows ``X_c`` (row-major (rows, K) blocks, natural for ``xp``)::

    Z  = X_c W^T + b,  m = max_k Z_k,  E = exp(Z - m),  s = sum_k E_k
    loss += sum_i w_i (m_i + log s_i - sum_k T_ik z_ik)
    G  = w * (E / s - T),  dW += G^T X_c,  db += sum_i G_i

with ``w_i = s_i / S`` and ``T`` the one-hot (or soft) targets with label
smoothing. The (rows, K) blocks are bounded by the chunk size (no (n, K)
array); the loss and gradient are accumulated in the highest float precision
of the device (float64, or float32 where the device has no float64).
"""

import numpy as np

from .._namespaces import to_host
from .._sklearn_compat import max_precision_float_dtype, move_to
from ._base import SoftmaxObjective
from ._softmax_rows import smoothed_targets, softmax_rows

__all__ = ["ArrayAPISoftmaxCrossEntropy", "to_device"]

# Bytes of one (rows, K) block of the kernel (about five such temporaries
# live at once). Large, since on a GPU each chunk is a handful of kernel
# launches and a block of 32 MiB already saturates the device; it is not a
# measured optimum (no GPU was available when it was chosen).
_BLOCK_BYTES = 32 * 2**20
_MIN_CHUNK_ROWS = 256


def to_device(a, xp, device):
    """A host numpy array on ``device`` of ``xp`` (one host-to-device copy).

    Parameters
    ----------
    a : ndarray
        Host array.
    xp : namespace
        Target namespace.
    device : device
        Target device.

    Returns
    -------
    array : array of ``xp``
    """
    return move_to(a, xp=xp, device=device)


class ArrayAPISoftmaxCrossEntropy(SoftmaxObjective):
    """Mean-scaled softmax cross-entropy on Array API arrays, plus an L2 penalty.

    The Array API backend of :class:`SoftmaxObjective`; same parameters as
    :class:`~sk_softmax._objective.ChunkedSoftmaxCrossEntropy`, except:

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Training data in namespace ``xp`` on ``device``, float32 or float64.
    y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Host (numpy) class codes or soft targets; copied once to the device.
    n_classes : int
        Number of classes ``K``.
    sample_weight : ndarray of shape (n_samples,) or None
        Host (numpy) weights; copied once to the device.
    C : float
        Inverse of the L2 regularisation strength.
    fit_intercept : bool
        Whether the model has an intercept.
    chunk_size : int or None
        Rows per chunk; None: (rows, K) blocks of about 32 MiB.
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1).
    weight_sum : float or None, default=None
        ``S`` the data term is divided by; None means ``sum(sample_weight)``.
    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty (see :class:`SoftmaxObjective`).
    xp : namespace
        The Array API namespace of ``X``.
    device : device
        The device of ``X``.
    """

    def __init__(
        self,
        X,
        y,
        n_classes,
        sample_weight=None,
        C=1.0,
        fit_intercept=True,
        chunk_size=None,
        label_smoothing=0.0,
        weight_sum=None,
        l1_ratio=0.0,
        *,
        xp,
        device,
        _device_targets=None,
    ):
        self.xp, self.device, self.X = xp, device, X
        self.n_samples, self.n_features = X.shape
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.label_smoothing = float(label_smoothing)
        y = np.asarray(y)
        self.soft = y.ndim == 2
        self.y = y if self.soft else y.astype(np.intp, copy=False)
        # Host-side dtype (for the solvers' float32 / float64 decisions).
        self.dtype = np.dtype(np.float32 if X.dtype == xp.float32 else np.float64)
        if sample_weight is None:
            sample_weight = np.ones(self.n_samples)
        super().__init__(sample_weight, C, weight_sum, l1_ratio)
        self._acc = max_precision_float_dtype(xp, device)
        if _device_targets is None:  # targets and weights: one copy each
            yd = self.y if self.soft else self.y.astype(np.int64)
            _device_targets = (
                to_device(yd, xp, device),
                xp.astype(to_device(self.sample_weight, xp, device), self._acc),
            )
        # Raw weights s_i in the accumulation dtype; normalised s_i / S in X's.
        self._y_dev, self._sample_weight_dev = _device_targets
        if self.soft:
            self._y_dev = xp.astype(self._y_dev, X.dtype)
        self._row_weight_dev = xp.astype(
            self._sample_weight_dev / self.weight_sum, X.dtype
        )
        self._classes = xp.arange(self.n_classes, device=device)
        self._chunk_size_param = chunk_size
        if chunk_size is None:
            per_row = self.dtype.itemsize * self.n_classes
            chunk_size = max(_MIN_CHUNK_ROWS, _BLOCK_BYTES // per_row)
        self.chunk_size = int(max(1, min(chunk_size, max(self.n_samples, 1))))

    # ------------------------------------------------------------- helpers
    def _chunks(self):
        n, c = self.n_samples, self.chunk_size
        for start in range(0, n, c):
            yield start, min(start + c, n)

    def _device_params(self, w64):
        """``(W, b)`` on the device in ``X``'s dtype: one host-to-device copy."""
        xp = self.xp
        Wb = xp.reshape(to_device(w64, xp, self.device), (self.n_classes, -1))
        Wb = xp.astype(Wb, self.X.dtype)
        d = self.n_features
        if self.fit_intercept:
            return Wb[:, :d], Wb[:, d]
        return Wb, xp.zeros(self.n_classes, dtype=self.X.dtype, device=self.device)

    def _targets(self, lo, hi):
        """``T = (1 - eps) Y + eps / K`` of the rows ``lo:hi`` (rows, K)."""
        y = self._y_dev[lo:hi, :] if self.soft else self._y_dev[lo:hi]
        return smoothed_targets(
            self.xp, y, self.soft, self._classes, self.X.dtype, self.label_smoothing
        )

    def _flat(self, gW, gb, loss=None):
        """One host vector ``[loss,] gW, gb`` in the parameter layout."""
        xp = self.xp
        parts = [gW, gb[:, None]] if self.fit_intercept else [gW]
        flat = xp.reshape(xp.concat(parts, axis=1), (-1,))
        if loss is not None:
            flat = xp.concat([xp.reshape(loss, (1,)), flat])
        return to_host(flat, np.float64)  # the one device-to-host copy

    def _scalar(self, a):
        """A 0-d device array as a Python float (one device-to-host copy)."""
        return float(to_host(self.xp.reshape(a, (1,)), np.float64)[0])

    def _zeros(self, *shape):
        return self.xp.zeros(shape, dtype=self._acc, device=self.device)

    # ------------------------------------------------------------- data term
    def data_loss_gradient(self, w64, need_gradient):
        """Data term and its gradient at ``w64``: one copy each way."""
        xp = self.xp
        W, b = self._device_params(w64)
        loss = self._zeros()
        gW, gb = (
            self._zeros(self.n_classes, self.n_features),
            self._zeros(self.n_classes),
        )
        for lo, hi in self._chunks():
            Xc = self.X[lo:hi, :]
            Z = Xc @ W.T + b
            m, E, s = softmax_rows(xp, Z)
            T = self._targets(lo, hi)
            # -sum_k T_k log p_k = m + log(s) - sum_k T_k z_k
            nll = m[:, 0] + xp.log(s[:, 0]) - xp.sum(T * Z, axis=1)
            swc = self._row_weight_dev[lo:hi]
            loss += xp.sum(xp.astype(swc, self._acc) * xp.astype(nll, self._acc))
            if need_gradient:
                G = swc[:, None] * (E / s - T)
                gW += xp.astype(G.T @ Xc, self._acc)
                gb += xp.sum(xp.astype(G, self._acc), axis=0)
        if not need_gradient:
            return self._scalar(loss), None
        flat = self._flat(gW, gb, loss)
        return float(flat[0]), flat[1:]

    def data_hessian_product(self, w):
        """``hessp(v64)``: the data term's Hessian at ``w`` times ``v64``.

        ``R = s_w * P * (Zv - sum_k P_k Zv_k)``, ``H v = [R^T X, sum_i R_i]``;
        ``P`` is recomputed per chunk. One copy each way per product.
        """
        xp = self.xp
        W, b = self._device_params(w)

        def hessp(v):
            V, vb = self._device_params(v)
            hW, hb = (
                self._zeros(self.n_classes, self.n_features),
                self._zeros(self.n_classes),
            )
            for lo, hi in self._chunks():
                Xc = self.X[lo:hi, :]
                _, E, s = softmax_rows(xp, Xc @ W.T + b)
                P = E / s
                Zv = Xc @ V.T + vb
                R = P * (Zv - xp.sum(P * Zv, axis=1, keepdims=True))
                R = self._row_weight_dev[lo:hi, None] * R
                hW += xp.astype(R.T @ Xc, self._acc)
                hb += xp.sum(xp.astype(R, self._acc), axis=0)
            return self._flat(hW, hb)

        return hessp

    def max_abs_feature(self):
        """float: ``max |X_ij|`` (0.0 for an empty ``X``)."""
        if self.n_samples * self.n_features == 0:
            return 0.0
        return self._scalar(self.xp.max(self.xp.abs(self.X)))

    def weighted_gram(self, scale):
        """``M^T M`` of ``M = diag(sqrt(s/S)) X~ / scale``, on the device.

        Accumulated in the device's highest precision; the eigenvalue of the
        base class's Lipschitz bound is taken on the host.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        gram : ndarray, float64
        """
        xp, fi, d = self.xp, int(self.fit_intercept), self.n_features
        root = xp.sqrt(self._sample_weight_dev / self.weight_sum) / scale
        gram = self._zeros(d + fi, d + fi)
        for lo, hi in self._chunks():
            M = xp.astype(self.X[lo:hi, :], self._acc) * root[lo:hi, None]
            if fi:
                M = xp.concat([M, root[lo:hi, None]], axis=1)
            gram += M.T @ M
        return to_host(gram, np.float64)

    def gram_bound(self, scale):
        """``min(trace, ||M||_1 ||M||_inf)`` of ``M = diag(sqrt(s/S)) X~ / scale``,
        on the device.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        bound : float
        """
        xp, fi = self.xp, int(self.fit_intercept)
        root = xp.sqrt(self._sample_weight_dev / self.weight_sum) / scale
        A = xp.abs(xp.astype(self.X, self._acc)) * root[:, None]
        row_abs, col_abs = xp.sum(A, axis=1), xp.sum(A, axis=0)
        trace = xp.sum(A * A)
        if fi:
            row_abs = row_abs + root
            col_abs = xp.concat([col_abs, xp.reshape(xp.sum(root), (1,))])
            trace = trace + xp.sum(root * root)
        holder = xp.max(row_abs) * xp.max(col_abs)
        return float(np.min(to_host(xp.stack([trace, holder]), np.float64)))

    # ------------------------------------------------------------ mini-batches
    def rows(self, idx, sample_weight, weight_sum):
        """Data-only objective of the rows ``idx``, gathered on the device."""
        xp = self.xp
        idx_dev = to_device(np.asarray(idx, dtype=np.int64), xp, self.device)
        y_dev = xp.take(self._y_dev, idx_dev, axis=0)
        raw_sw = xp.take(self._sample_weight_dev, idx_dev, axis=0)
        return type(self)(
            xp.take(self.X, idx_dev, axis=0),
            self.y[idx],
            self.n_classes,
            sample_weight=sample_weight,
            C=np.inf,
            fit_intercept=self.fit_intercept,
            chunk_size=self._chunk_size_param,
            label_smoothing=self.label_smoothing,
            weight_sum=weight_sum,
            xp=xp,
            device=self.device,
            _device_targets=(y_dev, raw_sw),
        )

    def accuracy(self, rows):
        """``w -> `` accuracy of the model ``w`` on the rows ``rows``.

        Parameters
        ----------
        rows : ndarray of int
            Row indices.

        Returns
        -------
        score : callable
            ``score(w) -> float``.
        """
        xp = self.xp
        idx = to_device(np.asarray(rows, dtype=np.int64), xp, self.device)
        X_val = xp.take(self.X, idx, axis=0)
        y_val = xp.take(self._y_dev, idx, axis=0)
        if self.soft:
            y_val = xp.argmax(y_val, axis=1)

        def score(w):
            W, b = self._device_params(w)
            hit = xp.argmax(X_val @ W.T + b, axis=1) == y_val
            return self._scalar(xp.mean(xp.astype(hit, self._acc)))

        return score
