"""The typed outcome every solver returns, and the constants they share."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FTOL", "TINY", "SolverResult", "penalised_result", "report_iteration"]

# LogisticRegression's ftol for L-BFGS-B: an iteration that lowers the
# objective by less than this, relatively, stops it. The Newton loop treats
# changes of f below it as unresolved.
FTOL = 64 * np.finfo(np.float64).eps
TINY = float(np.finfo(np.float64).tiny)


@dataclass
class SolverResult:
    """Outcome of a solver run.

    Attributes
    ----------
    x : ndarray
        Final parameters.
    fun : float
        Objective at ``x``.
    grad_max : float
        The solver's stopping measure at ``x``: ``max |grad|`` for the smooth
        solvers, the largest entry of the minimum-norm subgradient for the
        solvers of an L1 part (NaN for SGD, which computes no full gradient).
    n_iter : int
        Iterations run.
    loss_curve : list of float
        Objective after each iteration.
    converged : bool
        Whether ``grad_max <= tol``.
    message : str
        Why the solver stopped.
    stopped_by_callback : bool
        Whether a callback asked the solver to stop.
    diverged : bool
        Whether the run diverged (``"sgd"``: see
        :func:`sk_softmax._solvers.sgd`); ``x`` is then no model.
    """

    x: np.ndarray
    fun: float
    grad_max: float
    n_iter: int
    loss_curve: list = field(default_factory=list)
    converged: bool = False
    message: str = ""
    stopped_by_callback: bool = False
    diverged: bool = False


def report_iteration(verbose, it, f, measure):
    """Print one iteration's line when ``verbose > 0``.

    Parameters
    ----------
    verbose : int
        The estimator's ``verbose``.
    it : int
        Iteration number.
    f : float
        Objective.
    measure : float
        The stopping measure (``max|grad|``).
    """
    if verbose > 0:
        print(f"Iteration {it:5d}, objective = {f:.10g}, max|grad| = {measure:.3e}")


def penalised_result(
    x, f, h, measure, n_iter, curve, converged, message, stopped=False
):
    """The :class:`SolverResult` of a solver of ``F = f + h`` (an L1 part).

    Parameters
    ----------
    x : ndarray
        Final parameters.
    f, h : float
        Smooth part and L1 part of the objective at ``x``.
    measure : float
        Largest entry of the minimum-norm subgradient at ``x``.
    n_iter : int
        Iterations run.
    curve : list of float
        ``F`` after each iteration.
    converged : bool
        Whether ``measure <= tol``.
    message : str
        Why the solver stopped.
    stopped : bool, default=False
        Whether a callback stopped it.

    Returns
    -------
    result : SolverResult
    """
    return SolverResult(
        x=x,
        fun=float(f + h),
        grad_max=float(measure),
        n_iter=int(n_iter),
        loss_curve=curve,
        converged=bool(converged),
        message=message,
        stopped_by_callback=stopped,
    )
