"""The L-BFGS history in compact form, shared by L-BFGS and OWL-QN.

The last pairs ``(s, y)`` live in one preallocated ``(2 m, p)`` array and
the direction ``-H g`` is computed with the compact representation of Byrd,
Nocedal & Schnabel (1994), see :mod:`sk_softmax._solvers._lbfgs`::

    H g = gamma g + [S  Y] [coef_S; coef_Y],     (S, Y: the m last pairs)
    t      = R^{-1} S^T g                        R = triu(S^T Y) (m x m)
    coef_S = R^{-T} ((D + gamma Y^T Y) t - gamma Y^T g),   D = diag(S^T Y)
    coef_Y = -gamma t

Two ways to add a pair: :meth:`CompactHistory.push_step` (L-BFGS: the new
column of ``S^T Y`` and ``Y^T Y`` comes from the products with the gradients
that the directions compute anyway) and :meth:`CompactHistory.add_pair`
(OWL-QN, whose directions are of the minimum-norm subgradient, not of the
gradient: one more pass over the history).

The products with the history run through a :class:`MatrixProducts` chosen
by the caller (the fit layer's execution plan): :data:`BLAS_PRODUCTS` or
:data:`LOOP_PRODUCTS`, which wakes no BLAS thread pool.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dtrtrs

from .._vector import SMALL, add_scaled, dot

__all__ = [
    "BLAS_PRODUCTS",
    "EPS",
    "LOOP_PRODUCTS",
    "CompactHistory",
    "MatrixProducts",
]

EPS = float(np.finfo(np.float64).eps)
_VECDOT = getattr(np, "vecdot", None)  # numpy >= 2.0


@dataclass(frozen=True)
class MatrixProducts:
    """``A @ x`` and ``c @ A`` for the 2-D history ``A``.

    Attributes
    ----------
    matvec : callable
        ``matvec(A, x) -> A @ x``.
    rmatvec : callable
        ``rmatvec(c, A, out) -> out``, ``out = c @ A`` (``out`` may be None:
        a new array).
    """

    matvec: Callable
    rmatvec: Callable


def _blas_matvec(A, x):
    return A @ x


def _blas_rmatvec(c, A, out):
    return np.matmul(c, A, out=out)


# Products with the history without BLAS: numpy's own loops run in the
# calling thread and no BLAS thread pool wakes up. An OpenBLAS pool spins on
# its cores for a while after every threaded call, which slowed the
# evaluations of an objective running its own worker threads on all cores by
# ~45% (measured with scipy's L-BFGS-B, 50000 x 256, K=200, float32, 2 cores:
# 110 ms instead of 75 ms per evaluation). Dot products of two vectors never
# use BLAS (``_vector.dot``): a threaded ``ddot`` per 16384-entry block cost
# ~1 ms each on a busy 2-core machine (10.8 s of a 10-iteration fit with 4e6
# parameters), numpy's loop ~10 us. Rows of up to ``SMALL`` entries take
# ``np.vecdot`` (a row-by-row ``ddot``, single-threaded at that length; see
# ``_vector``): 2.2 us against 8.3 us for einsum's ``A @ x`` with 20 x 650
# (digits, one thread). Slower for millions of parameters (91 vs 65 ms per
# L-BFGS direction at 4e6 parameters, m=10, float32 history, 2 cores).
def _loop_matvec(A, x):
    if _VECDOT is not None and A.shape[1] <= SMALL:
        return _VECDOT(A, x)
    return np.einsum("ij,j->i", A, x)


def _loop_rmatvec(c, A, out):
    return np.einsum("i,ij->j", c, A, out=out)


#: Products in numpy's (possibly threaded) BLAS.
BLAS_PRODUCTS = MatrixProducts(_blas_matvec, _blas_rmatvec)
#: Products in numpy's own loops: no BLAS call.
LOOP_PRODUCTS = MatrixProducts(_loop_matvec, _loop_rmatvec)


class CompactHistory:
    """The last ``size`` pairs ``(s, y)`` in a ring buffer, and their inner products.

    ``SY`` holds ``s`` in rows ``0 .. size-1`` and ``y`` in rows
    ``size .. 2 size-1`` (by slot, not in chronological order; ``slots``
    lists the used slots, oldest first). Unused rows are zero or stale, and
    get zero coefficients.

    Parameters
    ----------
    size : int
        Pairs kept (``m``, L-BFGS-B's ``maxcor``).
    n_params : int
        Length of the vectors.
    dtype : {np.float64, np.float32}, default=np.float64
        Storage of the pairs (float64 arithmetic throughout, except with
        ``float32_products``).
    products : MatrixProducts, default=BLAS_PRODUCTS
        The products with the ``(2 size, n_params)`` history.
    float32_products : bool, default=False
        With float32 storage: compute the products with the history in
        float32 (one BLAS pass) instead of casting it to float64 block by
        block. Casting was 70% of an OWL-QN iteration outside the objective
        at 4e6 parameters (profiled: 0.2 s of 0.3 s, 2 busy cores); a
        direction needs no more precision than its float32-rounded pairs
        have. L-BFGS keeps float64 products (its iterates are tested bit for
        bit).
    """

    def __init__(
        self,
        size,
        n_params,
        dtype=np.float64,
        products=BLAS_PRODUCTS,
        float32_products=False,
    ):
        self.size = size
        self.products = products
        self.float32_products = float32_products and dtype != np.float64
        self.SY = np.zeros((2 * size, n_params), dtype=dtype)
        self.StY = np.zeros((size, size))  # StY[i, j] = s_i . y_j (slots)
        self.YtY = np.zeros((size, size))  # YtY[i, j] = y_i . y_j
        self.slots = []
        self._free = list(range(size))  # unused slots
        self._uv_prev = None  # [S; Y] g at the previous iterate
        self._pending = None
        # columns per block for float64 arithmetic on float32 storage
        self._block = n_params if dtype == np.float64 else 16384
        # chronological gathers of the slot-ordered small matrices, per slot
        # sequence (at most 2 m sequences occur between resets)
        self._gathers = {}

    def reset(self):
        """Forget every pair."""
        self.slots = []
        self._free = list(range(self.size))
        self._uv_prev = None
        self._pending = None

    def forget_gradient_products(self):
        """Drop ``[S; Y] g`` of the previous iterate (a steepest-descent
        step follows: no direction computed it)."""
        self._uv_prev = None

    def __len__(self):
        return len(self.slots)

    def _take_slot(self):
        """A slot for a new pair: an unused one, else the oldest pair's."""
        return self._free.pop() if self._free else self.slots.pop(0)

    def _gather(self):
        """Index arrays for the used slots in chronological order: ``idx``,
        ``size + idx`` and the flat ``(k, k)`` indices into a
        ``(size, size)`` matrix (cached: fancy indexing with fresh index
        arrays at every iteration was a tenth of the optimiser's own time
        at 650 parameters)."""
        key = tuple(self.slots)
        got = self._gathers.get(key)
        if got is None:
            m = self.size
            idx = np.array(key, dtype=np.intp)
            got = (idx, m + idx, (idx[:, None] * m + idx).ravel())
            if len(self._gathers) > 4 * m:
                self._gathers.clear()
            self._gathers[key] = got
        return got

    def _blocks(self):
        p = self.SY.shape[1]
        for start in range(0, p, self._block):
            yield slice(start, min(start + self._block, p))

    def matvec(self, g):
        """``[S; Y] g`` in float64 (see ``float32_products``).

        Parameters
        ----------
        g : ndarray of shape (n_params,)
            The vector.

        Returns
        -------
        uv : ndarray of shape (2 size,)
        """
        matvec = self.products.matvec
        if self.SY.dtype == np.float64:
            return matvec(self.SY, g)
        if self.float32_products:
            return matvec(self.SY, g.astype(np.float32)).astype(np.float64)
        out = np.zeros(self.SY.shape[0])
        for sl in self._blocks():
            out += matvec(self.SY[:, sl].astype(np.float64), g[sl])
        return out

    def rmatvec(self, coef, out):
        """``out = [S; Y]^T coef`` in float64 (see ``float32_products``).

        Parameters
        ----------
        coef : ndarray of shape (2 size,)
            The coefficients.
        out : ndarray of shape (n_params,)
            Receives the product.

        Returns
        -------
        out : ndarray
        """
        rmatvec = self.products.rmatvec
        if self.SY.dtype == np.float64:
            return rmatvec(coef, self.SY, out)
        if self.float32_products:
            out[...] = rmatvec(coef.astype(np.float32), self.SY, None)
            return out
        for sl in self._blocks():
            block = self.SY[:, sl].astype(np.float64)
            rmatvec(coef, block, out[sl])
        return out

    def push_step(self, d, alpha, g_new, g_old):
        """Store ``s = alpha d``, ``y = g_new - g_old``, evicting the oldest pair.

        The new column of ``S^T Y`` and ``Y^T Y`` needs ``[S; Y] y_new =
        [S; Y] g_new - [S; Y] g_old``: both terms are the products the
        directions of the two gradients compute (:meth:`direction`), so no
        extra pass over the history is made (the new pair's own entries are
        exact dot products).

        The pair is dropped (and False returned) unless ``s . y > eps y . y``,
        the curvature test of L-BFGS-B that keeps the update positive
        definite. The inner products are those of the stored (possibly
        float32) vectors, computed in float64, so that the small matrices are
        exactly those of the pairs the direction uses.

        Parameters
        ----------
        d : ndarray of shape (n_params,)
            The step's direction.
        alpha : float
            The step's length.
        g_new, g_old : ndarray of shape (n_params,)
            Gradients after and before the step.

        Returns
        -------
        stored : bool
        """
        m = self.size
        matvec = self.products.matvec
        slot = self._take_slot()
        s, y = self.SY[slot], self.SY[m + slot]
        np.multiply(d, alpha, out=s, casting="unsafe")
        np.subtract(g_new, g_old, out=y, casting="unsafe")
        if self.SY.dtype == np.float64:
            pair = self.SY[slot::m]  # rows s, y (a view)
            sy, yy = matvec(pair, y)
            sg, yg = matvec(pair, g_old)
        else:
            sy = yy = sg = yg = 0.0
            for sl in self._blocks():
                s64 = s[sl].astype(np.float64)
                y64 = y[sl].astype(np.float64)
                sy += dot(s64, y64)
                yy += dot(y64, y64)
                sg += dot(s64, g_old[sl])
                yg += dot(y64, g_old[sl])
        if not sy > EPS * yy:
            y[...] = 0.0
            s[...] = 0.0
            self._free.append(slot)
            self._pending = None
            return False
        if self._uv_prev is not None:
            # the slot's rows changed: their products with g_old
            self._uv_prev[slot] = sg
            self._uv_prev[m + slot] = yg
        self._pending = (slot, sy, yy)
        self.slots.append(slot)
        return True

    def add_pair(self, s, y):
        """Store the pair ``(s, y)``, evicting the oldest, by one more pass.

        Dropped (and False returned) unless ``s . y > eps y . y``
        (L-BFGS-B's curvature test). For directions of vectors other than
        the gradient (OWL-QN), where :meth:`push_step`'s reuse of the
        gradient products does not apply.

        Parameters
        ----------
        s, y : ndarray of shape (n_params,)
            The step and the change of the gradient.

        Returns
        -------
        stored : bool
        """
        m = self.size
        self._uv_prev = self._pending = None
        sy, yy = dot(s, y), dot(y, y)
        if not sy > EPS * yy:
            return False
        slot = self._take_slot()
        self.SY[slot] = s
        self.SY[m + slot] = y
        self.slots.append(slot)
        if self.SY.dtype != np.float64:  # the products of the stored pair
            s = self.SY[slot].astype(np.float64)
            y = self.SY[m + slot].astype(np.float64)
            sy, yy = dot(s, y), dot(y, y)
        prods = self.matvec(y)  # [S^T y; Y^T y] by slot: one pass
        self.StY[:, slot] = prods[:m]
        self.YtY[:, slot] = prods[m:]
        self.YtY[slot, :] = prods[m:]
        self.StY[slot, slot], self.YtY[slot, slot] = sy, yy
        return True

    def direction(self, g, out):
        """``out = -H g`` with the compact representation (module docstring).

        Parameters
        ----------
        g : ndarray of shape (n_params,)
            The gradient (or the vector whose direction is wanted).
        out : ndarray of shape (n_params,)
            Receives the direction.

        Returns
        -------
        out : ndarray
        """
        m = self.size
        uv = self.matvec(g)  # [S^T g; Y^T g] by slot: one pass over the history
        if self._pending is not None:
            slot, sy, yy = self._pending
            if self._uv_prev is not None:
                prods = uv - self._uv_prev  # [S; Y] (g_new - g_old)
                self.StY[:, slot] = prods[:m]
                self.YtY[:, slot] = prods[m:]
                self.YtY[slot, :] = prods[m:]
            self.StY[slot, slot] = sy
            self.YtY[slot, slot] = yy
            self._pending = None
        self._uv_prev = uv
        idx, idy, flat = self._gather()
        k = idx.shape[0]
        last = self.slots[-1]
        gamma = self.StY[last, last] / self.YtY[last, last]
        u, v = uv.take(idx), uv.take(idy)
        StY = self.StY.take(flat).reshape(k, k)
        YtY = self.YtY.take(flat).reshape(k, k)
        # R = triu(S^T Y): LAPACK's triangular solves read the upper
        # triangle only (trtrs directly: scipy's solve_triangular validates
        # its input for ~15 us, per solve, on every iteration)
        t, info = dtrtrs(StY, u, lower=0)
        rhs = StY.diagonal() * t
        rhs += gamma * (YtY @ t - v)
        coef = np.zeros(2 * m)
        coef[idx], info2 = dtrtrs(StY, rhs, lower=0, trans=1)
        if info or info2:  # singular R: not expected (s . y > 0 for all pairs)
            raise np.linalg.LinAlgError("singular L-BFGS middle matrix")
        coef[idy] = -gamma * t
        self.rmatvec(coef, out)  # second pass over the history
        add_scaled(out, gamma, g)  # out = -(out + gamma g)
        np.negative(out, out=out)
        return out
