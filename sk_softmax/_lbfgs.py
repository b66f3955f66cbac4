"""A compact L-BFGS in numpy, for problems with millions of parameters.

scipy's L-BFGS-B spends, per iteration, several passes over its history
(``2 m p`` numbers for ``p`` parameters) in its own single-threaded code, plus
the bound-handling machinery we do not need. Measured on a 2-core machine with
``p = 4e6`` and ``m = 10``: ~300 ms per iteration outside the objective and
~1.2 GB of memory. This implementation keeps the history in two preallocated
``(m, p)`` arrays and computes the L-BFGS direction with the compact
representation of Byrd, Nocedal & Schnabel (1994)::

    H g = gamma g + [S  Y] [coef_S; coef_Y],     (S, Y: the m last pairs)
    t      = R^{-1} S^T g                        R = triu(S^T Y) (m x m)
    coef_S = R^{-T} ((D + gamma Y^T Y) t - gamma Y^T g),   D = diag(S^T Y)
    coef_Y = -gamma t

which needs two matrix-vector products with the ``(2m, p)`` history (one
for ``[S; Y] g``, which also updates the small matrices, one for the
combination), in numpy's multithreaded BLAS, instead of the ``4 m``
dependent vector operations of the two-loop recursion (measured: ~60 ms vs
~120 ms for the two-loop at ``p = 4e6``, ``m = 10``). The history can be
stored in float32 (``history_dtype``; ``_solvers.lbfgs`` does so), which
halves both its memory (320 MB instead of 640 MB at ``p = 4e6``) and the
memory traffic of the direction, with float64 arithmetic throughout.

The step satisfies the strong Wolfe conditions (MINPACK-2's ``dcsrch`` as
L-BFGS-B runs it: ``ftol = 1e-3``, ``gtol = 0.9``, ``xtol = 0.1``), and the
stopping rules are those of ``LogisticRegression``'s use of L-BFGS-B:
``max |g| <= gtol`` (converged), relative decrease of ``f`` at most ``ftol``
(stopped, not converged unless the gradient test holds), ``max_iter``, or a
failed line search.
"""

import numpy as np
from scipy.linalg.lapack import dtrtrs

from ._line_search import dcsrch
from ._vector import _SMALL, add_scaled, dot, max_abs

__all__ = ["minimize_lbfgs"]

_EPS = float(np.finfo(np.float64).eps)
_VECDOT = getattr(np, "vecdot", None)  # numpy >= 2.0


# Products with the history with and without BLAS. Without
# (``use_blas=False``), numpy's own loops run in the calling thread and no
# BLAS thread pool wakes up: an OpenBLAS pool spins on its cores for a while
# after every threaded call, which slowed the evaluations of an objective
# running its own worker threads on all cores by ~45% (measured with scipy's
# L-BFGS-B, 50000 x 256, K=200, float32, 2 cores: 110 ms instead of 75 ms per
# evaluation). Dot products of two vectors never use BLAS (``_vector.dot``):
# a threaded ``ddot`` per 16384-entry block cost ~1 ms each on a busy 2-core
# machine (10.8 s of a 10-iteration fit with 4e6 parameters), numpy's loop
# ~10 us. Rows of up to ``_SMALL`` entries take ``np.vecdot`` (a row-by-row
# ``ddot``, single-threaded at that length; see ``_vector``): 2.2 us against
# 8.3 us for einsum's ``A @ x`` with 20 x 650 (digits, one thread).
def _matvec(A, x, use_blas):
    """``A @ x`` for a 2-D ``A``."""
    if use_blas:
        return A @ x
    if _VECDOT is not None and A.shape[1] <= _SMALL:
        return _VECDOT(A, x)
    return np.einsum("ij,j->i", A, x)


def _rmatvec(c, A, out, use_blas):
    """``out = c @ A`` for a 2-D ``A``."""
    if use_blas:
        return np.matmul(c, A, out=out)
    return np.einsum("i,ij->j", c, A, out=out)


