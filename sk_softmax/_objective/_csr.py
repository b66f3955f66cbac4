"""The CSR chunk kernel of the numpy backend: the two sparse products of a chunk.

Both products run on a once-built CSR of each chunk's transpose ``X_c^T``
(d, rows): ``Z_c = X_c W^T`` as a CSC product (rows of ``W^T`` streamed in
order, scattered writes into the small (rows, K) block) and ``dW^T = X_c^T
G_c`` as a CSR product (sequential writes into a (d, K) result). Measured on
50000 x 200000, 80 nnz/row, K=20: forward 35 ms instead of 110-125 ms through
the row-major CSR of ``X``, backward 35 ms instead of ~105 ms for
``(X_c.T @ G_c)``. The price is one more copy of ``X.data`` and
``X.indices`` (12 bytes per non-zero in float64, 48 MB here) plus ``d + 1``
index pointers per chunk; it is built on the first evaluation.

Only public scipy API: the products are scipy's ``csc_matrix @ ndarray`` and
``csr_matrix @ ndarray`` on matrices built around the blocks' arrays (no
copy). Each returns a new array: a (rows, K) one for the scores (small), a
(d, K) one for the backward product. The first backward product of a group
of chunks is that group's accumulator; each further chunk adds its product
(one (d, K) temporary and one pass over it). scipy's private
``_sparsetools.csr_matvecs``, used before, accumulated in place; on the
benchmark shape above (4 chunks of 13107 rows, interleaved medians of 15,
load ~1) the public products with the old chunking cost 94.3 instead of
78.5 ms per loss and gradient and 59.8 instead of 44.6 ms per Hessian
product, mostly the four (d, K) temporaries and their additions. Hence the
chunking of sparse ``X`` (see ``auto_chunk_size``): chunks of up to ``d``
rows (a (rows, K) block no larger than the (d, K) temporary it saves), at
most one per usable CPU. The measurement after that change is in the
numpy backend's module docstring (the default fit 1.04 of the private
products' time).

With intercepts the scores' product runs on ``X~_c = [1, X_c]`` and
``[b; W^T]`` (a leading row of ones in each transposed block: ``rows`` more
non-zeros per chunk), so that every score starts from ``b`` and adds the
features' terms in the order of the in-place product used before: the
same rounding (float32 sparse fits were measurably sensitive to it, see
``tests/test_newton_pcg.py``). The weights' layout of the solvers'
feature-major order (``[b, W^T]``) makes that matrix a view of the
parameter vector.
"""

import numpy as np
import scipy.sparse as sp

from ._dense import ChunkKernel

__all__ = ["CSRChunks", "blocked_transpose"]


def blocked_transpose(A, out, block=4096):
    """``out[...] = A.T`` in column blocks that stay in cache (faster than one
    strided copy for large ``A``).

    Parameters
    ----------
    A : ndarray of shape (m, n)
        The matrix.
    out : ndarray of shape (n, m)
        The result.
    block : int, default=4096
        Rows of ``A`` per block.

    Returns
    -------
    out : ndarray
    """
    n = A.shape[0]
    for start in range(0, n, block):
        out[:, start : start + block] = A[start : start + block].T
    return out


