"""``LogisticRegression``'s constructor arguments, for parameter-grid parity.

:class:`~sk_softmax.SoftmaxRegression` and
:class:`~sk_softmax.SoftmaxRegressionCV` accept every argument of
scikit-learn 1.9's ``LogisticRegression`` / ``LogisticRegressionCV``, so
that a grid or a ``get_params()`` dictionary written for those transfers as
is. Each argument is either honoured with ``LogisticRegression``'s meaning
or rejected, at ``fit``, with a ``ValueError`` that says why:

- ``penalty``: deprecated in scikit-learn 1.8 in favour of ``l1_ratio`` and
  ``C``; mapped to them exactly as ``LogisticRegression.fit`` 1.9.1 does,
  with its ``FutureWarning`` and its warnings about inconsistent values
  (:func:`resolve_penalty`);
- ``dual=True``: liblinear's dual formulation; rejected (the solvers here
  work on the primal problem, the only one with a multinomial form);
- ``intercept_scaling``: only read by liblinear (whose intercept is a
  penalised synthetic feature); accepted, no effect: the intercept here is
  never penalised, as with every other ``LogisticRegression`` solver;
- ``n_jobs``: has no effect in ``LogisticRegression`` since 1.8; accepted, no
  effect (the kernel's threads follow numpy's BLAS thread limit, see
  :mod:`sk_softmax._threadpool`);
- ``solver`` names that only ``LogisticRegression`` has (``"liblinear"``,
  ``"sag"``, ``"saga"``; ``"newton-cg"`` is a solver here too): rejected
  with the reason and the solver to use instead (:func:`check_solver`).
"""

import warnings
from numbers import Integral, Real

import numpy as np

from ._sklearn_compat import Hidden, Interval, StrOptions

__all__ = [
    "LR_ONLY_SOLVERS",
    "LR_PARAMETER_CONSTRAINTS",
    "check_dual",
    "check_solver",
    "lr_penalty",
    "resolve_penalty",
]

# Why each LogisticRegression-only solver is not offered, and what to use.
_SAME_MODEL = (
    "every solver here minimises the same objective, so solver='auto' (or "
    "'lbfgs', 'newton-cg', 'newton-cholesky') fits the model it would fit, to tol"
)
LR_ONLY_SOLVERS = {
    "liblinear": (
        "LIBLINEAR fits binary and one-vs-rest models only and penalises the "
        "intercept (intercept_scaling); SoftmaxRegression fits the "
        f"multinomial model with an unpenalised intercept: {_SAME_MODEL}"
    ),
    "sag": (
        "stochastic average gradient is not implemented; "
        f"{_SAME_MODEL}, and 'sgd' trains by mini-batch SGD"
    ),
    "saga": (
        f"SAGA is not implemented; {_SAME_MODEL}, and 'sgd' trains by mini-batch SGD"
    ),
}

# LogisticRegression 1.9.1's constraints for the arguments added here.
LR_PARAMETER_CONSTRAINTS = {
    "penalty": [
        StrOptions({"l1", "l2", "elasticnet"}),
        None,
        Hidden(StrOptions({"deprecated"})),
    ],
    "dual": ["boolean"],
    "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
    "n_jobs": [None, Integral],
}


def check_solver(solver):
    """Reject a solver name that only ``LogisticRegression`` has.

    Parameters
    ----------
    solver : str
        The estimator's ``solver``.

    Raises
    ------
    ValueError
        For ``"liblinear"``, ``"sag"`` and ``"saga"``, with
        the reason and the solver to use instead.
    """
    if solver in LR_ONLY_SOLVERS:
        raise ValueError(
            f"solver={solver!r} is a LogisticRegression solver that "
            f"SoftmaxRegression does not have: {LR_ONLY_SOLVERS[solver]}."
        )


def check_dual(dual):
    """Reject ``dual=True``: only liblinear has the dual formulation.

    Parameters
    ----------
    dual : bool
        The estimator's ``dual``.

    Raises
    ------
    ValueError
        If ``dual`` is true.
    """
    if dual:
        raise ValueError(
            "dual=True is not supported: the dual formulation exists only for "
            "binary L2 problems with LogisticRegression's 'liblinear' solver. "
            "SoftmaxRegression solves the primal (multinomial) problem; use "
            "dual=False (the optimum, hence the model, is the same)."
        )