class _History:
    """The last ``m`` pairs ``(s, y)`` in a ring buffer, and their inner products.

    ``SY`` holds ``s`` in rows ``0 .. m-1`` and ``y`` in rows ``m .. 2m-1`` (by
    slot, not in chronological order; ``order`` lists the used slots, oldest
    first). Unused rows are zero or stale, and get zero coefficients.

    The new column of ``S^T Y`` and ``Y^T Y`` after a push needs
    ``[S; Y] y_new = [S; Y] g_new - [S; Y] g_old``: both terms are the
    products the direction computation does anyway, so no extra pass over the
    history is made (the new pair's own entries are exact dot products).
    """

    def __init__(self, m, p, dtype=np.float64, use_blas=True):
        self.m = m
        self.use_blas = use_blas
        self.SY = np.zeros((2 * m, p), dtype=dtype)
        self.StY = np.zeros((m, m))  # StY[i, j] = s_i . y_j (slots), i older
        self.YtY = np.zeros((m, m))  # YtY[i, j] = y_i . y_j
        self.order = []
        self.free = list(range(m))  # unused slots
        self.uv_prev = None  # [S; Y] g at the previous iterate
        self.pending = None
        # columns per block for float64 arithmetic on float32 storage
        self.block = p if dtype == np.float64 else 16384
        # chronological gathers of the slot-ordered small matrices, per order
        # (at most 2 m orders occur between resets)
        self._gathers = {}

    def reset(self):
        self.order = []
        self.free = list(range(self.m))
        self.uv_prev = None
        self.pending = None

    def take_slot(self):
        """A slot for a new pair: an unused one, else the oldest pair's."""
        return self.free.pop() if self.free else self.order.pop(0)

    def _gather(self):
        """Index arrays for the used slots in chronological order: ``idx``,
        ``m + idx`` and the flat ``(k, k)`` indices into an ``(m, m)`` matrix
        (cached: fancy indexing with fresh index arrays at every iteration was
        a tenth of the optimiser's own time at 650 parameters)."""
        key = tuple(self.order)
        got = self._gathers.get(key)
        if got is None:
            idx = np.array(key, dtype=np.intp)
            got = (idx, self.m + idx, (idx[:, None] * self.m + idx).ravel())
            if len(self._gathers) > 4 * self.m:
                self._gathers.clear()
            self._gathers[key] = got
        return got

    def __len__(self):
        return len(self.order)

    def _blocks(self):
        p = self.SY.shape[1]
        for start in range(0, p, self.block):
            yield slice(start, min(start + self.block, p))

    def matvec(self, g):
        """``[S; Y] g`` in float64 (float32 storage is cast block by block)."""
        if self.SY.dtype == np.float64:
            return _matvec(self.SY, g, self.use_blas)
        out = np.zeros(self.SY.shape[0])
        for sl in self._blocks():
            out += _matvec(self.SY[:, sl].astype(np.float64), g[sl], self.use_blas)
        return out

    def rmatvec(self, coef, out):
        """``out = [S; Y]^T coef`` in float64."""
        if self.SY.dtype == np.float64:
            return _rmatvec(coef, self.SY, out, self.use_blas)
        for sl in self._blocks():
            block = self.SY[:, sl].astype(np.float64)
            _rmatvec(coef, block, out[sl], self.use_blas)
        return out

    def push(self, d, alpha, g_new, g_old):
        """Store ``s = alpha d``, ``y = g_new - g_old``, evicting the oldest pair.

        The pair is dropped (and False returned) unless ``s . y > eps y . y``,
        the curvature test of L-BFGS-B that keeps the update positive
        definite. The inner products are those of the stored (possibly
        float32) vectors, computed in float64, so that the small matrices are
        exactly those of the pairs the direction uses.
        """
        m = self.m
        slot = self.take_slot()
        s, y = self.SY[slot], self.SY[m + slot]
        np.multiply(d, alpha, out=s, casting="unsafe")
        np.subtract(g_new, g_old, out=y, casting="unsafe")
        if self.SY.dtype == np.float64:
            pair = self.SY[slot::m]  # rows s, y (a view)
            sy, yy = _matvec(pair, y, self.use_blas)
            sg, yg = _matvec(pair, g_old, self.use_blas)
        else:
            sy = yy = sg = yg = 0.0
            for sl in self._blocks():
                s64 = s[sl].astype(np.float64)
                y64 = y[sl].astype(np.float64)
                sy += dot(s64, y64)
                yy += dot(y64, y64)
                sg += dot(s64, g_old[sl])
                yg += dot(y64, g_old[sl])
        if not sy > _EPS * yy:
            y[...] = 0.0
            s[...] = 0.0
            self.free.append(slot)
            self.pending = None
            return False
        if self.uv_prev is not None:
            # the slot's rows changed: their products with g_old
            self.uv_prev[slot] = sg
            self.uv_prev[m + slot] = yg
        self.pending = (slot, sy, yy)
        self.order.append(slot)
        return True

    def direction(self, g, out):
        """``out = -H g`` with the compact representation (module docstring)."""
        m = self.m
        uv = self.matvec(g)  # [S^T g; Y^T g] by slot: one pass over the history
        if self.pending is not None:
            slot, sy, yy = self.pending
            if self.uv_prev is not None:
                prods = uv - self.uv_prev  # [S; Y] (g_new - g_old)
                self.StY[:, slot] = prods[:m]
                self.YtY[:, slot] = prods[m:]
                self.YtY[slot, :] = prods[m:]
            self.StY[slot, slot] = sy
            self.YtY[slot, slot] = yy
            self.pending = None
        self.uv_prev = uv
        idx, idy, flat = self._gather()
        k = idx.shape[0]
        last = self.order[-1]
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