class CSRChunks(ChunkKernel):
    """The products of the chunks of a CSR ``X``, on their transposed blocks."""

    sparse = True

    def __init__(self, X, n_classes, fit_intercept):
        super().__init__(X, n_classes, fit_intercept)
        self.blocks = None

    def buffers(self, chunk_rows):
        """Per-worker work arrays: ``rk``, a (chunk, K) row-major block.

        Parameters
        ----------
        chunk_rows : int
            Rows per chunk.

        Returns
        -------
        buffers : dict
        """
        return {"rk": np.empty((chunk_rows, self.n_classes), dtype=self.dtype)}

    def prepare(self, chunks):
        """Build the CSR arrays of each ``X~_c^T`` once (see :meth:`scores`).

        With intercepts, ``X~_c^T`` is ``X_c^T`` under a first row of ones
        (``(d + 1, rows)``), so that the scores' product adds ``b`` first,
        then the features' terms (the rounding of the in-place product used
        before); the backward products use the ``X_c^T`` part alone, a view
        of the same arrays with its own index pointers.

        Parameters
        ----------
        chunks : list of slice
            The chunks.

        The scipy matrices around these arrays (no copy) are built once too:
        their construction costs more than a small chunk's product (5-9% of
        an evaluation on csr_5000x20000_K5).

        Returns
        -------
        blocks : list of tuple
            ``(forward, backward)`` per chunk: the CSC matrix of ``X~_c``
            and the CSR matrix of ``X_c^T``.
        """
        if self.blocks is None:
            blocks = []
            d, fi = self.n_features, int(self.fit_intercept)
            for sl in chunks:
                rows = sl.stop - sl.start
                T = sp.csr_matrix(self.X[sl].T)  # CSC of X_c -> CSR of X_c^T
                idx, data = T.indices, T.data
                indptr = T.indptr.astype(idx.dtype, copy=False)
                backward = (data, idx, indptr)
                if fi:
                    idx = np.concatenate([np.arange(rows, dtype=idx.dtype), idx])
                    data = np.concatenate([np.ones(rows, dtype=data.dtype), data])
                    indptr = np.concatenate([indptr[:1], indptr + rows])
                    # the X_c^T part: views after the row of ones
                    backward = (data[rows:], idx[rows:], backward[2])
                blocks.append(
                    (
                        sp.csc_matrix((data, idx, indptr), (rows, d + fi), copy=False),
                        sp.csr_matrix(backward, (d, rows), copy=False),
                    )
                )
            self.blocks = blocks
        return self.blocks

    def params(self, W64, b64):
        """The parameters as the scores' product takes them: ``[b; W^T]``
        (``(d + 1, K)``; ``W^T``, ``(d, K)``, without intercepts), a
        C-contiguous copy in the working dtype.

        Parameters
        ----------
        W64 : ndarray of shape (n_classes, n_features), float64
            The weights.
        b64 : ndarray of shape (n_classes,)
            The intercepts (ignored without).

        Returns
        -------
        M : ndarray of shape (n_features + fit_intercept, n_classes)
        """
        fi = int(self.fit_intercept)
        M = np.empty((self.n_features + fi, self.n_classes), dtype=self.dtype)
        blocked_transpose(W64, M[fi:])
        if fi:
            M[0] = b64
        return M

    def _backward(self, i, squared=False):
        A = self.blocks[i][1]
        if not squared:
            return A
        return sp.csr_matrix(
            (A.data * A.data, A.indices, A.indptr), A.shape, copy=False
        )

    def scores(self, i, sl, M, out, bufs):
        """``out = W X_c^T + b`` as a (K, rows) class-major block.

        One product ``X~_c [b; W^T]`` (the CSC of ``X~_c`` is the CSR of
        its transposed block), into a new (rows, K) array, copied into
        ``out``.

        Parameters
        ----------
        i : int
            Chunk index.
        sl : slice
            Its rows.
        M : ndarray of shape (n_features + fit_intercept, n_classes)
            :meth:`params`' result (or a view of the same layout).
        out : ndarray of shape (n_classes, rows)
            The result.
        bufs : dict
            The worker's buffers.

        Returns
        -------
        out : ndarray
        """
        out[...] = (self.blocks[i][0] @ M).T
        return out

    def new_accumulator(self):
        """A new accumulator: the list of a group's chunk products.

        The products are summed once, straight into the result
        (:meth:`write_weights`): one pass over the (d, K) arrays fewer than
        adding them as they come and copying the sum.

        Returns
        -------
        acc : list
        """
        return []

    def accumulate(self, i, sl, G, acc, bufs, squared=False):
        """Append ``X_c^T G^T`` (d, K) for a (K, rows) block ``G`` to ``acc``.

        Parameters
        ----------
        i : int
            Chunk index.
        sl : slice
            Its rows.
        G : ndarray of shape (n_classes, rows)
            The block.
        acc : list
            The accumulator (:meth:`new_accumulator`).
        bufs : dict
            The worker's buffers.
        squared : bool, default=False
            Multiply by the squared entries of ``X_c`` (a temporary of the
            chunk's non-zeros).

        Returns
        -------
        acc : list
            ``acc``, with the product (working dtype) appended.
        """
        rows = sl.stop - sl.start
        rk = bufs["rk"][:rows]
        rk[...] = G.T
        acc.append(self._backward(i, squared) @ rk)
        return acc

    def write_weights(self, accs, out, feature_major=False):
        """The weights part of a flat gradient: the sum of all the chunk
        products of the worker groups' accumulators, in order.

        Parameters
        ----------
        accs : list of list of ndarray of shape (n_features, n_classes)
            The groups' accumulators (their arrays may be overwritten).
        out : ndarray, float64
            The weight view of a flat vector: ``(d, K)`` in the
            feature-major order (the sum is written there directly), else
            ``(K, d)`` (the sum's transpose).
        feature_major : bool, default=False
            Which of the two ``out`` is.
        """
        products = [p for acc in accs for p in acc]
        if feature_major and len(products) == 2:  # the sum written there
            np.add(*products, out=out, dtype=self.dtype)  # in the working dtype
            return
        total = products[0]  # summed in place into the first
        for p in products[1:]:
            total += p
        if feature_major:
            out[...] = total
        else:
            blocked_transpose(total, out)

    def max_abs(self, chunks):
        """``max |X_ij|`` (0 for an all-zero ``X``).

        Parameters
        ----------
        chunks : iterable of slice
            Unused (the non-zeros are read at once).

        Returns
        -------
        max_abs : float
        """
        X = self.X
        return float(np.abs(X.data).max()) if X.nnz else 0.0
