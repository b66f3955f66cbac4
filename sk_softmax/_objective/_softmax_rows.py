"""The per-row softmax / cross-entropy math, shared by the backends.

One row ``i`` with scores ``z_i`` (``K`` classes), targets ``T_i`` (the
one-hot class, or soft targets, with label smoothing ``eps``:
``(1 - eps) T + eps / K``) and normalised weight ``w_i = s_i / S``::

    m_i  = max_k z_ik,   E_i = exp(z_i - m_i),   s_i = sum_k E_ik
    loss_i = m_i + log s_i - sum_k T_ik z_ik        (-sum_k T_ik log p_ik)
    G_i  = w_i (E_i / s_i - T_i)                    (gradient w.r.t. z_i)

:class:`ClassMajorRows` runs it on the numpy kernels' class-major ``(K,
rows)`` blocks (every reduction over classes runs along contiguous rows:
10-20x faster in numpy than reducing the short rows of a ``(rows, K)``
array), in place, without forming ``T`` for class codes (the true class is
addressed through a flat index). :func:`softmax_rows` and
:func:`smoothed_targets` are the same steps on the row-major ``(rows, K)``
blocks of the Array API backend, in the operations of its namespace ``xp``.
"""

import numpy as np

__all__ = ["ClassMajorRows", "smoothed_targets", "softmax_rows"]


class ClassMajorRows:
    """Softmax and cross-entropy of class-major ``(K, rows)`` score blocks.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Class codes (intp) or soft targets (in the working dtype).
    n_classes : int
        ``K``.
    label_smoothing : float
        ``eps`` in [0, 1).
    sample_weight : ndarray of shape (n_samples,)
        The normalised weights ``s_i / S`` in the working dtype.
    keep_index : bool
        Keep the flat true-class indices of every block (small objectives,
        whose passes run on the same few blocks at every evaluation); the
        block of all rows is always kept.
    max_rows : int
        The largest block's rows.
    """

    def __init__(
        self, y, n_classes, label_smoothing, sample_weight, keep_index, max_rows
    ):
        self.y = y
        self.soft = y.ndim == 2
        self.n_classes = int(n_classes)
        self.label_smoothing = float(label_smoothing)
        self.row_weight = sample_weight
        self.n_samples = y.shape[0]
        self.keep_index = keep_index
        self.arange = np.arange(max_rows)
        self.kept = {}  # flat true-class indices of kept blocks, by start

    def target_index(self, sl, rows):
        """Flat indices ``y_i * rows + i`` of the true classes in a (K, rows) block.

        Kept for the block of all rows and, with ``keep_index``, for every
        block (computed once per fit, not per evaluation).

        Parameters
        ----------
        sl : slice
            The block's rows.
        rows : int
            Their number.

        Returns
        -------
        index : ndarray of intp
        """
        if rows != self.n_samples and not self.keep_index:
            return self.y[sl] * rows + self.arange[:rows]
        idx = self.kept.get(sl.start)
        if idx is None or idx.shape[0] != rows:
            idx = self.y[sl] * rows + self.arange[:rows]
            self.kept[sl.start] = idx
        return idx

    def softmax(self, Z, sl):
        """Turn a (K, rows) block of scores into ``exp(z - m)``, in place.

        Parameters
        ----------
        Z : ndarray of shape (K, rows)
            Scores of the rows ``sl``; overwritten.
        sl : slice
            The rows.

        Returns
        -------
        nll : ndarray of shape (rows,), float64
            The per-row losses ``lse_i - sum_k T_ik z_ik``.
        s : ndarray of shape (rows,)
            The row sums ``sum_k exp(z_ik - m_i)``: ``P = Z / s`` (max
            shift, so no exponential overflows; the division is left to the
            caller).
        """
        rows = Z.shape[1]
        eps = self.label_smoothing
        K = self.n_classes
        if self.soft:
            Yc = self.y[sl]
            zt = np.einsum("ij,ji->i", Yc, Z, dtype=np.float64)
        else:
            zt = Z.ravel().take(self.target_index(sl, rows))
            if zt.dtype != np.float64:
                zt = zt.astype(np.float64)
        if eps:
            # T = (1 - eps) Y + eps / K
            zt *= 1 - eps
            zt += (eps / K) * Z.sum(axis=0, dtype=np.float64)
        m = Z.max(axis=0)
        Z -= m
        np.exp(Z, out=Z)
        s = Z.sum(axis=0)
        # -sum_k T_k log p_k = lse - sum_k T_k z_k, lse = m + log(s)
        nll = np.log(s, dtype=np.float64)
        nll += m
        nll -= zt
        return nll, s

    def gradient(self, Z, s, sl):
        """``Z <- w * (P - T)`` in place, from ``Z = exp(z - m)`` and row sums.

        Parameters
        ----------
        Z : ndarray of shape (K, rows)
            :meth:`softmax`'s block; overwritten.
        s : ndarray of shape (rows,)
            Its row sums.
        sl : slice
            The rows.

        Returns
        -------
        G : ndarray of shape (K, rows)
            ``Z`` itself.
        """
        eps = self.label_smoothing
        K = self.n_classes
        swc = self.row_weight[sl]
        # P = exp(z - m) / s, then s_w * (P - T); this order (not the fused
        # exp(z - m) * (s_w / s)) keeps the rounding of the reference kernel.
        Z /= s
        if self.soft:
            Z -= (1 - eps) * self.y[sl].T
        else:
            Z.ravel()[self.target_index(sl, Z.shape[1])] -= 1 - eps
        if eps:
            Z -= eps / K
        Z *= swc  # s_w * (P - T)
        return Z


def smoothed_targets(xp, targets, soft, classes, dtype, label_smoothing):
    """``T = (1 - eps) Y + eps / K`` of a row-major block, in namespace ``xp``.

    Parameters
    ----------
    xp : namespace
        The Array API namespace.
    targets : array of shape (rows,) or (rows, K)
        Class codes or soft targets of the block.
    soft : bool
        Whether ``targets`` are soft targets.
    classes : array of shape (K,)
        ``arange(K)`` on the device.
    dtype : dtype
        The working dtype.
    label_smoothing : float
        ``eps``.

    Returns
    -------
    T : array of shape (rows, K)
    """
    if soft:
        T = targets
    else:
        T = xp.astype(targets[:, None] == classes, dtype)
    if label_smoothing:
        T = (1 - label_smoothing) * T + label_smoothing / classes.shape[0]
    return T


def softmax_rows(xp, Z):
    """``(m, E, s)`` of a row-major (rows, K) score block: the max shift,
    ``exp(Z - m)`` and its row sums (each keeping a column axis).

    Parameters
    ----------
    xp : namespace
        The Array API namespace.
    Z : array of shape (rows, K)
        Scores.

    Returns
    -------
    m, E, s : arrays
    """
    m = xp.max(Z, axis=1, keepdims=True)
    E = xp.exp(Z - m)
    return m, E, xp.sum(E, axis=1, keepdims=True)