def _line_search(phi, derphi, phi0, derphi0, maxls):
    """Step from 1 by MINPACK-2's ``dcsrch`` with L-BFGS-B's settings.

    ``ftol=1e-3`` (sufficient decrease), ``gtol=0.9`` (curvature),
    ``xtol=0.1``, ``stpmin=0``, ``stpmax=1e10``: the line search of
    L-BFGS-B, so that both L-BFGS implementations take the same steps
    (measured on 50000 x 256, K=200: 19 evaluations for 15 iterations with
    either; scipy's ``scalar_search_wolfe2`` needed 23 for 16, doubling its
    way out of the short first step ``1 / ||g||``). The search is the
    package's own (:mod:`sk_softmax._line_search`), not scipy's private
    ``scipy.optimize._dcsrch``, which it replaces step for step: it tests
    ``maxls - 1`` trial steps, as ``DCSRCH(maxiter=maxls)`` did (whose last
    evaluation was never tested), so the same searches fail.

    Returns
    -------
    alpha : float or None
        The step (None if the search failed).
    phi_alpha : float
        ``phi`` at the last step evaluated (at ``alpha`` on success).
    """

    def fun(alpha):
        return phi(alpha), derphi(alpha)

    alpha, phi1, _ = dcsrch(
        fun,
        phi0,
        derphi0,
        1.0,
        ftol=1e-3,
        gtol=0.9,
        xtol=0.1,
        stpmin=0.0,
        stpmax=1e10,
        max_evals=maxls - 1,
    )
    return alpha, phi1


