"""The numpy / scipy.sparse backend: the chunked data term of the objective.

:class:`ChunkedSoftmaxCrossEntropy` computes the data term of the objective
of :mod:`sk_softmax._objective._base` (the mean-scaled softmax cross-entropy;
the base class adds the penalty and defines the parameter layout) on a dense
numpy array or a scipy.sparse CSR matrix: the
:class:`~sk_softmax._objective._protocol.DataTerm` of the numpy backend.
Its parts, each in its own module:

- ``_softmax_rows.ClassMajorRows``: the per-row softmax / cross-entropy
  steps on class-major (K, rows) blocks (shared with the Array API backend's
  row-major ones);
- ``_dense.DenseChunks`` and ``_csr.CSRChunks``: the two products of a
  chunk of dense or CSR rows;
- ``_small_dense.SmallDenseKernel``: the passes on a float64 ``[X, 1]^T``
  block (small dense data, and the dense Hessian of any ``X``);
- here: the chunking, the worker threads and the passes themselves.

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
are accumulated over chunks in float64 (dense) or in the working dtype
(sparse: the (d, K) products).

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
transpose (see :mod:`sk_softmax._objective._csr`), with public scipy
products only (scipy's private in-place ``_sparsetools`` products were
dropped in issue 21). Chunks are large for sparse data (``>= 2 d``
non-zeros each, since each chunk streams the (d, K) weights and accumulator
once) and, since each further chunk of a thread costs one (d, K) temporary
and its addition, one per usable CPU where that is at most ``d`` rows (a
(rows, K) block no larger than the (d, K) temporary it saves); a group's
chunk products are summed straight into the result. Measured on
csr_50000x200000_K20 of ``benchmarks/datasets.py`` (2 chunks of 25000 rows
instead of 4 of 13107; 2 cores shared with other jobs, load average 2.5-5,
the old and the new package in one process, interleaved rounds, medians):
the default fit (``"auto"``: Newton-CG, 6 fits each) 5.92 against 5.68 s
(1.04; process CPU time 1.06), the same model (coefficients within 8e-15);
with the CSR kernel's matrices kept (below), against the package before
this change in alternating fresh processes (3 rounds of 2 fits, load
1.4-2.4): medians 3.90 against 3.96 s (0.98), CPU 5.25 against 5.30 s;
per evaluation, over two runs of 15 rounds, loss and gradient 0.94-1.06,
Hessian product 1.03-1.15, Newton model 1.09-1.15 (the products' fresh
(rows, K) and (d, K) results; with 4 chunks of 13107 rows a Hessian product
took 1.22 of the private products, 125.8 against 103.2 ms). On
csr_5000x20000_K5 (one chunk either way; ``benchmarks/compare_checkouts.py``
with ``bench_sparse.py``, 4 rounds, load 1.3-2): ``"auto"`` 0.99-1.08 at
the four tolerances, ``"lbfgs"`` 1.13 and 1.18 (the same iteration counts;
fits timed again in alternating fresh processes, 4 x 7 fits: medians 0.39-0.58
s either side, no difference beyond the noise); per evaluation 1.00 (loss
and gradient), 1.03 (Hessian product), 1.06 (Newton model), once the CSR
kernel keeps its scipy matrices (their construction had cost 5-9%). Before the
re-chunking the public products had cost 1.20 (loss and gradient) and 1.34
(Hessian product). tracemalloc peak of one evaluation 61 instead of 31 MiB:
one more (d, K) array, the size of one parameter vector (the solvers hold
several).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from .._blas import private_openblas
from .._threadpool import available_cpus, chunk_workers, run_in_threads
from .._vector import dot
from ._base import FlatLayout, SoftmaxObjective
from ._csr import CSRChunks, blocked_transpose
from ._dense import DenseChunks
from ._small_dense import SmallDenseKernel
from ._softmax_rows import ClassMajorRows

__all__ = [
    "FeatureMajorLayout",
    "ChunkedSoftmaxCrossEntropy",
    "auto_chunk_size",
    "gram_norm_bound",
    "weighted_gram",
]

# Target size of the per-chunk working set, in bytes: about the L2 cache of a
# core (1-2 MiB on current x86), since each worker thread keeps its chunk of X
# and its (K, chunk) block hot between the two products; measured on the
# benchmark shapes, 256-2048 rows are within noise of each other, and 4096 or
# more (or one chunk and BLAS threads) is slower.
_CHUNK_BYTES = 2 * 2**20
_MIN_CHUNK_ROWS = 256
# Process dense chunks in parallel threads (False: serial, BLAS threads only).
_PARALLEL = True
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
    And since each further chunk of a worker thread costs one ``(d, K)``
    temporary (the public sparse products, see ``_csr.py``), a chunk holds
    the worker's share of the rows (``n_samples / min_chunks``) where that
    is at most ``n_features`` rows.

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
        The kernel's worker threads to spread the rows over. Dense ``X``:
        split into at least this many chunks (of at least 256 rows), so that
        data that fit in one chunk can still be spread over the threads.
        Sparse ``X``: chunks of up to ``n_samples / min_chunks`` rows (one per
        thread) where that is at most ``n_features`` rows.

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
        # One chunk per worker where its (rows, K) block is no larger than
        # the (d, K) temporary of a further chunk's backward product (see
        # _csr.py): the public sparse products add each chunk's product.
        rows_share = min(n_features, -(-n_samples // max(min_chunks, 1)))
        rows = max(_MIN_CHUNK_ROWS, rows_cache, rows_stream, rows_share)
    return int(max(1, min(n_samples, rows)))


class FeatureMajorLayout(FlatLayout):
    """The sparse kernel's layout of the parameters: ``[b, W^T.ravel()]``.

    As a ``(d + 1, K)`` matrix (``(d, K)`` without intercepts) it is
    ``[b; W^T]``, the layout of the CSR kernel's scores product
    (:meth:`~sk_softmax._objective._csr.CSRChunks.params`; the intercepts
    first, so that each score adds ``b`` before the features' terms), and
    ``W^T`` that of its accumulators: Hessian products, and loss and
    gradient (see
    :meth:`~sk_softmax._objective._base.SoftmaxObjective.layout_loss_gradient`),
    in this layout transpose nothing (see
    :meth:`ChunkedSoftmaxCrossEntropy.data_newton_model`).
    """

    feature_major = True

    def __init__(self, objective):
        self.K, self.d = objective.n_classes, objective.n_features
        self.fit_intercept = objective.fit_intercept
        self.fK = self.K * int(self.fit_intercept)  # where W^T starts

    def to_model(self, v):
        """``v`` (flat layout ``[W, b]``) in this layout (a new vector)."""
        K, d, fK = self.K, self.d, self.fK
        Wb = v.reshape(K, -1)
        u = np.empty(v.size)
        blocked_transpose(Wb[:, :d], u[fK:].reshape(d, K))
        if self.fit_intercept:
            u[:fK] = Wb[:, d]
        return u

    def to_flat(self, u):
        """``u`` (this layout) in the flat layout ``[W, b]`` (a new vector)."""
        K, d, fK = self.K, self.d, self.fK
        v = np.empty(u.size)
        Wb = v.reshape(K, -1)
        blocked_transpose(u[fK:].reshape(d, K), Wb[:, :d])
        if self.fit_intercept:
            Wb[:, d] = u[:fK]
        return v

    def weights(self, u):
        """View of the ``W^T`` entries of ``u``."""
        return u[self.fK :]

    def intercepts(self, u):
        """View of the intercepts of ``u``; None without intercepts."""
        return u[: self.fK] if self.fit_intercept else None

    def remove_shifts(self, u, intercepts, weights):
        """As :meth:`FlatLayout.remove_shifts`, in this layout."""
        K, d, fK = self.K, self.d, self.fK
        if intercepts:
            u[:fK] -= u[:fK].mean()
        if weights:
            WT = u[fK:].reshape(d, K)
            WT -= WT.mean(axis=1, keepdims=True)
        return u


class ChunkedSoftmaxCrossEntropy(SoftmaxObjective):
    """The numpy / scipy.sparse backend: the data term on row chunks of ``X``.

    A :class:`~sk_softmax._objective._protocol.DataTerm` of
    :class:`SoftmaxObjective` (which adds the penalty): the parameters are one
    flat vector ``w``, the ravel of a ``(K, d + 1)`` matrix ``[W, b]`` (or
    ``(K, d)`` without intercept). The chunks' products are those of the
    dense (:class:`~sk_softmax._objective._dense.DenseChunks`) or CSR
    (:class:`~sk_softmax._objective._csr.CSRChunks`) kernel, their softmax and
    target steps the shared ones of
    :class:`~sk_softmax._objective._softmax_rows.ClassMajorRows`; small data
    and the dense Hessian run on the
    :class:`~sk_softmax._objective._small_dense.SmallDenseKernel`.

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
    row_maps = True

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
        self.sparse = sp.issparse(X)
        if self.sparse and X.format != "csr":
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
        self.row_weight = (self.sample_weight / self.weight_sum).astype(self.dtype)
        self._chunk_size_param = chunk_size  # row views reuse it
        # Rows per block of the (serial) dense Hessian pass: the memory rule
        # alone, or the user's chunk_size.
        hessian_rows = chunk_size
        if chunk_size is None:
            nnz_per_row = None
            if self.sparse:
                nnz_per_row = X.nnz / max(n_samples, 1)
            shape = (n_samples, n_features, self.n_classes, self.dtype.itemsize)
            hessian_rows = auto_chunk_size(*shape, nnz_per_row=nnz_per_row)
            # Dense data that fit in one chunk are still split over the
            # usable CPUs (chunks of >= 256 rows): with one chunk the kernel
            # ran in the calling thread with numpy's BLAS, which threads the
            # products (standardised digits as shipped, 2 loaded cores: 2.3 s
            # per fit, ~70 ms per product waking the pool; in two chunks on
            # the kernel's workers: 53 ms; LogisticRegression 2.6 s). Sparse
            # data: at most one chunk per usable CPU (see _csr.py).
            chunk_size = auto_chunk_size(
                *shape, nnz_per_row=nnz_per_row, min_chunks=available_cpus()
            )
        self.chunk_size = int(max(1, min(chunk_size, max(n_samples, 1))))
        hessian_rows = int(max(1, min(hessian_rows, max(n_samples, 1))))
        self._row_weight64 = self.row_weight.astype(np.float64)
        self._bufs = []
        kernel = CSRChunks if self.sparse else DenseChunks
        self._kernel = kernel(X, self.n_classes, self.fit_intercept)
        # Small dense data (all rows in one block of the memory rule): the
        # passes run on a float64 copy of X~ = [X, 1] kept between them, in
        # the calling thread (see SmallDenseKernel.loss_gradient); float32 X
        # keeps its float32 chunks for the loss and gradient.
        self._small = not self.sparse and n_samples <= hessian_rows
        self._rows_math = ClassMajorRows(
            self.y,
            self.n_classes,
            self.label_smoothing,
            self.row_weight,
            keep_index=self._small,
            max_rows=max(self.chunk_size, hessian_rows),
        )
        self._design_passes = SmallDenseKernel(
            X,
            self._rows_math,
            self._row_weight64,
            self.fit_intercept,
            hessian_rows,
            self._small,
        )

    def n_workers(self):
        """Threads an evaluation runs now (the user's BLAS limit is read live).

        More than one means that the evaluations keep all allowed cores
        busy: a caller should then avoid threaded BLAS calls between them
        (see ``use_blas`` of :func:`~sk_softmax._solvers.lbfgs`).

        Returns
        -------
        n_workers : int
        """
        if self.sparse or not _PARALLEL or not self.X.flags.c_contiguous:
            return 1
        # Small float64 data run their pass in the calling thread, but report
        # the threads the process allows: a caller's threaded BLAS calls
        # between evaluations would still spin against other work (scipy's
        # L-BFGS-B on standardised digits as shipped, busy 2 cores: 570 ms
        # per fit instead of 124 ms with the BLAS-free L-BFGS).
        return chunk_workers(-(-self.n_samples // self.chunk_size))

    def rows(self, idx, sample_weight, weight_sum):
        """Data-only objective of the rows ``idx`` (gathered, one copy of them).

        Parameters
        ----------
        idx : ndarray of int
            Sorted row indices.
        sample_weight : ndarray of shape (len(idx),)
            Their weights.
        weight_sum : float
            The ``S`` the new data term divides by.

        Returns
        -------
        data_term : ChunkedSoftmaxCrossEntropy
        """
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
        return self._kernel.max_abs(self._chunks())

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
        contiguous rows. ``zv``: the same for Hessian products. Plus the
        kernel's own (:meth:`DenseChunks.buffers`, :meth:`CSRChunks.buffers`).
        """
        while len(self._bufs) <= worker:
            bufs = {"zt": np.empty(self.n_classes * self.chunk_size, dtype=self.dtype)}
            bufs.update(self._kernel.buffers(self.chunk_size))
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
        (:meth:`data_newton_model`), whose solver makes no BLAS call. The
        loss and gradient of sparse ``X`` stay serial, so that L-BFGS keeps
        scipy's L-BFGS-B (see ``n_workers``).
        """
        n_chunks = -(-self.n_samples // self.chunk_size)
        ids = list(range(n_chunks))
        self._kernel.prepare(list(self._chunks()))  # before the threads
        workers = self.n_workers()
        if sparse_threads and self.sparse and _SPARSE_NEWTON_THREADS:
            workers = chunk_workers(n_chunks)
        if workers <= 1:
            bufs = self._buffers(0)
            bufs["gemm"] = None
            return [fn(ids, bufs)]
        bounds = np.linspace(0, n_chunks, workers + 1).round().astype(int)
        groups = [ids[bounds[t] : bounds[t + 1]] for t in range(workers)]
        bufs = [self._buffers(t) for t in range(workers)]
        for b in bufs:
            b["gemm"] = private_openblas()
        return run_in_threads(fn, list(zip(groups, bufs, strict=True)))

    def _params(self, w):
        """The kernel's parameters of a flat vector ``w``
        (:meth:`DenseChunks.params`, :meth:`CSRChunks.params`)."""
        W64, b64 = self.unpack(np.ascontiguousarray(w, dtype=np.float64))
        return self._kernel.params(W64, b64)

    def _feature_major_params(self, u):
        """The CSR kernel's parameters ``[b; W^T]`` of ``u`` in
        :class:`FeatureMajorLayout`: ``u`` itself as a ``(d + 1, K)`` matrix
        in the working dtype (a view for float64)."""
        if not self.sparse:
            raise ValueError("the feature-major layout is the sparse kernel's")
        rows = self.n_features + int(self.fit_intercept)
        return u.reshape(rows, self.n_classes).astype(self.dtype, copy=False)

    def _assemble(self, parts, feature_major=False):
        """The flat data gradient of the workers' ``(_, acc, gb)`` parts,
        summed in a fixed order (float64): in the parameter layout, or in
        :class:`FeatureMajorLayout`. The penalty's term is added to its
        weight part by the base class."""
        K, d = self.n_classes, self.n_features
        gb = parts[0][2]
        for part in parts[1:]:
            gb += part[2]
        accs = [part[1] for part in parts]
        if feature_major:  # [b, W^T.ravel()]
            out = np.empty(self.n_params)
            fK = K * int(self.fit_intercept)
            out[:fK] = gb[:fK]
            self._kernel.write_weights(accs, out[fK:].reshape(d, K), True)
            return out
        out = np.empty((K, d + int(self.fit_intercept)), dtype=np.float64)
        self._kernel.write_weights(accs, out[:, :d])
        if self.fit_intercept:
            out[:, -1] = gb
        return out.ravel()

    # ------------------------------------------------------------ data term
    def data_loss_gradient(self, w64, need_gradient, feature_major=False):
        """Data term and its gradient at the contiguous float64 ``w64``.

        One pass over the chunks (in worker threads, see
        :meth:`_map_chunks`); the gradient in the parameter layout, without
        the penalty. ``feature_major`` (sparse ``X``, see
        :meth:`solver_layout`): ``w64`` and the gradient in the layout of
        :class:`FeatureMajorLayout`, the kernel's own: the ``(d, K)`` weights
        are a view of ``w64`` (float64), so that nothing is transposed (each
        way ~8 ms for ``d=200000, K=20``, float64).
        """
        if self._small and self.dtype == np.float64:
            return self._design_passes.loss_gradient(w64, need_gradient)
        K = self.n_classes
        if feature_major:
            M = self._feature_major_params(w64)
        else:
            M = self._params(w64)
        sw64 = self._row_weight64
        rows_math, kernel = self._rows_math, self._kernel
        params = [M]  # dropped before the gradient is assembled
        del M

        def work(ids, bufs):
            (M,) = params
            zt = bufs["zt"]
            loss = 0.0
            acc = kernel.new_accumulator() if need_gradient else None
            gb = np.zeros(K, dtype=np.float64)
            for i in ids:
                sl = self._chunk_slice(i)
                rows = sl.stop - sl.start
                Z = kernel.scores(i, sl, M, zt[: K * rows].reshape(K, rows), bufs)
                nll, s = rows_math.softmax(Z, sl)
                loss += dot(sw64[sl], nll)  # numpy loop: no BLAS pool wakes
                if need_gradient:
                    # G = s_w * (P - Y): subtract at the true class, no one-hot Y.
                    G = rows_math.gradient(Z, s, sl)
                    acc = kernel.accumulate(i, sl, G, acc, bufs)
                    if self.fit_intercept:
                        gb += G.sum(axis=1, dtype=np.float64)
            return loss, acc, gb

        parts = self._map_chunks(work)
        params.clear()  # (d, K) copy of W for sparse X: free it before assembly
        loss = sum(part[0] for part in parts)
        if not need_gradient:
            return loss, None
        return loss, self._assemble(parts, feature_major)

    def solver_layout(self):
        """:class:`FeatureMajorLayout` for sparse ``X`` (the kernel's own
        layout of the weights), else the flat layout.

        Returns
        -------
        layout : FlatLayout
        """
        return FeatureMajorLayout(self) if self.sparse else FlatLayout(self)

    def data_hessian_product(self, w, probabilities=None, feature_major=False):
        """``hessp(v64)``: the data term's Hessian at ``w`` times ``v64``.

        Each product recomputes ``P`` chunk by chunk (no (n, K) storage),
        unless ``probabilities`` (the (K, rows) blocks of ``P`` at ``w`` by
        chunk, see :meth:`data_newton_model`) are given; see
        :meth:`SoftmaxObjective.hessian_product` for the formula.
        ``feature_major`` (sparse ``X``): ``v`` and the product in the layout
        of :class:`FeatureMajorLayout`, the kernel's own, with no transposition.
        """
        M = self._params(w)
        K = self.n_classes
        rows_math, kernel = self._rows_math, self._kernel
        if probabilities is not None:
            M = None  # the scores are not recomputed

        def hessp(v):
            if feature_major:
                # v = [V^T (d, K) ravel, v_b]: the kernel's layout already
                v = np.ascontiguousarray(v, dtype=np.float64)
                V = self._feature_major_params(v)
            else:
                V = self._params(v)

            def work(ids, bufs):
                zt = bufs["zt"]
                zv = bufs.setdefault("zv", np.empty_like(zt))
                acc = kernel.new_accumulator()
                gb = np.zeros(K, dtype=np.float64)
                for i in ids:
                    sl = self._chunk_slice(i)
                    rows = sl.stop - sl.start
                    if probabilities is not None:
                        P = probabilities[i]
                    else:
                        P = zt[: K * rows].reshape(K, rows)
                        kernel.scores(i, sl, M, P, bufs)
                        _, s = rows_math.softmax(P, sl)
                        P /= s
                    Zv = zv[: K * rows].reshape(K, rows)
                    kernel.scores(i, sl, V, Zv, bufs)
                    # R = s_w * P * (Zv - sum_k P_k Zv_k)
                    Zv -= np.einsum("ij,ij->j", P, Zv)
                    Zv *= P
                    Zv *= self.row_weight[sl]
                    acc = kernel.accumulate(i, sl, Zv, acc, bufs)
                    if self.fit_intercept:
                        gb += Zv.sum(axis=1, dtype=np.float64)
                return 0.0, acc, gb

            parts = self._map_chunks(work, sparse_threads=feature_major)
            return self._assemble(parts, feature_major)

        return hessp

    def data_newton_model(self, w):
        """``(hessp, diag, layout)``: the data term's Hessian product and diagonal.

        One pass over the chunks computes ``P`` and the diagonal
        ``sum_i s_i p_ik (1 - p_ik) x~_ij^2`` (one product of ``R = s P (1 -
        P)`` with the squared entries of ``X_c``). Where ``P`` takes no more
        memory than one parameter vector (``n_samples * K <= n_params``, as
        on wide sparse data; the solver holds several such vectors), its
        blocks are kept for the products, which then skip the scores and the
        softmax: two sparse products each instead of three (measured on
        50000 x 200000, 80 nnz/row, K=20: ~185 ms per product without, ~110
        with). For sparse ``X`` the products work in the kernel's own layout
        of the parameters (:class:`FeatureMajorLayout`): no transposition of
        the ``(K, d)`` weights each way per product (with the fresh buffers
        of each product, ~85 ms of a ~200 ms product on the shape above, on a
        loaded machine).
        """
        M = self._params(w)
        K = self.n_classes
        keep = self.n_samples * K <= self.n_params
        rows_math, kernel = self._rows_math, self._kernel

        def work(ids, bufs):
            zt = bufs["zt"]
            zv = bufs.setdefault("zv", np.empty_like(zt))
            acc = kernel.new_accumulator()
            gb = np.zeros(K, dtype=np.float64)
            kept = {}
            for i in ids:
                sl = self._chunk_slice(i)
                rows = sl.stop - sl.start
                P = np.empty((K, rows), self.dtype) if keep else zt[: K * rows]
                P = P.reshape(K, rows)
                kernel.scores(i, sl, M, P, bufs)
                _, s = rows_math.softmax(P, sl)
                P /= s
                R = np.subtract(1, P, out=zv[: K * rows].reshape(K, rows))
                R *= P
                R *= self.row_weight[sl]  # s p (1 - p)
                acc = kernel.accumulate(i, sl, R, acc, bufs, squared=True)
                if self.fit_intercept:
                    gb += R.sum(axis=1, dtype=np.float64)
                if keep:
                    kept[i] = P
            return kept, acc, gb

        parts = self._map_chunks(work, sparse_threads=self.sparse)
        probabilities = {}
        for part in parts:
            probabilities.update(part[0])
        layout = self.solver_layout()
        diag = self._assemble(parts, feature_major=self.sparse)
        hessp = self.data_hessian_product(
            w, probabilities if keep else None, feature_major=self.sparse
        )
        return hessp, diag, layout

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
            part = fn(self.X[sl], self.y[sl], self._row_weight64[sl], i, *args)
            if total is None:
                total = tuple(np.array(p, dtype=np.float64) for p in part)
            else:
                for t, p in zip(total, part, strict=True):
                    t += p
        return [total]

    def data_loss_gradient_hessian(self, w64):
        """Data term, its gradient and its dense Hessian at ``w64``.

        Serial, in blocks of rows; see
        :meth:`SmallDenseKernel.loss_gradient_hessian`.
        """
        return self._design_passes.loss_gradient_hessian(w64)

    def data_binary_loss_gradient_hessian(self, v64):
        """Two classes: data term, gradient and Hessian of ``v = w_1 - w_0``
        (:class:`~sk_softmax._objective._base.BinaryObjective`); see
        :meth:`SmallDenseKernel.binary_loss_gradient_hessian`."""
        return self._design_passes.binary_loss_gradient_hessian(v64)

    def weighted_gram(self, scale):
        """``M^T M``, ``M = diag(sqrt(s / S)) [X, 1] / scale``, over the chunks.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        gram : ndarray, float64
        """
        sqrt_sw = np.sqrt(self._row_weight64) / scale
        return weighted_gram(self.X, sqrt_sw, int(self.fit_intercept), self._chunks())

    def gram_bound(self, scale):
        """``min(trace, ||M||_1 ||M||_inf)``, ``M = diag(sqrt(s / S)) X~ / scale``.

        Parameters
        ----------
        scale : float
            ``a >= 1``.

        Returns
        -------
        bound : float
        """
        sqrt_sw = np.sqrt(self._row_weight64) / scale
        chunks = list(self._chunks())
        return gram_norm_bound(self.X, sqrt_sw, int(self.fit_intercept), chunks)


def gram_norm_bound(X, sqrt_sw, fi, chunks):
    """``min(trace, ||M||_1 ||M||_inf)`` with ``M = diag(sqrt_sw) [X, 1]``.

    An upper bound of ``lambda_max(M^T M)`` without the Gram matrix (wide
    ``X``, see :meth:`SoftmaxObjective.data_lipschitz_bound`); ``sqrt_sw``
    already carries the ``1 / a`` scale, ``fi`` adds the ones column.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        The data.
    sqrt_sw : ndarray of shape (n_samples,), float64
        Square roots of the normalised weights, divided by ``a``.
    fi : int
        1 with the intercept column, else 0.
    chunks : list of slice
        Row chunks of dense ``X``.

    Returns
    -------
    bound : float
    """
    d = X.shape[1]
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
    return min(trace, holder)


def weighted_gram(X, sqrt_sw, fi, chunks):
    """``M^T M`` with ``M = diag(sqrt_sw) [X, 1]`` (``fi``: the ones column).

    Accumulated over the row ``chunks`` in float64; ``sqrt_sw`` already
    carries any ``1 / a`` scale (see
    :meth:`SoftmaxObjective.data_lipschitz_bound`).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        The data.
    sqrt_sw : ndarray of shape (n_samples,), float64
        Square roots of the normalised weights, divided by ``a``.
    fi : int
        1 with the intercept column, else 0.
    chunks : iterable of slice
        Row chunks.

    Returns
    -------
    gram : ndarray of shape (d + fi, d + fi), float64
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
