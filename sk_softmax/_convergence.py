"""The texts of a fit that fell short: the ``ConvergenceWarning`` of
:meth:`SoftmaxRegression.fit` and the error of a run that diverged."""

import numpy as np

# The smallest tol float32 data reach, by solver. Measured on standardised
# float32 data: "lbfgs" reaches tol=1e-5 and not 1e-6 on iris, wine, digits,
# breast_cancer and a 20000 x 50 make_classification (its line search and
# ftol test see float32 rounding in the objective first); "gd" reaches 1e-8 on
# iris and digits but not 1e-9 on iris (float64 data: 301 iterations);
# "newton-cholesky" reaches 1e-5 and not 1e-6 on iris (its gradient stops
# improving at 1.9e-6; 1e-8 on wine and breast_cancer); "newton-cg" reaches
# 1e-7 on all four (standardised, float32).
FLOAT32_MIN_TOL = {
    "lbfgs": 1e-5,
    "newton-cholesky": 1e-5,
    "newton-cg": 1e-6,
    "gd": 1e-8,
}


def convergence_message(
    solver,
    *,
    dtype,
    tol,
    max_iter,
    result,
    momentum=0.0,
    learning_rate=None,
    validation_score=None,
    measure="max|gradient|",
):
    """What a fit that did not converge reached, and advice that fits the case.

    Parameters
    ----------
    solver : {"lbfgs", "gd", "sgd"}
        The solver that ran.
    dtype : numpy dtype
        dtype of the training data.
    tol : float
        The estimator's ``tol``.
    max_iter : int
        The iteration (``"sgd"``: epoch) budget of the run.
    result : SolverResult
        The run's outcome (``n_iter``, ``fun``, ``grad_max``, ``loss_curve``,
        ``message``, ``stopped_by_callback``).
    momentum : float, default=0.0
        The estimator's ``momentum`` (``"gd"`` suggests it when 0).
    learning_rate : str, float or None, default=None
        The estimator's ``learning_rate``: a number is the step to lower,
        otherwise ``learning_rate_init`` sets it.
    validation_score : float or None, default=None
        ``"sgd"`` with ``early_stopping``: the best validation score.
    measure : str, default="max|gradient|"
        The name of the optimality measure in ``result.grad_max``
        (``"max|subgradient|"``, the minimum-norm subgradient, with an L1
        penalty).

    Returns
    -------
    message : str
        ``"SoftmaxRegression(solver=...) did not converge: <what it reached>.
        <advice>."``. The advice is only what can help this run: the step size
        for the solvers that take one and when the objective went up, float64
        data for float32 data at a ``tol`` float32 gradients cannot resolve,
        ``max_iter`` when the run used it up; none after a callback's stop.
    """
    if solver == "sgd":
        if validation_score is not None:
            reached = f"best validation accuracy = {validation_score:.4g}"
        else:
            reached = f"loss = {result.fun:.6g} (mean of the last epoch)"
        detail = f"{reached} after {result.n_iter} epochs ({result.message})"
    else:
        detail = (
            f"{measure} = {result.grad_max:.3g} > tol = {tol:g} "
            f"after {result.n_iter} iterations ({result.message})"
        )
    head = f"SoftmaxRegression(solver={solver!r}) did not converge: {detail}."
    if result.stopped_by_callback or result.message == "stopped by a callback":
        return head

    curve = result.loss_curve
    went_up = "diverged" in result.message or (
        len(curve) > 1 and not curve[-1] < curve[0]
    )
    used_up = result.n_iter >= max_iter
    if solver != "lbfgs" and went_up:
        # The step is too large: more iterations or a larger tol do not help.
        if isinstance(learning_rate, str):
            advice = ["lower learning_rate_init"]
        elif learning_rate is not None:
            advice = [f"lower learning_rate (it was {learning_rate:g})"]
        else:
            advice = ["lower learning_rate_init (or learning_rate if a number)"]
    else:
        advice = []
        if used_up:
            advice.append(f"increase max_iter (it was {max_iter})")
            if solver == "gd" and momentum == 0:
                advice.append("set momentum (e.g. 0.9)")
            if solver == "sgd":
                advice.append(
                    "stop sooner with a larger tol or a smaller n_iter_no_change"
                )
        advice.append("scale the data (e.g. StandardScaler)")
        if solver != "sgd":  # for "sgd", tol is no gradient threshold
            min_tol = FLOAT32_MIN_TOL[solver]
            if np.dtype(dtype) == np.float32 and tol < min_tol:
                advice.append(
                    f"use float64 data or tol >= {min_tol:g} (float32 "
                    "gradients cannot resolve a smaller tol)"
                )
            elif not used_up:  # stopped by rounding before tol
                advice.append("use a larger tol")
        if solver == "gd":
            advice.append("use solver='lbfgs'")
    if len(advice) > 1:
        advice[-1] = "or " + advice[-1]
    text = (", " if len(advice) > 2 else " ").join(advice)
    return f"{head} {text[0].upper()}{text[1:]}."


def diverged_message(params, detail, method="fit", finite=False):
    """The error for a solver run whose parameters became non-finite.

    Raised rather than warned (as ``SGDClassifier`` and ``MLPClassifier``
    do): the last finite iterate of a diverging run is no model either.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``solver``, ``learning_rate``,
        ``learning_rate_init``).
    detail : str
        The solver's message.
    method : {"fit", "partial_fit"}, default="fit"
        The method that ran.
    finite : bool, default=False
        Whether the diverged parameters are still finite (``"sgd"``'s loss
        test, see :func:`sk_softmax._solvers.sgd`).

    Returns
    -------
    message : str
    """
    if not isinstance(params["learning_rate"], str):
        advice = (
            "Lower learning_rate, or use learning_rate='auto' with "
            "learning_rate_init='auto' (a 1 / L step from the data)."
        )
    elif params["learning_rate_init"] != "auto":
        advice = (
            "Lower learning_rate_init, or use learning_rate_init='auto' "
            "(a 1 / L step from the data)."
        )
    else:
        advice = (
            "Scale the data (e.g. StandardScaler), or set a lower learning_rate_init."
        )
    where = (
        "SoftmaxRegression.partial_fit"  # always SGD, whatever the solver
        if method == "partial_fit"
        else f"SoftmaxRegression(solver={params['solver']!r}).fit"
    )
    found = "diverged" if finite else "found no finite model"
    return f"{where} {found}: {detail}. {advice}"
