"""A compact L-BFGS in numpy, for problems with millions of parameters.

scipy's L-BFGS-B spends, per iteration, several passes over its history
(``2 m p`` numbers for ``p`` parameters) in its own single-threaded code, plus
the bound-handling machinery we do not need. Measured on a 2-core machine with
``p = 4e6`` and ``m = 10``: ~300 ms per iteration outside the objective and
~1.2 GB of memory. This implementation keeps the history in two preallocated
``(m, p)`` arrays and computes the L-BFGS direction with the compact
representation of Byrd, Nocedal & Schnabel (1994), kept by
:class:`~sk_softmax._solvers._history.CompactHistory`::

    H g = gamma g + [S  Y] [coef_S; coef_Y],     (S, Y: the m last pairs)
    t      = R^{-1} S^T g                        R = triu(S^T Y) (m x m)
    coef_S = R^{-T} ((D + gamma Y^T Y) t - gamma Y^T g),   D = diag(S^T Y)
    coef_Y = -gamma t

which needs two matrix-vector products with the ``(2m, p)`` history (one
for ``[S; Y] g``, which also updates the small matrices, one for the
combination), in numpy's multithreaded BLAS, instead of the ``4 m``
dependent vector operations of the two-loop recursion (measured: ~60 ms vs
~120 ms for the two-loop at ``p = 4e6``, ``m = 10``). The history can be
stored in float32 (``history_dtype``; :func:`lbfgs` does so), which
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

from .._vector import dot, max_abs
from ._history import BLAS_PRODUCTS, EPS, CompactHistory
from ._line_search import dcsrch
from ._result import SolverResult, report_iteration

__all__ = [
    "FLOAT32_HISTORY_MIN_PARAMS",
    "LONG_HISTORY_MAX_PARAMS",
    "lbfgs",
    "minimize_lbfgs",
]


def _line_search(phi, derphi, phi0, derphi0, maxls):
    """Step from 1 by MINPACK-2's ``dcsrch`` with L-BFGS-B's settings.

    ``ftol=1e-3`` (sufficient decrease), ``gtol=0.9`` (curvature),
    ``xtol=0.1``, ``stpmin=0``, ``stpmax=1e10``: the line search of
    L-BFGS-B, so that both L-BFGS implementations take the same steps
    (measured on 50000 x 256, K=200: 19 evaluations for 15 iterations with
    either; scipy's ``scalar_search_wolfe2`` needed 23 for 16, doubling its
    way out of the short first step ``1 / ||g||``). The search is the
    package's own (:mod:`sk_softmax._solvers._line_search`), not scipy's private
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
    history_size=10,
    ftol=None,
    maxls=50,
    callback=None,
    history_dtype=np.float64,
    overwrite_x0=False,
    products=BLAS_PRODUCTS,
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
    history_size : int, default=10
        Number of correction pairs kept (``m``, ``maxcor`` of L-BFGS-B).
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
    products : MatrixProducts, default=BLAS_PRODUCTS
        The products with the history (the caller's execution plan):
        ``LOOP_PRODUCTS`` wakes no BLAS thread pool (dot products never use
        BLAS), for objectives that run their own threads on all cores (see
        :mod:`sk_softmax._solvers._history`). Same iterates up to rounding.

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
        ftol = 64 * EPS
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
    hist = CompactHistory(history_size, p, history_dtype, products)
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
            hist.forget_gradient_products()
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
        hist.push_step(d, alpha, g, g_old)
        del g_old, cache, c, evaluate, phi, derphi
    return x, f, g, it, bool(gmax <= gtol), message


# ``lbfgs`` runs the numpy L-BFGS of ``_lbfgs.py`` at every size: the
# L-BFGS update, line search (MINPACK-2's ``dcsrch``) and stopping tests of
# scipy's L-BFGS-B, without its bound handling. Measured per iteration outside
# the objective on 2 cores (scipy vs numpy): 1.8 vs 0.5 ms at 1e4 parameters,
# 8 vs 3 ms at 1e5, 104 vs 61 ms at 1e6, 590 vs 370 ms at 4e6 (peak memory
# 1190 vs 885 MiB). On small data the whole fit is faster too: standardised
# digits (650 parameters), one thread, medians of 40 interleaved fits, 8.44
# vs 9.23 ms (iris: 1.22 vs 1.40 ms), with the same iteration counts.
# From this many parameters on, the history is stored in float32 (half the
# dominant memory, ``2 m p`` numbers; float64 arithmetic throughout).
FLOAT32_HISTORY_MIN_PARAMS = 250_000

# Correction pairs kept by ``lbfgs``: 20 up to this many parameters, where
# the history (``2 m p`` float64 numbers) takes at most 5 MiB, else 10 (the
# default of L-BFGS-B and ``LogisticRegression``). Evaluations to tol=1e-4
# from zero over 15 problems (iris, wine, breast_cancer, digits standardised,
# raw and at C=0.1 and 10, six make_classification sets, a 4000 x 2000 CSR at
# C=1 and 10; p = 15 to 10005): 780 in all with 10 pairs, 711 with 20, fewer
# on 9 problems, one more on one (digits: 35 vs 29). The objective stops in
# the same band around the optimum (digits: 8.4e-4 vs 1.1e-3 above it
# relatively; breast_cancer: 4.3e-5 vs 9.8e-5): tol's resolution.
LONG_HISTORY_MAX_PARAMS = 16384


def lbfgs(
    fun,
    w0,
    *,
    tol,
    max_iter,
    verbose=0,
    callback=None,
    overwrite_w0=False,
    products=BLAS_PRODUCTS,
):
    """Minimise with L-BFGS, with ``LogisticRegression``'s options and stopping rule.

    The numpy L-BFGS of :func:`minimize_lbfgs`, with the
    settings ``LogisticRegression(solver="lbfgs")`` gives scipy's L-BFGS-B:
    ``gtol=tol`` (stop when ``max |g| <= tol``), a relative decrease of the
    objective below ``64 * eps`` stops it, ``maxls=50``, and L-BFGS-B's strong
    Wolfe line search; 10 correction pairs, or 20 up to
    ``LONG_HISTORY_MAX_PARAMS`` parameters (fewer iterations, see there), at
    a fraction of L-BFGS-B's per-iteration time and memory (numbers next to
    ``FLOAT32_HISTORY_MIN_PARAMS``). The history is float32 from
    ``FLOAT32_HISTORY_MIN_PARAMS`` parameters on. No BLAS thread setting is
    changed (see :mod:`sk_softmax._threadpool`).

    Parameters
    ----------
    fun : callable
        ``fun(w) -> (loss, grad)``.
    w0 : ndarray of shape (n_params,)
        Starting point.
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
        Maximum number of iterations.
    verbose : int, default=0
        Print one line per iteration when > 0.
    callback : callable or None, default=None
        ``callback(w, loss, grad_max) -> bool`` after each iteration; a true
        return value stops the solver. ``w`` is only valid during the call.
    overwrite_w0 : bool, default=False
        Allow the solver to use ``w0`` as a work vector (one parameter vector
        less in memory); ``w0``'s content is then undefined.
    products : MatrixProducts, default=BLAS_PRODUCTS
        The products with the history, from the caller's execution plan:
        ``LOOP_PRODUCTS`` for objectives that run their own threads on all
        cores makes no BLAS call (an OpenBLAS pool spins on its cores after
        each threaded call: with scipy's L-BFGS-B, 110 ms instead of 75 ms
        per evaluation measured on 50000 x 256, K=200, float32, 2 cores).

    Returns
    -------
    result : SolverResult
    """
    curve = []
    w0 = np.asarray(w0, dtype=np.float64)

    def report(it, x, f, g, gmax):
        curve.append(float(f))
        report_iteration(verbose, it, f, gmax)
        return callback is not None and callback(x, float(f), gmax)

    x, f, g, n_iter, converged, message = minimize_lbfgs(
        fun,
        w0,
        gtol=tol,
        max_iter=max_iter,
        history_size=20 if w0.size <= LONG_HISTORY_MAX_PARAMS else 10,
        maxls=50,
        callback=report,
        # float32 pairs halve the dominant memory where it matters
        history_dtype=(
            np.float32 if w0.size >= FLOAT32_HISTORY_MIN_PARAMS else np.float64
        ),
        overwrite_x0=overwrite_w0,
        products=products,
    )
    return SolverResult(
        x=x,
        fun=float(f),
        grad_max=max_abs(g),
        n_iter=int(n_iter),
        loss_curve=curve,
        converged=bool(converged),
        message=message,
        stopped_by_callback=message == "stopped by a callback",
    )
