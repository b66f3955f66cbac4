"""Softmax cross-entropy with an L2 penalty: loss, gradient, Hessian-vector product.

The objective minimised by :class:`~sk_softmax.SoftmaxRegression` is, with
normalised sample weights ``s_i / S`` (``S = sum_i s_i``)::

    f(W, b) = sum_i (s_i / S) * CE(y_i, softmax(W x_i + b)) + ||W||_F^2 / (2 C S)

which is ``1 / S`` times scikit-learn's ``LogisticRegression`` objective
``sum_i s_i CE_i + ||W||^2 / (2 C)``: same minimiser, and a gradient whose scale
does not depend on ``n_samples``, so that ``tol`` means the same in both.

The rows of ``X`` are processed in chunks. Per chunk of rows ``X_c``::

    Z   = X_c W^T + b                          (chunk, K)
    lse = m + log(sum_k exp(Z_k - m))          m = max_k Z_k (log-sum-exp)
    loss += sum_i s_i (lse_i - Z_{i, y_i})     -log p_{i, y_i} = lse_i - z_{i, y_i}
    G   = s * (P - Y)                          dL/dz = P - Y, in place in Z
    dW += G^T X_c,   db += sum_i G_i           dL/dW = (P - Y)^T diag(s) X

so the extra memory is O(chunk * K + d * K), independent of ``n_samples``, and
each chunk of ``X`` is read twice while it is still in cache. ``Y`` is never
formed: subtracting 1 at the true class is ``P - Y``.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["SoftmaxCrossEntropyL2", "auto_chunk_size"]

# Target size of the per-chunk working set (the X chunk and the Z chunk), in
# bytes. A few MiB keeps a chunk in L2/L3 cache between the two products while
# keeping the matrix products large enough to run near BLAS speed.
_CHUNK_BYTES = 4 * 2**20
_MIN_CHUNK_ROWS = 256


def auto_chunk_size(n_samples, n_features, n_classes, itemsize):
    """Number of rows per chunk chosen from the data shape.

    The chunk holds ``chunk * (n_features + 2 * n_classes)`` numbers (a block of
    ``X`` and the ``Z`` / gradient block); it is sized to about 4 MiB, and at
    least 256 rows so that the matrix products stay efficient.

    Parameters
    ----------
    n_samples : int
        Number of rows of ``X``.
    n_features : int
        Number of columns of ``X`` (non-zeros per row for sparse ``X``).
    n_classes : int
        Number of classes ``K``.
    itemsize : int
        Bytes per number (4 for float32, 8 for float64).

    Returns
    -------
    chunk_size : int
        Rows per chunk, between 1 and ``n_samples``.
    """
    per_row = itemsize * (n_features + 2 * n_classes)
    rows = max(_MIN_CHUNK_ROWS, _CHUNK_BYTES // max(per_row, 1))
    return int(max(1, min(n_samples, rows)))


class SoftmaxCrossEntropyL2:
    """Mean-scaled softmax cross-entropy of a linear model, plus an L2 penalty.

    The parameters are one flat vector ``w``, the ravel of a ``(K, d + 1)``
    matrix ``[W, b]`` (or ``(K, d)`` without intercept). Solvers only see
    :meth:`loss_gradient`; nothing here knows about optimisation.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data, float32 or float64. Dense ``X`` should be C-contiguous
        and sparse ``X`` CSR for efficient row chunks. Never modified.
    y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Targets: class codes in ``0 .. n_classes - 1``, or a dense matrix of
        class probabilities ``Y`` (soft targets, rows summing to 1), in which
        case the loss is the cross-entropy ``-sum_k Y_ik log p_ik``.
    n_classes : int
        Number of classes ``K``.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights ``s_i``; None means all ones.
    C : float
        Inverse of the L2 regularisation strength, as in ``LogisticRegression``;
        ``np.inf`` means no penalty.
    fit_intercept : bool
        Whether the model has an (unpenalised) intercept ``b``.
    chunk_size : int or None
        Rows per chunk; None chooses it with :func:`auto_chunk_size`.
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1): the targets become ``(1 - eps) Y + eps / K``
        (torch's definition), without forming them.
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
    ):
        self.X = X
        y = np.asarray(y)
        # Soft targets Y (n, K) are kept in the working dtype; codes as intp.
        self.soft = y.ndim == 2
        self.y = y.astype(X.dtype if self.soft else np.intp, copy=False)
        self.n_classes = int(n_classes)
        self.label_smoothing = float(label_smoothing)
        self.fit_intercept = bool(fit_intercept)
        self.dtype = X.dtype
        n_samples, n_features = X.shape
        self.n_samples, self.n_features = n_samples, n_features
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=np.float64)
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.sw_sum = float(sample_weight.sum())
        # Normalised weights s_i / S in the working precision of X.
        self.sw = (sample_weight / self.sw_sum).astype(self.dtype)
        self.C = float(C)
        # l2 strength of the mean-scaled objective: 1 / (C * S), as in
        # LogisticRegression (zero for C = inf).
        self.l2_reg_strength = 0.0 if np.isinf(self.C) else 1.0 / (self.C * self.sw_sum)
        if chunk_size is None:
            width = n_features
            if sp.issparse(X):
                width = int(np.ceil(X.nnz / max(n_samples, 1)))
            chunk_size = auto_chunk_size(
                n_samples, width, self.n_classes, self.dtype.itemsize
            )
        self.chunk_size = int(max(1, min(chunk_size, max(n_samples, 1))))
        self._z_buffer = None

    # ------------------------------------------------------------------ layout
    @property
    def n_params(self):
        """int: Length of the flat parameter vector."""
        return self.n_classes * (self.n_features + int(self.fit_intercept))

    def unpack(self, w):
        """Split a flat parameter vector into ``(W, b)``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        coef : ndarray of shape (n_classes, n_features)
            View of the weight rows.
        intercept : ndarray of shape (n_classes,)
            View of the intercepts (zeros without intercept).
        """
        Wb = w.reshape(self.n_classes, -1)
        if self.fit_intercept:
            return Wb[:, :-1], Wb[:, -1]
        return Wb, np.zeros(self.n_classes, dtype=w.dtype)

    def _chunks(self):
        n, c = self.n_samples, self.chunk_size
        for start in range(0, n, c):
            yield slice(start, min(start + c, n))

    def _zbuf(self, rows):
        """Reusable (chunk, K) buffer in the working dtype."""
        buf = self._z_buffer
        if buf is None or buf.shape[0] < rows:
            buf = np.empty((self.chunk_size, self.n_classes), dtype=self.dtype)
            self._z_buffer = buf
        return buf[:rows]

    def _raw(self, Xc, W, b, out):
        """``out = Xc W^T + b``, with ``W`` and ``b`` in the working dtype."""
        if sp.issparse(Xc):
            out[...] = Xc @ W.T
        else:
            np.matmul(Xc, W.T, out=out)
        if self.fit_intercept:
            out += b
        return out

    @staticmethod
    def _add_product(Gc, Xc, out):
        """``out += Gc^T Xc`` (``out`` is float64, ``(K, d)``)."""
        if sp.issparse(Xc):
            out += (Xc.T @ Gc).T
        else:
            out += Gc.T @ Xc

    def _penalty(self, W):
        return 0.5 * self.l2_reg_strength * float(np.vdot(W, W))

    # ---------------------------------------------------------------- values
    def _target_dot(self, Z, yc):
        """``sum_k T_ik Z_ik`` per row, in float64, for the (smoothed) targets T."""
        if self.soft:
            zt = np.einsum("ij,ij->i", yc, Z, dtype=np.float64)
        else:
            zt = Z[np.arange(Z.shape[0]), yc].astype(np.float64)
        eps = self.label_smoothing
        if eps:
            # T = (1 - eps) Y + eps / K
            zt *= 1 - eps
            zt += (eps / self.n_classes) * Z.sum(axis=1, dtype=np.float64)
        return zt

    def _subtract_target(self, P, yc):
        """``P -= T`` in place: ``dL/dz = P - T`` (no one-hot matrix for codes)."""
        eps = self.label_smoothing
        if self.soft:
            P -= yc if not eps else (1 - eps) * yc
        else:
            P[np.arange(P.shape[0]), yc] -= 1 - eps
        if eps:
            P -= eps / self.n_classes

    def _softmax_chunk(self, Z, yc):
        """Turn raw scores ``Z`` into ``P`` in place; return per-row loss.

        Uses the max shift inside the exponential, ``exp(z - max z)``, so no
        exponential overflows, and ``-sum_k T_k log p_k = lse - sum_k T_k z_k``
        from log-sum-exp (valid because ``sum_k T_k = 1``).
        """
        zy = self._target_dot(Z, yc)
        m = Z.max(axis=1, keepdims=True)
        Z -= m
        np.exp(Z, out=Z)
        s = Z.sum(axis=1, keepdims=True)
        Z /= s
        # lse_i - sum_k T_ik z_ik, in float64
        nll = np.log(s[:, 0].astype(np.float64)) + m[:, 0] - zy
        return nll

    def loss(self, w):
        """Objective value at ``w``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        loss : float
            Mean-scaled cross-entropy plus penalty.
        """
        return self.loss_gradient(w, need_gradient=False)[0]

    def loss_gradient(self, w, need_gradient=True):
        """Objective value and gradient at ``w``, in one pass over the data.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters (any float dtype; computations run in ``X.dtype``).
        need_gradient : bool, default=True
            If False, skip the gradient products.

        Returns
        -------
        loss : float
            Objective value (accumulated in float64).
        grad : ndarray of shape (n_params,), float64, or None
            Gradient ``dL/dW = (P - Y)^T diag(s/S) X + W / (C S)``,
            ``dL/db = sum_i (s_i/S) (p_i - y_i)``.
        """
        W64, b64 = self.unpack(np.asarray(w, dtype=np.float64))
        W = W64.astype(self.dtype, copy=False)
        b = b64.astype(self.dtype, copy=False)
        K, d = self.n_classes, self.n_features
        if need_gradient:
            grad = np.zeros((K, d + int(self.fit_intercept)), dtype=np.float64)
            gW = grad[:, :d] if self.fit_intercept else grad
            # gW is a strided view; accumulate into a contiguous buffer.
            gW_acc = np.zeros((K, d), dtype=np.float64)
        loss = 0.0
        for sl in self._chunks():
            Xc, yc, swc = self.X[sl], self.y[sl], self.sw[sl]
            Z = self._raw(Xc, W, b, self._zbuf(sl.stop - sl.start))
            nll = self._softmax_chunk(Z, yc)
            loss += float(np.dot(swc.astype(np.float64), nll))
            if need_gradient:
                # G = s * (P - Y): subtract 1 at the true class, no one-hot Y.
                self._subtract_target(Z, yc)
                Z *= swc[:, None]
                self._add_product(Z, Xc, gW_acc)
                if self.fit_intercept:
                    grad[:, -1] += Z.sum(axis=0, dtype=np.float64)
        loss += self._penalty(W64)
        if not need_gradient:
            return loss, None
        gW_acc += self.l2_reg_strength * W64
        gW[...] = gW_acc
        return loss, grad.ravel()

    def gradient_hessian_product(self, w):
        """Gradient at ``w`` and a function computing Hessian-vector products.

        The Hessian of the cross-entropy of one sample is
        ``(diag(p) - p p^T) (x) x x^T``, so for a direction ``V = [V_W, v_b]``::

            Zv = X V_W^T + v_b
            R  = s * P * (Zv - sum_k P_k Zv_k)
            H V = [R^T X + V_W / (C S),  sum_i R_i]

        The product recomputes ``P`` chunk by chunk (no (n, K) storage).

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        grad : ndarray of shape (n_params,)
            Gradient at ``w``.
        hessp : callable
            ``hessp(v) -> ndarray of shape (n_params,)``.
        """
        w = np.array(w, dtype=np.float64)
        _, grad = self.loss_gradient(w)
        W64, b64 = self.unpack(w)
        W = W64.astype(self.dtype, copy=False)
        b = b64.astype(self.dtype, copy=False)
        K, d = self.n_classes, self.n_features

        def hessp(v):
            V64, vb64 = self.unpack(np.asarray(v, dtype=np.float64))
            V = V64.astype(self.dtype, copy=False)
            vb = vb64.astype(self.dtype, copy=False)
            out = np.zeros((K, d + int(self.fit_intercept)), dtype=np.float64)
            acc = np.zeros((K, d), dtype=np.float64)
            zv = np.empty((self.chunk_size, K), dtype=self.dtype)
            for sl in self._chunks():
                Xc, yc, swc = self.X[sl], self.y[sl], self.sw[sl]
                P = self._raw(Xc, W, b, self._zbuf(sl.stop - sl.start))
                self._softmax_chunk(P, yc)
                Zv = self._raw(Xc, V, vb, zv[: sl.stop - sl.start])
                Zv -= np.sum(P * Zv, axis=1, keepdims=True)
                Zv *= P
                Zv *= swc[:, None]
                self._add_product(Zv, Xc, acc)
                if self.fit_intercept:
                    out[:, -1] += Zv.sum(axis=0, dtype=np.float64)
            acc += self.l2_reg_strength * V64
            out[:, :d] = acc
            return out.ravel()

        return grad, hessp

    def lipschitz_bound(self):
        """An upper bound ``L`` of the gradient's Lipschitz constant.

        The Hessian is ``sum_i (s_i/S) (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T``
        with ``x~ = [x, 1]``; since ``||diag(p) - p p^T||_2 <= 1/2``,
        ``L <= lambda_max(X~^T diag(s/S) X~) / 2 + 1 / (C S)``.

        ``lambda_max`` is computed exactly from the (d+1, d+1) weighted Gram
        matrix when ``d`` is moderate; otherwise it is bounded by
        ``min(trace, ||M||_1 ||M||_inf)`` with ``M = diag(sqrt(s/S)) X~``
        (both are guaranteed upper bounds). A step of ``1 / L`` never diverges.

        Returns
        -------
        L : float
            Upper bound of the Lipschitz constant of :meth:`loss_gradient`.
        """
        X, sw = self.X, self.sw.astype(np.float64)
        fi = self.fit_intercept
        d = self.n_features
        sqrt_sw = np.sqrt(sw)
        if d + fi <= 2048 and self.n_samples * (d + fi) ** 2 <= 2e10:
            gram = np.zeros((d + fi, d + fi), dtype=np.float64)
            for sl in self._chunks():
                Xc = X[sl]
                Xc = Xc.toarray() if sp.issparse(Xc) else Xc
                M = np.asarray(Xc, dtype=np.float64) * sqrt_sw[sl, None]
                if fi:
                    M = np.hstack([M, sqrt_sw[sl, None]])
                gram += M.T @ M
            lam = float(np.linalg.eigvalsh(gram)[-1]) * (1 + 1e-8)
        else:
            if sp.issparse(X):
                A = sp.diags(sqrt_sw) @ abs(X)
                row_sq = np.asarray(A.multiply(A).sum(axis=1)).ravel()
                row_abs = np.asarray(A.sum(axis=1)).ravel()
                col_abs = np.asarray(A.sum(axis=0)).ravel()
            else:
                row_sq = np.zeros(self.n_samples)
                row_abs = np.zeros(self.n_samples)
                col_abs = np.zeros(d)
                for sl in self._chunks():
                    A = np.abs(np.asarray(X[sl], dtype=np.float64)) * sqrt_sw[sl, None]
                    row_sq[sl] = np.einsum("ij,ij->i", A, A)
                    row_abs[sl] = A.sum(axis=1)
                    col_abs += A.sum(axis=0)
            trace = row_sq.sum() + (sw.sum() if fi else 0.0)
            if fi:
                row_abs = row_abs + sqrt_sw
                col_abs = np.append(col_abs, sqrt_sw.sum())
            holder = float(row_abs.max() * col_abs.max())
            lam = min(trace, holder)
        return 0.5 * lam + self.l2_reg_strength