def minimize_lbfgs(
    fun,
    x0,
    *,
    gtol,
    max_iter,
    m=10,
    ftol=None,
    maxls=50,
    callback=None,
    history_dtype=np.float64,
    overwrite_x0=False,
    use_blas=True,
):
    """Minimise ``fun`` with L-BFGS (no bounds), keeping memory and overhead low.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (f, g)`` with ``g`` a float64 vector.
    x0 : ndarray of shape (p,)
        Starting point.
    gtol : float
        Converged when ``max |g| <= gtol``.
    max_iter : int
        Maximum number of iterations.
    m : int, default=10
        Number of correction pairs kept (``maxcor`` of L-BFGS-B).
    ftol : float or None, default=None
        None means ``64 * machine epsilon`` (``LogisticRegression``'s value).
        Stop when ``(f_k - f_{k+1}) <= ftol * max(|f_k|, |f_{k+1}|, 1)``.
    maxls : int, default=50
        Limit of each line search: it fails after ``maxls - 1`` trial steps
        (L-BFGS-B's ``maxls`` as scipy counts it; see ``_line_search``).
    callback : callable or None
        ``callback(it, x, f, g, gmax) -> bool`` after each iteration
        (``gmax = max |g|``, computed once per iteration for the callback and
        the stopping test); a true return value stops the run.
    history_dtype : {np.float64, np.float32}, default=np.float64
        Storage of the ``2 m`` history vectors. float32 halves the dominant
        memory (``2 m p`` numbers) and the memory traffic of the direction;
        all arithmetic stays float64 (blocks are cast on the fly), and the
        small matrices are computed from the stored vectors, so the update
        is exactly the L-BFGS update of the rounded pairs (a relative
        perturbation of ~1e-7 of ``s`` and ``y``; the line search and the
        stopping tests use the exact ``f`` and ``g``).
    overwrite_x0 : bool, default=False
        Let the solver use ``x0`` (a contiguous float64 array) as one of its
        two work vectors for the iterate and the trial point, instead of
        copying it: one parameter vector less in memory when the caller holds
        on to ``x0`` for the whole run. ``x0``'s content is then undefined.
    use_blas : bool, default=True
        False: compute the products with the history with numpy's own loops
        too (dot products never use BLAS), so that the solver wakes no BLAS
        thread pool (for objectives that run their own threads on all cores;
        see ``_matvec``). Same iterates up to rounding; slower for millions of
        parameters (91 vs 65 ms per direction at 4e6 parameters, m=10,
        float32 history, 2 cores).

    Returns
    -------
    x : ndarray of shape (p,)
        Final point.
    f : float
        Objective at ``x``.
    g : ndarray of shape (p,)
        Gradient at ``x``.
    n_iter : int
        Iterations run.
    converged : bool
        Whether ``max |g| <= gtol``.
    message : str
        Why the solver stopped.
    """
    if ftol is None:
        ftol = 64 * _EPS
    x = np.asarray(x0, dtype=np.float64)
    if not (overwrite_x0 and x is x0 and x.flags.c_contiguous and x.flags.writeable):
        x = x.copy()
    p = x.size
    f, g = fun(x)
    f = float(f)
    g = np.asarray(g, dtype=np.float64)
    gmax = max_abs(g)
    if p == 0 or gmax <= gtol:
        return x, f, g, 0, True, "max|grad| <= tol"
    hist = _History(m, p, history_dtype, use_blas)
    d = np.empty(p)
    # The iterate and the trial points live in two buffers that swap roles
    # when a step is accepted (no new vector per trial).
    spare = np.empty(p)
    message = "max_iter reached"
    it = 0
    while it < max_iter:
        if len(hist):
            hist.direction(g, d)
            alpha0 = 1.0
        else:
            hist.uv_prev = None
            np.negative(g, out=d)
            # first step of L-BFGS-B: length 1 / ||g||_2 along -g
            alpha0 = min(1.0, 1.0 / np.sqrt(dot(g, g)))
        derphi0 = dot(g, d)
        if not derphi0 < 0:
            if len(hist):  # not a descent direction: drop the memory
                hist.reset()
                continue
            message = "gradient is not a descent direction (non-finite values?)"
            break
        # scale d so that the trial step alpha = 1 is alpha0
        if alpha0 != 1.0:
            d *= alpha0
            derphi0 *= alpha0
        cache = {"x0": x, "spare": spare}

        def evaluate(alpha, d=d, cache=cache):
            # one evaluation per trial step, shared by phi and derphi
            if cache.get("alpha") != alpha:
                # drop the previous trial point first: two vectors less at peak
                cache.pop("x", None)
                cache.pop("g", None)
                cache.pop("alpha", None)
                xa = np.multiply(d, alpha, out=cache["spare"])
                xa += cache["x0"]
                fa, ga = fun(xa)
                cache.update(alpha=alpha, x=xa, f=float(fa), g=np.asarray(ga))
            return cache

        def phi(alpha):
            return evaluate(alpha)["f"]

        def derphi(alpha, d=d):
            return dot(evaluate(alpha)["g"], d)

        # The trial step 1 first: where it meets the strong Wolfe conditions
        # dcsrch stops at its first evaluation with it, so the step is the
        # same; this skips the Python line search on most iterations
        # (standardised digits, 650 parameters, one thread: the optimiser's
        # own cost per run, objective replayed, from 3.7 to 1.5 ms with the
        # triangular solves below; same iterates and result).
        f_1 = phi(1.0)
        if f_1 <= f + 1e-3 * derphi0 and abs(derphi(1.0)) <= -0.9 * derphi0:
            alpha, f_new = 1.0, f_1
        else:
            # Failures are handled below. Trial points far out may overflow:
            # numpy's floating-point warnings are silenced in this context
            # only (np.errstate is thread-local; warnings.catch_warnings
            # swaps the process-wide filters, which two threads fitting at
            # once can leave changed for good).
            with np.errstate(all="ignore"):
                alpha, f_new = _line_search(phi, derphi, f, derphi0, maxls)
        if alpha is None or not np.isfinite(f_new):
            if len(hist):  # retry from steepest descent, as L-BFGS-B does
                hist.reset()
                continue
            message = (
                "line search failed to find a step satisfying the Wolfe conditions"
            )
            break
        c = evaluate(alpha)
        x_new, g_new = c["x"], c["g"]
        c.pop("x0")
        it += 1
        g_old = g
        spare = x  # the old iterate's buffer takes the next trials
        x, g, f_old, f = x_new, g_new, f, f_new
        gmax = max_abs(g)
        stop = callback is not None and callback(it, x, f, g, gmax)
        if gmax <= gtol:
            return x, f, g, it, True, "max|grad| <= tol"
        if f_old - f <= ftol * max(abs(f_old), abs(f), 1.0):
            message = "relative reduction of f <= ftol"
            break
        if stop:
            message = "stopped by a callback"
            break
        hist.push(d, alpha, g, g_old)
        del g_old, cache, c, evaluate, phi, derphi
    return x, f, g, it, bool(gmax <= gtol), message
