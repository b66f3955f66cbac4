"""The small-dense kernel: passes on a float64 ``X~^T = [X, 1]^T`` block.

Two uses of the numpy backend (:mod:`sk_softmax._objective._numpy`), both
serial, in the calling thread, on data small enough that an evaluation is
dominated by the number of numpy calls rather than by its multiply-adds:

- the loss and gradient of small float64 dense data (all rows in one block
  of the memory rule): :meth:`SmallDenseKernel.loss_gradient` on a kept
  float64 copy of ``X~^T`` (the intercepts inside the two products);
- the dense Hessian of ``solver="newton-cholesky"`` and inference, for any
  ``X`` (sparse blocks densified one at a time):
  :meth:`SmallDenseKernel.loss_gradient_hessian`, and its two-class form
  on the rows' difference, :meth:`SmallDenseKernel.binary_loss_gradient_hessian`.

The softmax and target steps are the shared ones of
:class:`~sk_softmax._objective._softmax_rows.ClassMajorRows`.
"""

import functools

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from .._blas import private_openblas
from .._threadpool import chunk_workers
from .._vector import dot

__all__ = ["SmallDenseKernel", "small_gemm"]

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
# about three quarters of a core's L2 cache (see loss_gradient).
_SMALL_BLOCK_BYTES = 3 * 2**18
# At least this many rows per column block of the small loss/gradient pass.
_MIN_BLOCK_ROWS = 256
# The stacked pair blocks of one GEMM of the dense Hessian pass: at most 8 MiB.
_STACK_BYTES = 8 * 2**20


def small_gemm(largest):
    """The GEMM for large small-data products.

    Parameters
    ----------
    largest : int
        Multiply-adds of the largest product of a pass.

    Returns
    -------
    gemm : callable or None
        The private single-threaded GEMM where that product is large and
        numpy's BLAS may run threads now (and the private BLAS loads), else
        None (numpy's products).
    """
    if largest < _PRIVATE_GEMM_MIN_MADDS or chunk_workers(2) <= 1:
        return None
    return private_openblas()


def _matmul(A, B, gemm, trans_b=False, out=None):
    """``A @ B`` (``A @ B.T`` if ``trans_b``) in the calling thread.

    ``A``, ``B`` and ``out`` (if given) are float64 with contiguous rows
    (C-contiguous, or a column block of such an array); ``gemm`` is
    :func:`small_gemm`'s, used from ``_PRIVATE_GEMM_MIN_MADDS`` on.
    """
    (m, k), n = A.shape, B.shape[0 if trans_b else 1]
    if gemm is not None and m * k * n >= _PRIVATE_GEMM_MIN_MADDS:
        if out is None:
            out = np.empty((m, n), dtype=A.dtype)
        return gemm(A, B, out, trans_b=trans_b)
    return np.matmul(A, B.T if trans_b else B, out=out)


@functools.lru_cache(maxsize=64)
def _class_pairs(K):
    """The class pairs ``k <= l`` of the Hessian's blocks: ``(kk, ll, same)``,
    ``same`` 1.0 where ``k == l``."""
    kk, ll = np.triu_indices(K)
    return kk, ll, (kk == ll).astype(np.float64)


