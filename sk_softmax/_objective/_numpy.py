"""The numpy / scipy.sparse backend: the chunked data term of the objective.

:class:`SoftmaxCrossEntropyL2` computes the data term of the objective of
:mod:`sk_softmax._objective._base` (the mean-scaled softmax cross-entropy;
the base class adds the penalty and defines the parameter layout) on a dense
numpy array or a scipy.sparse CSR matrix.

The rows of ``X`` are processed in chunks. Per chunk of rows ``X_c`` the
kernel works on the class-major block ``Z^T`` (K, rows), so that every
reduction over classes runs along contiguous rows (10-20x faster in numpy than
reducing the short rows of a (rows, K) array)::

    Z^T  = W X_c^T + b                         one GEMM, X_c read once
    m    = max_k Z_k,  E = exp(Z - m),  s = sum_k E_k      (log-sum-exp)
    loss += sum_i w_i (m_i + log s_i - z_{i, y_i})         -log p_iy = lse_i - z_iy
    G^T  = w * (E / s - Y^T)                    (P - Y) scaled by the weights,
                                                in place in the score block
    dW  += G^T X_c,  db += sum_i G_i            second GEMM, X_c still in cache

with ``w_i = s_i / S``. ``Y`` is never formed (the true class is subtracted
through a flat index; soft targets and label smoothing are handled in the
same pass). Buffers are reused across calls: the extra memory is
O(chunk * K + d * K) per worker thread, independent of ``n_samples``. float32
``X`` runs float32 products and element-wise work; the loss and the gradient
are accumulated over chunks in float64.

Chunk size (:func:`auto_chunk_size`, overridable with ``chunk_size``): dense,
a working set of ~2 MiB per chunk (X block plus score block), at least 256
rows, and at least as many chunks as usable CPUs where that leaves 256 rows
each (small data sets then also run on the worker threads instead of
numpy's threaded BLAS); sparse, see below.

Threads: dense chunks are split into as many contiguous groups as numpy's
BLAS is allowed threads, processed by Python threads (numpy releases the GIL
in its ufuncs), each running its products through a private single-threaded
BLAS (:mod:`sk_softmax._blas`): no BLAS setting of the process is changed.
This parallelises the element-wise work too, and avoids OpenBLAS's threading
of small, skinny products, which on a shared 2-core machine was measured 2-3x
slower and erratic. The grouping depends only on the chunk count, so results
are deterministic; a user limit (``threadpool_limits(1)``) makes it serial,
and then numpy's own products run in the calling thread.
Measured (60000 x 784, K=10, float64, 2 cores): one evaluation ~45-50 ms,
against ~75-85 ms for the two bare products ``X W^T`` and ``G^T X``.

Sparse ``X`` (CSR): both products run on a once-built CSR of each chunk's
transpose ``X_c^T`` (d, rows): ``Z_c = X_c W^T`` as a CSC product (rows of
``W^T`` streamed in order, scattered writes into the small (rows, K) block)
and ``dW^T += X_c^T G_c`` as a CSR product accumulating in place into a
(d, K) array (sequential writes, no (d, K) temporary per chunk). Measured on
50000 x 200000, 80 nnz/row, K=20: forward 35 ms instead of 110-125 ms through
the row-major CSR of ``X``, backward 35 ms instead of ~105 ms for
``(X_c.T @ G_c)``. The price is one more copy of ``X.data`` and
``X.indices`` (12 bytes per non-zero in float64, 48 MB here) plus ``d + 1``
index pointers per chunk; it is built on the first evaluation. Chunks are
large for sparse data (``>= 2 d`` non-zeros each), since each chunk streams
the (d, K) weights and accumulator once.
"""

import functools

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

from .._blas import private_gemm
from .._threadpool import _available_cpus, chunk_workers, run_in_threads
from .._vector import dot
from ._base import FlatOrder, SoftmaxObjective
from ._sparse import csc_matmat_add, csr_matmat_add

__all__ = ["FeatureMajorOrder", "SoftmaxCrossEntropyL2", "auto_chunk_size"]

# Target size of the per-chunk working set, in bytes: about the L2 cache of a
# core (1-2 MiB on current x86), since each worker thread keeps its chunk of X
# and its (K, chunk) block hot between the two products; measured on the
# benchmark shapes, 256-2048 rows are within noise of each other, and 4096 or
# more (or one chunk and BLAS threads) is slower.
_CHUNK_BYTES = 2 * 2**20
_MIN_CHUNK_ROWS = 256
# Process dense chunks in parallel threads (False: serial, BLAS threads only).
_PARALLEL = True
# Small-data passes (one block, the calling thread) run their products of at
# least this many multiply-adds in the private single-threaded BLAS while
# numpy's BLAS may use threads: numpy's OpenBLAS threads larger products
# (0.3.31 here: 650000 multiply-adds measured single-threaded, 1.17 million
# threaded), and waking its pool for a ~50 us product costs more than it
# saves on a busy machine. Smaller products, and all of them under a
# one-thread limit, go through numpy (one fewer ctypes call: 5-15 us less
# per product, measured on digits' 10 x 65 x 1797).
_PRIVATE_GEMM_MIN_MADDS = 2**20
# Column blocks of the kept X~^T in the small float64 loss/gradient pass:
# about three quarters of a core's L2 cache (see _small_loss_gradient).
_SMALL_BLOCK_BYTES = 3 * 2**18
# Split the chunks of sparse X over threads in the Newton model's passes.
# Measured on 50000 x 200000, 80 nnz/row, K=20 (4 chunks), 2 cores shared with
# other jobs (load average 13-14), Newton-CG to tol=1e-4 from zero, 4 runs
# each, interleaved: median 26.3 s with, 28.2 s without (0.93; process CPU
# time 5.2 vs 4.9 s). Not measured on an idle machine, where both cores are
# free for the two halves of each product.
_SPARSE_NEWTON_THREADS = True


