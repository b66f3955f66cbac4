"""The dense chunk kernel of the numpy backend: the two products of a chunk.

Per chunk of rows ``X_c`` of a dense ``X`` (C-contiguous, float32 or
float64), the numpy backend (:mod:`sk_softmax._objective._numpy`) needs the
class-major scores ``Z^T = W X_c^T + b`` and the accumulation ``acc += G
X_c`` of a ``(K, rows)`` block ``G``. Each is one GEMM reading ``X_c`` once:
numpy's in the calling thread, or the private single-threaded BLAS
(:mod:`sk_softmax._blas`) on the backend's worker threads (``bufs["gemm"]``).
Float32 products are accumulated across chunks in float64.
"""

import numpy as np

__all__ = ["ChunkKernel", "DenseChunks"]


class ChunkKernel:
    """What the dense and CSR chunk kernels share: the data and the shape.

    Parameters
    ----------
    X : ndarray or csr_matrix of shape (n_samples, n_features)
        The data, float32 or float64.
    n_classes : int
        ``K``.
    fit_intercept : bool
        Whether the scores have intercepts.
    """

    def __init__(self, X, n_classes, fit_intercept):
        self.X = X
        self.n_features = X.shape[1]
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.dtype = X.dtype


class DenseChunks(ChunkKernel):
    """The products of the chunks of a dense ``X`` (C-contiguous ndarray)."""

    sparse = False

    def buffers(self, chunk_rows):
        """Per-worker work arrays: ``kd``, the (K, d) product result.

        Parameters
        ----------
        chunk_rows : int
            Rows per chunk.

        Returns
        -------
        buffers : dict
        """
        return {"kd": np.empty((self.n_classes, self.n_features), dtype=self.dtype)}

    def prepare(self, chunks):
        """Nothing to build before the worker threads start.

        Parameters
        ----------
        chunks : list of slice
            The chunks.
        """

    def params(self, W64, b64):
        """The parameters as the products take them: the ``(K, d)`` weights
        C-contiguous and the intercepts, in the working dtype.

        Parameters
        ----------
        W64 : ndarray of shape (n_classes, n_features), float64
            The weights.
        b64 : ndarray of shape (n_classes,)
            The intercepts.

        Returns
        -------
        M : tuple
            ``(W, b)``.
        """
        W = np.ascontiguousarray(W64, dtype=self.dtype)
        return W, np.ascontiguousarray(b64, dtype=self.dtype)

    def scores(self, i, sl, M, out, bufs):
        """``out = W X_c^T + b`` as a (K, rows) class-major block.

        Parameters
        ----------
        i : int
            Chunk index.
        sl : slice
            Its rows.
        M : tuple
            :meth:`params`' result.
        out : ndarray of shape (n_classes, rows)
            The result.
        bufs : dict
            The worker's buffers.

        Returns
        -------
        out : ndarray
        """
        # Z^T = W X_c^T: one GEMM, X_c read once.
        M, b = M
        gemm = bufs["gemm"]
        if gemm is None:
            np.matmul(M, self.X[sl].T, out=out)
        else:
            gemm(M, self.X[sl], out, trans_b=True)
        if self.fit_intercept:
            out += b[:, None]
        return out

    def new_accumulator(self):
        """A zeroed (K, d) float64 accumulator.

        Returns
        -------
        acc : ndarray
        """
        return np.zeros((self.n_classes, self.n_features), dtype=np.float64)

    def accumulate(self, i, sl, G, acc, bufs, squared=False):
        """``acc += G X_c`` for a (K, rows) block ``G`` (``X_c`` squared
        entrywise if ``squared``, a temporary of the chunk's size).

        Parameters
        ----------
        i : int
            Chunk index.
        sl : slice
            Its rows.
        G : ndarray of shape (n_classes, rows)
            The block.
        acc : ndarray of shape (n_classes, n_features)
            The accumulator (None: a new one).
        bufs : dict
            The worker's buffers.
        squared : bool, default=False
            Multiply by the squared entries of ``X_c``.

        Returns
        -------
        acc : ndarray
        """
        if acc is None:
            acc = self.new_accumulator()
        tmp = bufs["kd"]
        gemm = bufs["gemm"]
        Xc = self.X[sl]
        if squared:
            Xc = Xc * Xc
        if gemm is None:
            np.matmul(G, Xc, out=tmp)
        else:
            gemm(G, Xc, tmp)
        acc += tmp
        return acc

    def write_weights(self, accs, out, feature_major=False):
        """``out[...] = accs[0] + accs[1] + ...``: the weights part of a flat
        gradient from the worker groups' accumulators, summed in order.

        Parameters
        ----------
        accs : list of ndarray of shape (n_classes, n_features)
            The groups' accumulators (the first may be overwritten).
        out : ndarray of shape (n_classes, n_features), float64
            The weight view of a flat vector.
        feature_major : bool, default=False
            Never True for dense ``X``.
        """
        if len(accs) == 1:
            out[...] = accs[0]
            return
        np.add(accs[0], accs[1], out=out)
        for acc in accs[2:]:
            out += acc

    def max_abs(self, chunks):
        """``max |X_ij|`` over the chunks (0 for none).

        Parameters
        ----------
        chunks : iterable of slice
            The chunks.

        Returns
        -------
        max_abs : float
        """
        return max((float(np.abs(self.X[sl]).max()) for sl in chunks), default=0)