def resolve_penalty(penalty, C, l1_ratio):
    """``(C, l1_ratio)`` that ``penalty``, ``C`` and ``l1_ratio`` mean.

    ``LogisticRegression.fit`` 1.9.1's mapping and warnings: with the default
    ``penalty="deprecated"``, ``l1_ratio`` and ``C`` say everything
    (``l1_ratio=None``, deprecated, means 0 with a ``FutureWarning``). An
    explicit ``penalty`` gives a ``FutureWarning`` and overrides
    ``l1_ratio``: ``"l2"`` means 0, ``"l1"`` means 1, ``"elasticnet"`` keeps
    ``l1_ratio`` (which must then be given), ``None`` means ``C=np.inf``
    (with a ``UserWarning`` if ``C`` is not its default 1.0). ``l1_ratio``
    values that the penalty ignores give ``LogisticRegression``'s
    ``UserWarning``.

    Parameters
    ----------
    penalty : {"deprecated", "l1", "l2", "elasticnet"} or None
        The estimator's ``penalty``.
    C : float
        The estimator's ``C``.
    l1_ratio : float or None
        The estimator's ``l1_ratio`` (0.0 for an estimator without one).

    Returns
    -------
    C : float
        ``np.inf`` for ``penalty=None``, else ``C``.
    l1_ratio : float
        The effective mixing parameter in [0, 1].

    Raises
    ------
    ValueError
        ``penalty="elasticnet"`` with ``l1_ratio=None``.
    """
    if penalty == "deprecated":
        if l1_ratio is None:
            warnings.warn(
                "'l1_ratio=None' was deprecated in version 1.8 and will "
                "trigger an error in 1.10. Use 0<=l1_ratio<=1 instead.",
                FutureWarning,
            )
            l1_ratio = 0.0
        return float(C), float(l1_ratio)
    warnings.warn(
        "'penalty' was deprecated in version 1.8 and will be removed in"
        " 1.10. To avoid this warning, leave 'penalty' set to its default"
        " value and use 'l1_ratio' or 'C' instead."
        " Use l1_ratio=0 instead of penalty='l2',"
        " l1_ratio=1 instead of penalty='l1',"
        " l1_ratio set to a float between 0 and 1 instead of"
        " penalty='elasticnet', and C=np.inf instead of penalty=None.",
        FutureWarning,
    )
    if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn(
            "l1_ratio parameter is only used when penalty is 'elasticnet'. "
            f"Got (penalty={penalty})",
        )
    if (penalty == "l2" and l1_ratio != 0) or (penalty == "l1" and l1_ratio != 1):
        warnings.warn(
            f"Inconsistent values: penalty={penalty} with l1_ratio={l1_ratio}. "
            "penalty is deprecated. Please use l1_ratio only.",
        )
    if penalty == "elasticnet":
        if l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        return float(C), float(l1_ratio)
    if penalty is None:
        if C != 1.0:
            warnings.warn(
                "Setting penalty=None will ignore the C and l1_ratio parameters",
            )
        return np.inf, 0.0
    return float(C), 1.0 if penalty == "l1" else 0.0


def lr_penalty(estimator):
    """Check the ``LogisticRegression``-only arguments; the effective penalty.

    Run at the start of ``fit`` (and ``partial_fit``): ``solver`` and ``dual``
    are checked (:func:`check_solver`, :func:`check_dual`), then ``penalty``
    is mapped with ``C`` and ``l1_ratio`` (:func:`resolve_penalty`).

    Parameters
    ----------
    estimator : SoftmaxRegression
        The estimator (its ``solver``, ``dual``, ``penalty``, ``C`` and, if
        it has one, ``l1_ratio``).

    Returns
    -------
    C : float
        The effective ``C`` (``np.inf`` for ``penalty=None``).
    l1_ratio : float
        The effective mixing parameter.
    """
    check_solver(estimator.solver)
    check_dual(estimator.dual)
    return resolve_penalty(
        estimator.penalty, estimator.C, getattr(estimator, "l1_ratio", 0.0)
    )