def auto_chunk_size(
    n_samples, n_features, n_classes, itemsize, nnz_per_row=None, min_chunks=1
):
    """Number of rows per chunk chosen from the data shape.

    Dense ``X``: a chunk holds ``chunk * (n_features + 2 * n_classes)``
    numbers (a block of ``X`` and the scores / gradient block); it is sized to
    about 2 MiB (``_CHUNK_BYTES``), at least 256 rows so that the matrix
    products stay efficient.

    Sparse ``X``: every chunk streams the ``(d, K)`` weights and gradient
    accumulator once per product, so the chunk must carry at least ``2 d``
    non-zeros to amortise that, and its ``(chunk, K)`` block (the target of
    scattered writes) should stay about 2 MiB. The larger of the two wins
    (measured on 50000 x 200000, 80 nnz/row, K=20: 4096 rows 54 + 57 ms,
    8192 rows 39 + 43 ms, 16384 rows 35 + 35 ms for the two products).

    Parameters
    ----------
    n_samples : int
        Number of rows of ``X``.
    n_features : int
        Number of columns of ``X``.
    n_classes : int
        Number of classes ``K``.
    itemsize : int
        Bytes per number (4 for float32, 8 for float64).
    nnz_per_row : float or None, default=None
        Mean non-zeros per row for sparse ``X``; None for dense ``X``.
    min_chunks : int, default=1
        Dense ``X``: split into at least this many chunks (of at least 256
        rows), so that data that fit in one chunk can still be spread over
        the kernel's worker threads (see ``SoftmaxCrossEntropyL2``).

    Returns
    -------
    chunk_size : int
        Rows per chunk, between 1 and ``n_samples``.
    """
    if nnz_per_row is None:
        per_row = itemsize * (n_features + 2 * n_classes)
        rows = max(_MIN_CHUNK_ROWS, _CHUNK_BYTES // max(per_row, 1))
        rows = min(rows, max(_MIN_CHUNK_ROWS, -(-n_samples // max(min_chunks, 1))))
    else:
        rows_cache = _CHUNK_BYTES // max(itemsize * n_classes, 1)
        rows_stream = int(np.ceil(2 * n_features / max(nnz_per_row, 1e-12)))
        rows = max(_MIN_CHUNK_ROWS, rows_cache, rows_stream)
    return int(max(1, min(n_samples, rows)))


def _small_gemm(largest):
    """The GEMM for large small-data products: private where some product
    (``largest`` multiply-adds) is large and numpy's BLAS may run threads
    now (and the private BLAS loads), else None (numpy's)."""
    if largest < _PRIVATE_GEMM_MIN_MADDS or chunk_workers(2) <= 1:
        return None
    return private_gemm()


def _matmul(A, B, gemm, trans_b=False, out=None):
    """``A @ B`` (``A @ B.T`` if ``trans_b``) in the calling thread.

    ``A``, ``B`` and ``out`` (if given) are float64 with contiguous rows
    (C-contiguous, or a column block of such an array); ``gemm`` is
    :func:`_small_gemm`'s, used from ``_PRIVATE_GEMM_MIN_MADDS`` on.
    """
    (m, k), n = A.shape, B.shape[0 if trans_b else 1]
    if gemm is not None and m * k * n >= _PRIVATE_GEMM_MIN_MADDS:
        if out is None:
            out = np.empty((m, n), dtype=A.dtype)
        return gemm(A, B, out, trans_b=trans_b)
    return np.matmul(A, B.T if trans_b else B, out=out)


def _blocked_transpose(A, out, block=4096):
    """``out[...] = A.T`` in column blocks that stay in cache (faster than one
    strided copy for large ``A``)."""
    n = A.shape[0]
    for start in range(0, n, block):
        out[:, start : start + block] = A[start : start + block].T
    return out


class FeatureMajorOrder(FlatOrder):
    """The sparse kernel's order of the parameters: ``[W^T.ravel(), b]``.

    ``W^T`` is ``(d, K)``, the layout of the sparse products' weights and
    accumulator, so that Hessian products, and loss and gradient (see
    :meth:`~sk_softmax._objective._base.SoftmaxObjective.ordered_loss_gradient`),
    in this order transpose nothing (see
    :meth:`SoftmaxCrossEntropyL2._data_newton_model`).
    """

    feature_major = True

    def __init__(self, objective):
        self.K, self.d = objective.n_classes, objective.n_features
        self.fit_intercept = objective.fit_intercept

    def to_model(self, v):
        """``v`` (flat layout ``[W, b]``) in this order (a new vector)."""
        K, d = self.K, self.d
        Wb = v.reshape(K, -1)
        u = np.empty(v.size)
        _blocked_transpose(Wb[:, :d], u[: d * K].reshape(d, K))
        if self.fit_intercept:
            u[d * K :] = Wb[:, d]
        return u

    def to_flat(self, u):
        """``u`` (this order) in the flat layout ``[W, b]`` (a new vector)."""
        K, d = self.K, self.d
        v = np.empty(u.size)
        Wb = v.reshape(K, -1)
        _blocked_transpose(u[: d * K].reshape(d, K), Wb[:, :d])
        if self.fit_intercept:
            Wb[:, d] = u[d * K :]
        return v

    def weights(self, u):
        """View of the ``W^T`` entries of ``u``."""
        return u[: self.d * self.K]

    def intercepts(self, u):
        """View of the intercepts of ``u``; None without intercepts."""
        return u[self.d * self.K :] if self.fit_intercept else None

    def remove_shifts(self, u, intercepts, weights):
        """As :meth:`FlatOrder.remove_shifts`, in this order."""
        K, d = self.K, self.d
        if intercepts:
            u[d * K :] -= u[d * K :].mean()
        if weights:
            WT = u[: d * K].reshape(d, K)
            WT -= WT.mean(axis=1, keepdims=True)
        return u


class SoftmaxCrossEntropyL2(SoftmaxObjective):
    """Mean-scaled softmax cross-entropy of a linear model, plus an L2 penalty.

    The numpy / scipy.sparse backend of :class:`SoftmaxObjective`: the
    parameters are one flat vector ``w``, the ravel of a ``(K, d + 1)``
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
    weight_sum : float or None, default=None
        ``S`` the data term is divided by; None means ``sum(sample_weight)``
        (see :class:`SoftmaxObjective`).
    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty (see :class:`SoftmaxObjective`).
    """

    dense_hessian = True
    binary_hessian = True

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
    ):
        self._sparse = self.sparse = sp.issparse(X)
        if self._sparse and X.format != "csr":
            X = sp.csr_matrix(X)
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
        super().__init__(sample_weight, C, weight_sum, l1_ratio)
        # Normalised weights s_i / S in the working precision of X.
        self.sw = (self.sample_weight / self.sw_sum).astype(self.dtype)
        self._chunk_size_param = chunk_size  # mini-batch objectives reuse it
        # Rows per block of the (serial) dense Hessian pass: the memory rule
        # alone, or the user's chunk_size.
        hessian_rows = chunk_size
        if chunk_size is None:
            nnz_per_row = None
            if self._sparse:
                nnz_per_row = X.nnz / max(n_samples, 1)
            shape = (n_samples, n_features, self.n_classes, self.dtype.itemsize)
            hessian_rows = auto_chunk_size(*shape, nnz_per_row=nnz_per_row)
            # Dense data that fit in one chunk are still split over the
            # usable CPUs (chunks of >= 256 rows): with one chunk the kernel
            # ran in the calling thread with numpy's BLAS, which threads the
            # products (standardised digits as shipped, 2 loaded cores: 2.3 s
            # per fit, ~70 ms per product waking the pool; in two chunks on
            # the kernel's workers: 53 ms; LogisticRegression 2.6 s).
            chunk_size = auto_chunk_size(
                *shape,
                nnz_per_row=nnz_per_row,
                min_chunks=1 if self._sparse else _available_cpus(),
            )
        self.chunk_size = int(max(1, min(chunk_size, max(n_samples, 1))))
        self._hessian_rows = int(max(1, min(hessian_rows, max(n_samples, 1))))
        self._sw64 = self.sw.astype(np.float64)
        self._arange = np.arange(max(self.chunk_size, self._hessian_rows))
        self._bufs = []
        self._blocks = None
        # Small dense data (all rows in one block of the memory rule): the
        # passes run on a float64 copy of X~ = [X, 1] kept between them, in
        # the calling thread (see _small_loss_gradient); float32 X keeps its
        # float32 chunks for the loss and gradient.
        self._small = not self._sparse and n_samples <= self._hessian_rows
        self._design = None  # (X~^T, X~) in float64, built on first use
        self._small_scores = None  # (K, n) buffer of small float64 passes
        self._flat_blocks = {}  # flat true-class indices of kept blocks

    def n_workers(self):
        """Threads an evaluation runs now (the user's BLAS limit is read live).

        More than one means that the evaluations keep all allowed cores
        busy: a caller should then avoid threaded BLAS calls between them
        (see ``use_blas`` of :func:`~sk_softmax._solvers.lbfgs`).

        Returns
        -------
        n_workers : int
        """
        if self._sparse or not _PARALLEL or not self.X.flags.c_contiguous:
            return 1
        # Small float64 data run their pass in the calling thread, but report
        # the threads the process allows: a caller's threaded BLAS calls
        # between evaluations would still spin against other work (scipy's
        # L-BFGS-B on standardised digits as shipped, busy 2 cores: 570 ms
        # per fit instead of 124 ms with the BLAS-free L-BFGS).
        return chunk_workers(-(-self.n_samples // self.chunk_size))

    def _rows(self, idx, sample_weight, weight_sum):
        """Data-only objective of the rows ``idx`` (gathered, one copy of them)."""
        return type(self)(
            self.X[idx],
            self.y[idx],
            self.n_classes,
            sample_weight=sample_weight,
            C=np.inf,
            fit_intercept=self.fit_intercept,
            chunk_size=self._chunk_size_param,
            label_smoothing=self.label_smoothing,
            weight_sum=weight_sum,
        )

    def accuracy(self, rows):
        """``w -> `` accuracy of the model ``w`` on the rows ``rows``.

        The rows are copied once (early stopping's validation rows) and
        scored at every call; soft targets count their most probable class.

        Parameters
        ----------
        rows : ndarray of int
            Row indices.

        Returns
        -------
        score : callable
            ``score(w) -> float``.
        """
        X_val = self.X[rows]
        y_val = self.y[rows] if not self.soft else self.y[rows].argmax(axis=1)

        def score(w):
            coef, intercept = self.unpack(w)
            Z = safe_sparse_dot(X_val, coef.T.astype(self.dtype)) + intercept
            return float(np.mean(np.argmax(Z, axis=1) == y_val))

        return score

    def max_abs_feature(self):
        """float: ``max |X_ij|`` (0.0 for an empty or all-zero ``X``)."""
        X = self.X
        if self._sparse:
            return float(np.abs(X.data).max()) if X.nnz else 0.0
        return max((float(np.abs(X[sl]).max()) for sl in self._chunks()), default=0)

    def _chunks(self):
        n, c = self.n_samples, self.chunk_size
        for start in range(0, n, c):
            yield slice(start, min(start + c, n))

    def _chunk_slice(self, i):
        start = i * self.chunk_size
        return slice(start, min(start + self.chunk_size, self.n_samples))

    # ------------------------------------------------------------ buffers
    def _buffers(self, worker=0):
        """Reusable work arrays of one worker thread, allocated once.

        ``zt``: flat storage of the (K, rows) scores / probabilities /
        gradient block, class-major so that reductions over classes run along
        contiguous rows. ``zv``: the same for Hessian products. ``kd``: (K, d)
        product result for dense ``X``. ``rk``: (chunk, K) row-major copy for
        sparse ``X``.
        """
        while len(self._bufs) <= worker:
            K, c, d = self.n_classes, self.chunk_size, self.n_features
            bufs = {"zt": np.empty(K * c, dtype=self.dtype)}
            if self._sparse:
                bufs["rk"] = np.empty((c, K), dtype=self.dtype)
            else:
                bufs["kd"] = np.empty((K, d), dtype=self.dtype)
            self._bufs.append(bufs)
        return self._bufs[worker]

    def _map_chunks(self, fn, sparse_threads=False):
        """Run ``fn(chunk_ids, buffers)`` over all chunks; list of its results.

        Dense C-contiguous ``X`` with several chunks and a numpy BLAS allowed
        ``T >= 2`` threads: the chunks are split into ``T`` contiguous groups
        processed by ``T`` Python threads, whose products run in the private
        single-threaded BLAS (``bufs["gemm"]``; see
        :func:`~sk_softmax._threadpool.chunk_workers`). The groups are fixed
        by the chunk count, so results are deterministic. Otherwise one group
        in the calling thread, with numpy's products (``bufs["gemm"]`` None).

        ``sparse_threads``: sparse ``X`` is split the same way (scipy's
        sparse products release the GIL); used by the Newton model's passes
        (:meth:`_data_newton_model`), whose solver makes no BLAS call. The
        loss and gradient of sparse ``X`` stay serial, so that L-BFGS keeps
        scipy's L-BFGS-B (see ``n_workers``).
        """
        n_chunks = -(-self.n_samples // self.chunk_size)
        ids = list(range(n_chunks))
        workers = self.n_workers()
        if sparse_threads and self._sparse and _SPARSE_NEWTON_THREADS:
            workers = chunk_workers(n_chunks)
            self._sparse_blocks()  # built once, before the threads
        if workers <= 1:
            bufs = self._buffers(0)
            bufs["gemm"] = None
            return [fn(ids, bufs)]
        bounds = np.linspace(0, n_chunks, workers + 1).round().astype(int)
        groups = [ids[bounds[t] : bounds[t + 1]] for t in range(workers)]
        bufs = [self._buffers(t) for t in range(workers)]
        for b in bufs:
            b["gemm"] = private_gemm()
        return run_in_threads(fn, list(zip(groups, bufs, strict=True)))

    def _sparse_blocks(self):
        """Per-chunk CSR arrays of ``X_c^T`` (shape ``(d, rows)``), built once.

        Both products run on this transposed layout: ``Z_c = X_c W^T`` as a
        CSC product (``W^T`` rows streamed in order, scattered writes into the
        small ``(rows, K)`` block) and ``acc += X_c^T G_c`` as a CSR product
        (sequential writes into the ``(d, K)`` accumulator). The blocks cost
        one more copy of ``X.data`` and ``X.indices`` plus ``d + 1`` index
        pointers per chunk; see the module docstring for the measurements.
        """
        if self._blocks is None:
            X = self.X
            blocks = []
            for sl in self._chunks():
                Xc = X[sl]
                T = sp.csr_matrix(Xc.T)  # CSC of X_c -> CSR of X_c^T
                idx = T.indices
                blocks.append((T.indptr.astype(idx.dtype, copy=False), idx, T.data))
            self._blocks = blocks
        return self._blocks

    def _params(self, w):
        """``(w64, W, WT, b)`` for a flat parameter vector ``w``.

        ``w64`` is ``w`` as a contiguous float64 vector; ``W`` (dense ``X``) is
        a C-contiguous ``(K, d)`` copy in the working dtype, ``WT`` (sparse
        ``X``) a C-contiguous ``(d, K)`` one; ``b`` the intercepts.
        """
        w64 = np.ascontiguousarray(w, dtype=np.float64)
        W64, b64 = self.unpack(w64)
        b = np.ascontiguousarray(b64, dtype=self.dtype)
        if self._sparse:
            WT = np.empty((self.n_features, self.n_classes), dtype=self.dtype)
            _blocked_transpose(W64, WT)
            return w64, None, WT, b
        return w64, np.ascontiguousarray(W64, dtype=self.dtype), None, b

    # ---------------------------------------------------------- chunk steps
    def _scores(self, i, sl, W, WT, b, out, bufs):
        """``out = W X_c^T + b`` as a (K, rows) class-major block."""
        rows = sl.stop - sl.start
        if self._sparse:
            indptr, indices, data = self._sparse_blocks()[i]
            rk = bufs["rk"][:rows]
            # rk = X_c W^T + b: CSC product of X_c, accumulating (Y += A B)
            rk[...] = b
            csc_matmat_add(rows, self.n_features, indptr, indices, data, WT, rk)
            out[...] = rk.T
        else:
            # Z^T = W X_c^T: one GEMM, X_c read once.
            gemm = bufs["gemm"]
            if gemm is None:
                np.matmul(W, self.X[sl].T, out=out)
            else:
                gemm(W, self.X[sl], out, trans_b=True)
            if self.fit_intercept:
                out += b[:, None]
        return out

    def _accumulate(self, i, sl, G, acc, bufs, squared=False):
        """``acc += G X_c`` for a (K, rows) block ``G``; ``acc`` is (K, d).

        Dense: one GEMM into a reused buffer, then a (K, d) add (in float64).
        Sparse: ``acc`` is (d, K) and the transposed CSR block accumulates
        ``acc += X_c^T G^T`` in place, with no (d, K) temporary.
        ``squared``: the product with the squared entries of ``X_c`` (a
        temporary of the chunk's size).
        """
        if self._sparse:
            indptr, indices, data = self._sparse_blocks()[i]
            if squared:
                data = data * data
            rows = sl.stop - sl.start
            rk = bufs["rk"][:rows]
            rk[...] = G.T
            csr_matmat_add(self.n_features, rows, indptr, indices, data, rk, acc)
        else:
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

    def _new_accumulator(self):
        """Zeroed gradient accumulator: (K, d) dense, (d, K) sparse.

        Dense float32 products are accumulated in float64 across chunks. The
        sparse kernel accumulates in place, in the working dtype.
        """
        K, d = self.n_classes, self.n_features
        if self._sparse:
            return np.zeros((d, K), dtype=self.dtype)
        return np.zeros((K, d), dtype=np.float64)

    def _assemble(self, acc, gb):
        """Flat data gradient ``[acc, gb]`` in the parameter layout (float64).

        The penalty's term is added to its weight part by the base class.
        """
        K, d = self.n_classes, self.n_features
        out = np.empty((K, d + int(self.fit_intercept)), dtype=np.float64)
        outW = out[:, :d]
        if self._sparse:
            _blocked_transpose(acc, outW)  # acc is (d, K)
        else:
            outW[...] = acc
        if self.fit_intercept:
            out[:, -1] = gb
        return out.ravel()

    def _flat_target_index(self, sl, rows):
        """Flat indices ``y_i * rows + i`` of the true classes in a (K, rows) block.

        Kept for the block of all rows and for the few column blocks of a
        small objective's passes (computed once per fit, not per evaluation).
        """
        if rows != self.n_samples and not self._small:
            return self.y[sl] * rows + self._arange[:rows]
        idx = self._flat_blocks.get(sl.start)
        if idx is None or idx.shape[0] != rows:
            idx = self.y[sl] * rows + self._arange[:rows]
            self._flat_blocks[sl.start] = idx
        return idx

    def _softmax_block(self, Z, sl):
        """Turn a (K, rows) block of scores into probabilities, in place.

        Returns the per-row losses ``lse_i - sum_k T_ik z_ik`` (float64) and
        the row sums ``s_i = sum_k exp(z_ik - m_i)``: ``P = exp(Z - m) / s``
        (max shift, so no exponential overflows; the division is left to the
        caller).
        """
        rows = Z.shape[1]
        eps = self.label_smoothing
        K = self.n_classes
        if self.soft:
            Yc = self.y[sl]
            zt = np.einsum("ij,ji->i", Yc, Z, dtype=np.float64)
        else:
            zt = Z.ravel().take(self._flat_target_index(sl, rows))
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

    def _gradient_block(self, Z, s, sl):
        """``Z <- s_w * (P - T)`` in place, from ``Z = exp(z - m)`` and row sums."""
        eps = self.label_smoothing
        K = self.n_classes
        swc = self.sw[sl]
        # P = exp(z - m) / s, then s_w * (P - T); this order (not the fused
        # exp(z - m) * (s_w / s)) keeps the rounding of the reference kernel.
        Z /= s
        if self.soft:
            Z -= (1 - eps) * self.y[sl].T
        else:
            Z.ravel()[self._flat_target_index(sl, Z.shape[1])] -= 1 - eps
        if eps:
            Z -= eps / K
        Z *= swc  # s_w * (P - T)
        return Z

    def _data_loss_gradient(self, w64, need_gradient, feature_major=False):
        """Data term and its gradient at the contiguous float64 ``w64``.

        One pass over the chunks (in worker threads, see
        :meth:`_map_chunks`); the gradient in the parameter layout, without
        the penalty. ``feature_major`` (sparse ``X``, see
        :meth:`solver_order`): ``w64`` and the gradient in the order of
        :class:`FeatureMajorOrder`, the kernel's own: the ``(d, K)`` weights
        are a view of ``w64`` (float64) and the first group of chunks
        accumulates into the gradient vector itself, so that nothing is
        transposed (each way ~8 ms for ``d=200000, K=20``, float64).
        """
        if self._small and self.dtype == np.float64:
            return _small_loss_gradient(self, w64, need_gradient)
        K = self.n_classes
        out = None
        if feature_major:
            if not self._sparse:
                raise ValueError("the feature-major order is the sparse kernel's")
            W, (WT, b) = None, self._feature_major_params(w64)
            if need_gradient:
                out = np.zeros(w64.size)
        else:
            _, W, WT, b = self._params(w64)
        sw64 = self._sw64
        params = [W, WT]  # dropped before the gradient is assembled
        del W, WT

        def work(ids, bufs):
            W, WT = params
            zt = bufs["zt"]
            loss = 0.0
            acc = self._group_accumulator(ids, out) if need_gradient else None
            gb = np.zeros(K, dtype=np.float64)
            for i in ids:
                sl = self._chunk_slice(i)
                rows = sl.stop - sl.start
                Z = self._scores(i, sl, W, WT, b, zt[: K * rows].reshape(K, rows), bufs)
                nll, s = self._softmax_block(Z, sl)
                loss += dot(sw64[sl], nll)  # numpy loop: no BLAS pool wakes
                if need_gradient:
                    # G = s_w * (P - Y): subtract at the true class, no one-hot Y.
                    G = self._gradient_block(Z, s, sl)
                    self._accumulate(i, sl, G, acc, bufs)
                    if self.fit_intercept:
                        gb += G.sum(axis=1, dtype=np.float64)
            return loss, acc, gb

        parts = self._map_chunks(work)
        params.clear()  # (d, K) copy of W for sparse X: free it before assembly
        loss = sum(part[0] for part in parts)
        if not need_gradient:
            return loss, None
        acc, gb = self._reduce(parts)
        if out is None:
            return loss, self._assemble(acc, gb)
        return loss, self._feature_major_gradient(acc, gb, out)

    def _feature_major_params(self, u):
        """``(W^T, b)`` of ``u`` in :class:`FeatureMajorOrder`: ``W^T``, the
        ``(d, K)`` head of ``u`` in the working dtype (a view for float64),
        and the intercepts (zeros without)."""
        K, d = self.n_classes, self.n_features
        WT = u[: d * K].reshape(d, K).astype(self.dtype, copy=False)
        b = np.zeros(K, dtype=self.dtype)
        if self.fit_intercept:
            b[...] = u[d * K :]
        return WT, b

    def _group_accumulator(self, ids, out):
        """The gradient accumulator of the chunk group ``ids``.

        In a float64 feature-major pass (``out``: the zeroed result vector)
        the group holding chunk 0 accumulates into ``out``'s ``(d, K)``
        weight part itself and the others' sums are added to it
        (:meth:`_reduce`); otherwise a new one (:meth:`_new_accumulator`).
        """
        if out is not None and self.dtype == np.float64 and ids[:1] == [0]:
            K, d = self.n_classes, self.n_features
            return out[: d * K].reshape(d, K)
        return self._new_accumulator()

    def _feature_major_gradient(self, acc, gb, out):
        """``out = [acc.ravel(), gb]`` in :class:`FeatureMajorOrder` (``acc``
        may already be ``out``'s view, see :meth:`_group_accumulator`)."""
        dK = self.n_classes * self.n_features
        if not np.shares_memory(acc, out):
            out[:dK] = acc.ravel()
        if self.fit_intercept:
            out[dK:] = gb
        return out

    def solver_order(self):
        """:class:`FeatureMajorOrder` for sparse ``X`` (the kernel's own
        layout of the weights), else the flat layout.

        Returns
        -------
        order : FlatOrder
        """
        return FeatureMajorOrder(self) if self._sparse else FlatOrder(self)

    @staticmethod
    def _reduce(parts):
        """Sum the workers' ``(acc, gb)`` in a fixed order."""
        acc, gb = parts[0][1], parts[0][2]
        for part in parts[1:]:
            acc += part[1]
            gb += part[2]
        return acc, gb

    def _data_hessian_product(self, w, probabilities=None, feature_major=False):
        """``hessp(v64)``: the data term's Hessian at ``w`` times ``v64``.

        Each product recomputes ``P`` chunk by chunk (no (n, K) storage),
        unless ``probabilities`` (the (K, rows) blocks of ``P`` at ``w`` by
        chunk, see :meth:`_data_newton_model`) are given; see
        :meth:`SoftmaxObjective.hessian_product` for the formula.
        ``feature_major`` (sparse ``X``): ``v`` and the product in the order
        of :class:`FeatureMajorOrder`, the kernel's own, with no transposition.
        """
        _, W, WT, b = self._params(w)
        K = self.n_classes
        if probabilities is not None:
            W = WT = None  # the scores are not recomputed

        def hessp(v):
            out = None
            if feature_major:
                # v = [V^T (d, K) ravel, v_b]: the kernel's layout already
                v = np.ascontiguousarray(v, dtype=np.float64)
                V, (VT, vb) = None, self._feature_major_params(v)
                out = np.zeros(v.size)
            else:
                _, V, VT, vb = self._params(v)

            def work(ids, bufs):
                zt = bufs["zt"]
                zv = bufs.setdefault("zv", np.empty_like(zt))
                acc = self._group_accumulator(ids, out)
                gb = np.zeros(K, dtype=np.float64)
                for i in ids:
                    sl = self._chunk_slice(i)
                    rows = sl.stop - sl.start
                    if probabilities is not None:
                        P = probabilities[i]
                    else:
                        P = zt[: K * rows].reshape(K, rows)
                        self._scores(i, sl, W, WT, b, P, bufs)
                        _, s = self._softmax_block(P, sl)
                        P /= s
                    Zv = zv[: K * rows].reshape(K, rows)
                    self._scores(i, sl, V, VT, vb, Zv, bufs)
                    # R = s_w * P * (Zv - sum_k P_k Zv_k)
                    Zv -= np.einsum("ij,ij->j", P, Zv)
                    Zv *= P
                    Zv *= self.sw[sl]
                    self._accumulate(i, sl, Zv, acc, bufs)
                    if self.fit_intercept:
                        gb += Zv.sum(axis=1, dtype=np.float64)
                return 0.0, acc, gb

            parts = self._map_chunks(work, sparse_threads=feature_major)
            acc, gb = self._reduce(parts)
            if out is None:
                return self._assemble(acc, gb)
            return self._feature_major_gradient(acc, gb, out)

        return hessp

    def _data_newton_model(self, w):
        """``(hessp, diag, order)``: the data term's Hessian product and diagonal.

        One pass over the chunks computes ``P`` and the diagonal
        ``sum_i s_i p_ik (1 - p_ik) x~_ij^2`` (one product of ``R = s P (1 -
        P)`` with the squared entries of ``X_c``). Where ``P`` takes no more
        memory than one parameter vector (``n_samples * K <= n_params``, as
        on wide sparse data; the solver holds several such vectors), its
        blocks are kept for the products, which then skip the scores and the
        softmax: two sparse products each instead of three (measured on
        50000 x 200000, 80 nnz/row, K=20: ~185 ms per product without, ~110
        with). For sparse ``X`` the products work in the kernel's own order
        of the parameters (:class:`FeatureMajorOrder`): no transposition of
        the ``(K, d)`` weights each way per product (with the fresh buffers
        of each product, ~85 ms of a ~200 ms product on the shape above, on a
        loaded machine).
        """
        _, W, WT, b = self._params(w)
        K = self.n_classes
        keep = self.n_samples * K <= self.n_params

        def work(ids, bufs):
            zt = bufs["zt"]
            zv = bufs.setdefault("zv", np.empty_like(zt))
            acc = self._new_accumulator()
            gb = np.zeros(K, dtype=np.float64)
            kept = {}
            for i in ids:
                sl = self._chunk_slice(i)
                rows = sl.stop - sl.start
                P = np.empty((K, rows), self.dtype) if keep else zt[: K * rows]
                P = P.reshape(K, rows)
                self._scores(i, sl, W, WT, b, P, bufs)
                _, s = self._softmax_block(P, sl)
                P /= s
                R = np.subtract(1, P, out=zv[: K * rows].reshape(K, rows))
                R *= P
                R *= self.sw[sl]  # s p (1 - p)
                self._accumulate(i, sl, R, acc, bufs, squared=True)
                if self.fit_intercept:
                    gb += R.sum(axis=1, dtype=np.float64)
                if keep:
                    kept[i] = P
            return kept, acc, gb

        parts = self._map_chunks(work, sparse_threads=self._sparse)
        probabilities = {}
        for part in parts:
            probabilities.update(part[0])
        acc, gb = self._reduce(parts)
        if self._sparse:
            order = FeatureMajorOrder(self)
            diag = np.empty(self.n_params)
            diag[: acc.size] = acc.ravel()  # acc is (d, K)
            diag[acc.size :] = gb[: diag.size - acc.size]
        else:
            order = FlatOrder(self)
            diag = self._assemble(acc, gb)
        hessp = self._data_hessian_product(
            w, probabilities if keep else None, feature_major=self._sparse
        )
        return hessp, diag, order

    def map_rows(self, fn, *args, chunk_rows=None):
        """``fn(X_c, y_c, s_c, start, *args)`` on each chunk of rows, serially.

        See :meth:`SoftmaxObjective.map_rows`; the chunks are ``chunk_rows``
        rows (default ``chunk_size``), in row order, their results summed in
        place as they come.

        Returns
        -------
        parts : list of tuple
            One entry: the sums over all chunks.
        """
        n = self.n_samples
        step = int(max(1, self.chunk_size if chunk_rows is None else chunk_rows))
        total = None
        for i in range(0, n, step):
            sl = slice(i, min(i + step, n))
            part = fn(self.X[sl], self.y[sl], self._sw64[sl], i, *args)
            if total is None:
                total = tuple(np.array(p, dtype=np.float64) for p in part)
            else:
                for t, p in zip(total, part, strict=True):
                    t += p
        return [total]

    def _data_loss_gradient_hessian(self, w64):
        """Data term, its gradient and its dense Hessian at ``w64``.

        Serial, in blocks of ``_hessian_rows`` rows; see
        :func:`_dense_loss_gradient_hessian`.
        """
        return _dense_loss_gradient_hessian(self, w64)

    def _data_binary_loss_gradient_hessian(self, v64):
        """Two classes: data term, gradient and Hessian of ``v = w_1 - w_0``
        (:class:`~sk_softmax._objective._base.BinaryObjective`); see
        :func:`_binary_loss_gradient_hessian`."""
        return _binary_loss_gradient_hessian(self, v64)

    def _data_lipschitz_bound(self):
        """An upper bound of the data term's gradient Lipschitz constant.

        The Hessian is ``sum_i (s_i/S) (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T``
        with ``x~ = [x, 1]``; since ``||diag(p) - p p^T||_2 <= 1/2``,
        ``L <= lambda_max(X~^T diag(s/S) X~) / 2``.

        ``lambda_max`` is computed exactly from the (d+1, d+1) weighted Gram
        matrix when ``d`` is moderate; otherwise it is bounded by
        ``min(trace, ||M||_1 ||M||_inf)`` with ``M = diag(sqrt(s/S)) X~``
        (both are guaranteed upper bounds).

        Both are computed on ``M / a`` with ``a = max(1, max |X_ij|)``, and
        ``lambda_max(M^T M) = a^2 lambda_max((M / a)^T (M / a))``: features
        beyond ~1e154 would otherwise overflow the Gram matrix to inf (and
        its eigenvalue solver fail) even where ``L`` itself is finite.
        """
        a = max(1.0, self.max_abs_feature())
        chunks = list(self._chunks())
        lam = _lambda_max_weighted_gram(
            self.X, self.sw.astype(np.float64), self.fit_intercept, chunks, a
        )
        # Python floats: a product beyond the float64 range is inf, silently.
        return 0.5 * lam * a * a


def _design(obj, sl):
    """``X~_c^T``, shape ``(d + 1, rows)``: the rows ``sl`` with their
    intercept row, float64, C-contiguous.

    Both products of a pass run on it: ``[W, b] X~_c^T`` and
    ``G X~_c = G (X~_c^T)^T`` (as fast in context as a second, row-major
    copy: measured on digits, 1797 x 65, K=10). Small objectives
    (``obj._small``: all rows in one block) keep it between passes (built
    once instead of at every evaluation: ~20 us of a 75 us evaluation on
    breast_cancer); otherwise it is built per block.
    """
    if obj._small and obj._design is not None:
        return obj._design
    Xc = obj.X[sl]
    if obj._sparse:
        Xc = Xc.toarray()
    d = obj.n_features
    Xt = np.empty((d + int(obj.fit_intercept), sl.stop - sl.start), dtype=np.float64)
    Xt[:d] = Xc.T
    Xt[d:] = 1.0  # the intercept row (np.empty: digits 86 instead of 107 us)
    if obj._small:
        obj._design = Xt
    return Xt


def _small_loss_gradient(obj, w64, need_gradient):
    """Data term and gradient of a small float64 objective, on the kept X~.

    The pass of ``_data_loss_gradient`` (same softmax and target steps) on
    the kept ``X~^T`` of :func:`_design`, with the intercepts inside the two
    products, in the calling thread: on data this small an evaluation is
    dominated by the number of numpy calls and the worker threads' hand-offs
    (standardised digits as shipped on 2 busy cores: the threaded chunks
    took ~460 us).

    The products run in column blocks of ``_SMALL_BLOCK_BYTES``, the softmax
    and target steps once over all rows, in a kept ``(K, n)`` score buffer
    (``n`` is at most ``_hessian_rows`` here). Both choices are measured on
    digits (1797 x 65, K=10, one thread, 2-core EPYC with 1 MiB L2, medians
    of 60 interleaved rounds): the four products take 105 us in two column
    blocks and 169 us as two whole products (OpenBLAS's blocking for a
    1797-wide operand; the order of the blocks does not matter, 105 vs
    109 us), while the softmax and target steps take 58 us in one pass and
    68 us in two blocks (per-call overhead).
    """
    n, K = obj.n_samples, obj.n_classes
    Xt = _design(obj, slice(0, n))
    Wb = w64.reshape(K, -1)
    per_row = 8 * (Xt.shape[0] + 2 * K)  # X~ column and score / gradient block
    n_blocks = -(-n // max(_MIN_CHUNK_ROWS, _SMALL_BLOCK_BYTES // per_row))
    step = -(-n // n_blocks)
    blocks = [slice(start, min(start + step, n)) for start in range(0, n, step)]
    gemm = _small_gemm(Xt.shape[0] * K * step)
    Z = obj._small_scores
    if Z is None:
        Z = obj._small_scores = np.empty((K, n), dtype=np.float64)
    for sl in blocks:
        _matmul(Wb, Xt[:, sl], gemm, out=Z[:, sl])  # (K, rows) scores
    whole = slice(0, n)
    nll, s = obj._softmax_block(Z, whole)
    sw = obj._sw64
    loss = dot(sw, nll)
    if not need_gradient:
        return loss, None
    if obj.soft or obj.label_smoothing:
        G = obj._gradient_block(Z, s, whole)
    else:  # s_w (P - Y) in one pass less: (s_w / s) E, then -s_w at y
        Z *= sw / s  # (digits: 200 instead of 217 us per evaluation)
        Z.ravel()[obj._flat_target_index(whole, n)] -= sw
        G = Z
    grad = _matmul(G[:, blocks[0]], Xt[:, blocks[0]], gemm, trans_b=True)
    for sl in blocks[1:]:
        grad += _matmul(G[:, sl], Xt[:, sl], gemm, trans_b=True)
    return loss, grad.ravel()


@functools.lru_cache(maxsize=64)
def _class_pairs(K):
    """The class pairs ``k <= l`` of the Hessian's blocks: ``(kk, ll, same)``,
    ``same`` 1.0 where ``k == l``."""
    kk, ll = np.triu_indices(K)
    return kk, ll, (kk == ll).astype(np.float64)


@functools.lru_cache(maxsize=64)
def _hessian_scatter(K, d1, start, stop):
    """Where the pair blocks ``g = start..stop`` of the stacked GEMM go in H.

    The GEMM of :func:`_dense_loss_gradient_hessian` gives the blocks
    ``B_g = H_{k_g l_g}`` (``k_g <= l_g``) as one ``(pairs, d1, d1)`` array.
    Returns ``(dest, src)``: flat indices into ``H`` (shape ``(K d1, K d1)``)
    and into the stack, such that ``H.flat[dest] += stack.flat[src]`` adds
    every block and, for ``k < l``, its transpose ``H_lk = H_kl^T``; ``dest``
    has no repeated index. For all the pairs, ``dest`` is every entry of
    ``H`` and ``(None, src)`` is returned, ``src`` in the order of ``H``'s
    entries: ``H = stack.flat[src]``. One fancy-indexed update instead of two
    fancy-indexed block updates and the index arithmetic per evaluation
    (wine, K=3: ~20 of a ~60 us evaluation).
    """
    kk, ll, _ = _class_pairs(K)
    n = K * d1
    a = np.arange(d1)
    rows, cols = a[:, None], a[None, :]
    dest, src = [], []
    for j, g in enumerate(range(start, stop)):
        k, m = kk[g], ll[g]  # classes k <= m
        block = j * d1 * d1 + rows * d1 + cols  # stack entry (a, b) of pair g
        dest.append(((k * d1 + rows) * n + m * d1 + cols).ravel())  # H_km[a, b]
        src.append(block.ravel())
        if k != m:  # H_mk[b, a] = H_km[a, b]
            dest.append(((m * d1 + cols) * n + k * d1 + rows).ravel())
            src.append(block.ravel())
    dest, src = np.concatenate(dest), np.concatenate(src)
    if stop - start == len(kk):  # all pairs fill every entry of H once:
        return None, src[np.argsort(dest)]  # H = stack.flat[that]
    return dest, src


def _dense_loss_gradient_hessian(obj, w64):
    """Data term, gradient and dense Hessian of ``obj`` at ``w64``, one pass.

    The kernel of ``SoftmaxCrossEntropyL2._data_loss_gradient_hessian``, for
    the small problems of ``solver="newton-cholesky"``: the Hessian has
    ``n_params ** 2`` entries and costs about ``n_samples * n_params ** 2 / 2``
    multiply-adds. With ``x~ = [x, 1]`` and ``s_i`` the normalised weights,
    the Hessian of the cross-entropy is
    ``sum_i s_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T`` (whatever the
    targets: soft or smoothed targets sum to 1). Its ``(d + 1, d + 1)`` block
    of classes ``k <= l`` is, per block of rows::

        H_kl += X~_c^T diag(s (delta_kl p_k - p_k p_l)) X~_c

    (``H_lk = H_kl^T``), all of them from one GEMM of the stacked
    ``X~_c^T diag(c_kl)`` with ``X~_c`` (in groups of pairs whose stack
    stays within 8 MiB): on problems this small the count of numpy calls
    matters more than the multiply-adds (wine, K=3: 6 blocks in ~10 calls
    instead of 3 blocks in two GEMMs plus the last class's blocks from
    sums, ~25 calls). A GEMM, not a SYRK of ``X~_c^T diag(sqrt(c_kk))``:
    measured on breast_cancer (569 x 30, K=2), 30 us against 45 us for the
    SYRK.

    Loss and gradient are those of ``_data_loss_gradient`` (the same softmax
    and target steps), computed in float64 with the intercepts inside the
    products (``[W, b] X~_c^T`` and ``G X~_c``): small problems are dominated
    by the number of numpy calls, and this pass makes about half as many
    (serial, in the calling thread). Extra memory: the Hessian, ``X~_c`` in
    float64 (:func:`_design`) and the stack (at most 8 MiB). The penalty is
    added by the base class.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,), float64
    hess : ndarray of shape (n_params, n_params), float64, symmetric
    """
    K, d = obj.n_classes, obj.n_features
    d1 = d + int(obj.fit_intercept)
    Wb = w64.reshape(K, d1)  # [W, b]
    loss = 0.0
    grad = None
    H = None
    kk, ll, same = _class_pairs(K)
    n, step = obj.n_samples, obj._hessian_rows
    group = max(1, 4 * _CHUNK_BYTES // (8 * d1 * min(n, step)))  # pairs per stack
    gemm = _small_gemm(min(n, step) * d1 * max(K, min(group, len(kk)) * d1))
    for start in range(0, n, step):
        sl = slice(start, min(start + step, n))
        Xt = _design(obj, sl)  # X~_c^T
        rows = sl.stop - sl.start
        Z = _matmul(Wb, Xt, gemm)  # (K, rows) scores, intercepts included
        nll, s = obj._softmax_block(Z, sl)
        sw = obj._sw64[sl]
        loss += dot(sw, nll)
        P = Z / s  # probabilities; Z itself becomes the gradient block
        for g in range(0, len(kk), group):
            stop = min(g + group, len(kk))
            c = same[g:stop, None] - P[ll[g:stop]]
            c *= P[kk[g:stop]]
            c *= sw  # c_kl = s p_k (delta_kl - p_l)
            stacked = (Xt * c[:, None, :]).reshape(-1, rows)
            blk = _matmul(stacked, Xt, gemm, trans_b=True).ravel()  # H_kl, k <= l
            dest, src = _hessian_scatter(K, d1, g, stop)
            if dest is None:  # all pairs: this block of rows' whole H
                part = blk[src].reshape(K * d1, K * d1)
                if H is None:
                    H = part
                else:
                    H += part
                continue
            if H is None:
                H = np.zeros((K * d1, K * d1), dtype=np.float64)
            H.ravel()[dest] += blk[src]
        G = _matmul(obj._gradient_block(Z, s, sl), Xt, gemm, trans_b=True)
        if grad is None:
            grad = G
        else:
            grad += G
    return loss, grad.ravel(), H


def _binary_loss_gradient_hessian(obj, v64):
    """Two classes: data term, gradient and Hessian of the rows' difference.

    With ``z_i = v . x~_i`` (``z_1 - z_0``) and ``t_i`` the target of class
    1 (the label, the soft target, smoothed as ``(1 - eps) t + eps / 2``),
    the cross-entropy of sample ``i`` is ``softplus(z_i) - t_i z_i``, its
    gradient ``(p_i - t_i) x~_i`` and its Hessian ``p_i (1 - p_i) x~_i
    x~_i^T`` with ``p_i = sigmoid(z_i)``: the two-class softmax pass of
    :func:`_dense_loss_gradient_hessian` on ``(n,)`` scores, in the same
    blocks of rows. The penalty is added by ``BinaryObjective``.

    Returns
    -------
    loss : float
    grad : ndarray of shape (d + 1,) or (d,), float64
    hess : ndarray of shape (d + 1, d + 1) or (d, d), float64, symmetric
    """
    d1 = v64.shape[0]
    eps = obj.label_smoothing
    loss = 0.0
    grad = np.zeros(d1, dtype=np.float64)
    H = np.zeros((d1, d1), dtype=np.float64)
    n, step = obj.n_samples, obj._hessian_rows
    gemm = _small_gemm(min(n, step) * d1 * d1)
    for sl in (slice(i, min(i + step, n)) for i in range(0, n, step)):
        Xt = _design(obj, sl)  # X~_c^T
        sw = obj._sw64[sl]
        t = obj.y[sl, 1] if obj.soft else obj.y[sl]
        if eps:
            t = (1 - eps) * t + eps / 2
        z = v64 @ Xt
        loss += dot(sw, np.logaddexp(0.0, z) - t * z)  # softplus(z) - t z
        p = expit(z)
        grad += Xt @ (sw * (p - t))
        c = sw * p
        c *= 1.0 - p  # s p (1 - p) >= 0
        H += _matmul(Xt * c, Xt, gemm, trans_b=True)
    return loss, grad, H


def _lambda_max_weighted_gram(X, sw, fi, chunks, a):
    """An upper bound of ``lambda_max(M^T M) / a^2``, ``M = diag(sqrt(sw)) [X, 1]``.

    See :meth:`SoftmaxCrossEntropyL2._data_lipschitz_bound`: exact from the
    Gram matrix of ``M / a`` (accumulated over the row ``chunks``) for
    moderate ``d``, else ``min(trace, ||M / a||_1 ||M / a||_inf)``; ``fi``
    adds the intercept column.
    """
    d = X.shape[1]
    sqrt_sw = np.sqrt(sw) / a  # the intercept column of M / a
    if gram_fits(X.shape[0], d + fi):
        gram = weighted_gram(X, sqrt_sw, fi, chunks)
        lam = float(np.linalg.eigvalsh(gram)[-1]) * (1 + 1e-8)
    else:
        if sp.issparse(X):
            A = sp.diags(sqrt_sw) @ abs(X)
            row_sq = np.asarray(A.multiply(A).sum(axis=1)).ravel()
            row_abs = np.asarray(A.sum(axis=1)).ravel()
            col_abs = np.asarray(A.sum(axis=0)).ravel()
        else:
            row_sq = np.zeros(X.shape[0])
            row_abs = np.zeros(X.shape[0])
            col_abs = np.zeros(d)
            for sl in chunks:
                A = np.abs(np.asarray(X[sl], dtype=np.float64)) * sqrt_sw[sl, None]
                row_sq[sl] = np.einsum("ij,ij->i", A, A)
                row_abs[sl] = A.sum(axis=1)
                col_abs += A.sum(axis=0)
        trace = row_sq.sum() + (float(sqrt_sw @ sqrt_sw) if fi else 0.0)
        if fi:
            row_abs = row_abs + sqrt_sw
            col_abs = np.append(col_abs, sqrt_sw.sum())
        holder = float(row_abs.max() * col_abs.max())
        lam = min(trace, holder)
    return lam


def gram_fits(n_samples, n_columns):
    """Whether the Lipschitz bound uses the exact ``(d+1, d+1)`` Gram matrix.

    Moderate ``d``: at most 2048 columns and ``n * (d + 1) ** 2 <= 2e10``
    multiply-adds; beyond, the cheaper trace / norm bounds are used.
    """
    return n_columns <= 2048 and n_samples * n_columns**2 <= 2e10


def weighted_gram(X, sqrt_sw, fi, chunks):
    """``M^T M`` with ``M = diag(sqrt_sw) [X, 1]`` (``fi``: the ones column).

    Accumulated over the row ``chunks`` in float64; ``sqrt_sw`` already
    carries any ``1 / a`` scale (see :func:`_lambda_max_weighted_gram`).
    """
    d = X.shape[1]
    gram = np.zeros((d + fi, d + fi), dtype=np.float64)
    for sl in chunks:
        Xc = X[sl]
        Xc = Xc.toarray() if sp.issparse(Xc) else Xc
        M = np.asarray(Xc, dtype=np.float64) * sqrt_sw[sl, None]
        if fi:
            M = np.hstack([M, sqrt_sw[sl, None]])
        gram += M.T @ M
    return gram