@functools.lru_cache(maxsize=64)
def _hessian_scatter(K, d1, start, stop):
    """Where the pair blocks ``g = start..stop`` of the stacked GEMM go in H.

    The GEMM of :meth:`SmallDenseKernel.loss_gradient_hessian` gives the blocks
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


class SmallDenseKernel:
    """The passes on float64 ``X~^T`` blocks of one numpy objective.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        The data (never modified).
    rows : ClassMajorRows
        The targets' softmax and cross-entropy steps.
    sample_weight : ndarray of shape (n_samples,), float64
        The normalised weights ``s_i / S``.
    fit_intercept : bool
        Whether ``X~`` has the intercept row.
    block_rows : int
        Rows per block of the dense Hessian pass.
    keep : bool
        Small data: all rows in one block, whose ``X~^T`` and score buffer
        are kept between passes.
    """

    def __init__(self, X, rows, sample_weight, fit_intercept, block_rows, keep):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.rows = rows
        self.n_classes = rows.n_classes
        self.y, self.soft = rows.y, rows.soft
        self.label_smoothing = rows.label_smoothing
        self.sw64 = sample_weight
        self.fit_intercept = bool(fit_intercept)
        self.block_rows = block_rows
        self.keep = keep
        self.kept_design = None  # (d + 1, n) float64, built on first use
        self.scores = None  # (K, n) buffer of the small loss/gradient pass

    def design(self, sl):
        """``X~_c^T``, shape ``(d + 1, rows)``: the rows ``sl`` with their
        intercept row, float64, C-contiguous.

        Both products of a pass run on it: ``[W, b] X~_c^T`` and
        ``G X~_c = G (X~_c^T)^T`` (as fast in context as a second, row-major
        copy: measured on digits, 1797 x 65, K=10). Small objectives
        (``keep``: all rows in one block) keep it between passes (built
        once instead of at every evaluation: ~20 us of a 75 us evaluation on
        breast_cancer); otherwise it is built per block.
        """
        if self.keep and self.kept_design is not None:
            return self.kept_design
        Xc = self.X[sl]
        if sp.issparse(Xc):
            Xc = Xc.toarray()
        d = self.n_features
        Xt = np.empty(
            (d + int(self.fit_intercept), sl.stop - sl.start), dtype=np.float64
        )
        Xt[:d] = Xc.T
        Xt[d:] = 1.0  # the intercept row (np.empty: digits 86 instead of 107 us)
        if self.keep:
            self.kept_design = Xt
        return Xt

    def loss_gradient(self, w64, need_gradient):
        """Data term and gradient of a small float64 objective, on the kept X~.

        The pass of ``data_loss_gradient`` (same softmax and target steps) on
        the kept ``X~^T`` of :meth:`design`, with the intercepts inside the two
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
        n, K = self.n_samples, self.n_classes
        Xt = self.design(slice(0, n))
        Wb = w64.reshape(K, -1)
        per_row = 8 * (Xt.shape[0] + 2 * K)  # X~ column and score / gradient block
        n_blocks = -(-n // max(_MIN_BLOCK_ROWS, _SMALL_BLOCK_BYTES // per_row))
        step = -(-n // n_blocks)
        blocks = [slice(start, min(start + step, n)) for start in range(0, n, step)]
        gemm = small_gemm(Xt.shape[0] * K * step)
        Z = self.scores
        if Z is None:
            Z = self.scores = np.empty((K, n), dtype=np.float64)
        for sl in blocks:
            _matmul(Wb, Xt[:, sl], gemm, out=Z[:, sl])  # (K, rows) scores
        whole = slice(0, n)
        nll, s = self.rows.softmax(Z, whole)
        sw = self.sw64
        loss = dot(sw, nll)
        if not need_gradient:
            return loss, None
        if self.soft or self.label_smoothing:
            G = self.rows.gradient(Z, s, whole)
        else:  # s_w (P - Y) in one pass less: (s_w / s) E, then -s_w at y
            Z *= sw / s  # (digits: 200 instead of 217 us per evaluation)
            Z.ravel()[self.rows.target_index(whole, n)] -= sw
            G = Z
        grad = _matmul(G[:, blocks[0]], Xt[:, blocks[0]], gemm, trans_b=True)
        for sl in blocks[1:]:
            grad += _matmul(G[:, sl], Xt[:, sl], gemm, trans_b=True)
        return loss, grad.ravel()

    def loss_gradient_hessian(self, w64):
        """Data term, gradient and dense Hessian of ``obj`` at ``w64``, one pass.

        The kernel of ``ChunkedSoftmaxCrossEntropy.data_loss_gradient_hessian``, for
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

        Loss and gradient are those of ``data_loss_gradient`` (the same softmax
        and target steps), computed in float64 with the intercepts inside the
        products (``[W, b] X~_c^T`` and ``G X~_c``): small problems are dominated
        by the number of numpy calls, and this pass makes about half as many
        (serial, in the calling thread). Extra memory: the Hessian, ``X~_c`` in
        float64 (:meth:`design`) and the stack (at most 8 MiB). The penalty is
        added by the base class.

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params,), float64
        hess : ndarray of shape (n_params, n_params), float64, symmetric
        """
        K, d = self.n_classes, self.n_features
        d1 = d + int(self.fit_intercept)
        Wb = w64.reshape(K, d1)  # [W, b]
        loss = 0.0
        grad = None
        H = None
        kk, ll, same = _class_pairs(K)
        n, step = self.n_samples, self.block_rows
        group = max(1, _STACK_BYTES // (8 * d1 * min(n, step)))  # pairs per stack
        gemm = small_gemm(min(n, step) * d1 * max(K, min(group, len(kk)) * d1))
        for start in range(0, n, step):
            sl = slice(start, min(start + step, n))
            Xt = self.design(sl)  # X~_c^T
            rows = sl.stop - sl.start
            Z = _matmul(Wb, Xt, gemm)  # (K, rows) scores, intercepts included
            nll, s = self.rows.softmax(Z, sl)
            sw = self.sw64[sl]
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
            G = _matmul(self.rows.gradient(Z, s, sl), Xt, gemm, trans_b=True)
            if grad is None:
                grad = G
            else:
                grad += G
        return loss, grad.ravel(), H

    def binary_loss_gradient_hessian(self, v64):
        """Two classes: data term, gradient and Hessian of the rows' difference.

        With ``z_i = v . x~_i`` (``z_1 - z_0``) and ``t_i`` the target of class
        1 (the label, the soft target, smoothed as ``(1 - eps) t + eps / 2``),
        the cross-entropy of sample ``i`` is ``softplus(z_i) - t_i z_i``, its
        gradient ``(p_i - t_i) x~_i`` and its Hessian ``p_i (1 - p_i) x~_i
        x~_i^T`` with ``p_i = sigmoid(z_i)``: the two-class softmax pass of
        :meth:`loss_gradient_hessian` on ``(n,)`` scores, in the same
        blocks of rows. The penalty is added by ``BinaryObjective``.

        Returns
        -------
        loss : float
        grad : ndarray of shape (d + 1,) or (d,), float64
        hess : ndarray of shape (d + 1, d + 1) or (d, d), float64, symmetric
        """
        d1 = v64.shape[0]
        eps = self.label_smoothing
        loss = 0.0
        grad = np.zeros(d1, dtype=np.float64)
        H = np.zeros((d1, d1), dtype=np.float64)
        n, step = self.n_samples, self.block_rows
        gemm = small_gemm(min(n, step) * d1 * d1)
        for sl in (slice(i, min(i + step, n)) for i in range(0, n, step)):
            Xt = self.design(sl)  # X~_c^T
            sw = self.sw64[sl]
            t = self.y[sl, 1] if self.soft else self.y[sl]
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
