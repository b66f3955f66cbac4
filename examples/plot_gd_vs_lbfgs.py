"""
Gradient descent vs L-BFGS, and the learning rate
=================================================

:class:`~sk_softmax.SoftmaxRegression` has several solvers for the same
convex objective; this example compares two: scipy's L-BFGS
(``solver="lbfgs"``, what the default runs on data of this size) and batch
gradient descent (``solver="gd"``). Both record the objective they reach at every
iteration in ``loss_curve_``, which makes the optimisation itself easy to look
at.

This example plots

1. the objective per iteration of L-BFGS, plain gradient descent and gradient
   descent with Nesterov momentum, on a log scale;
2. the effect of the learning rate of gradient descent on *unscaled* data: the
   safe ``learning_rate="auto"`` step versus fixed steps, one of which diverges.

The objective in ``loss_curve_`` is mean-scaled: the ``LogisticRegression``
objective divided by the sum of the sample weights (here, the number of
samples). See :ref:`user-guide-solvers` for how the solvers work.
"""

# %%
# L-BFGS and gradient descent on standardised digits
# --------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X_raw, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X_raw)

# All three stop at the default ``tol=1e-4`` (on the largest gradient entry);
# plain gradient descent is capped at 3000 iterations.
fits = {
    "L-BFGS": SoftmaxRegression(solver="lbfgs"),
    "GD + Nesterov momentum 0.9": SoftmaxRegression(solver="gd"),
    "plain GD (momentum=0)": SoftmaxRegression(
        solver="gd", momentum=0.0, max_iter=3000
    ),
}
with warnings.catch_warnings():
    # Plain gradient descent does not reach tol in 3000 iterations (it needs
    # about 13 000 here): that is the point of the comparison, so its
    # ConvergenceWarning is silenced.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for model in fits.values():
        model.fit(X, y)

# A tight L-BFGS fit gives the reference minimum of the objective.
f_min = SoftmaxRegression(tol=1e-7).fit(X, y).loss_curve_[-1]
for name, model in fits.items():
    print(
        f"{name:28s} n_iter_={model.n_iter_:5d}  "
        f"final objective - min = {model.loss_curve_[-1] - f_min:.1e}"
    )
step = fits["plain GD (momentum=0)"].learning_rate_
print(f"learning_rate_ ('auto' = 1/L): {step:.3f}")

# %%
# L-BFGS uses curvature information and needs a few tens of iterations.
# Gradient descent with the ``1/L`` step decreases the objective at every step
# but slowly on this ill-conditioned problem; momentum accelerates it by an
# order of magnitude (the bumps are the adaptive restarts, which reset the
# momentum when it points uphill). As for L-BFGS, each entry of
# ``loss_curve_`` is the objective after an iteration (one update).
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, model in fits.items():
    curve = np.asarray(model.loss_curve_) - f_min
    ax.plot(np.arange(1, len(curve) + 1), np.maximum(curve, 1e-12), label=name)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("objective - minimum")
ax.set_title("Convergence on standardised digits (C=1, tol=1e-4)")
ax.legend()
fig.tight_layout()

# %%
# The learning rate on unscaled data
# ----------------------------------
# Without scaling, the digits features range over 0..16, and the curvature of
# the objective is large. ``learning_rate="auto"`` computes ``L``, an upper
# bound of the Lipschitz constant of the gradient, from the data
# (``L = lambda_max(X~^T diag(s) X~) / 2 + 1/(C S)``, see
# :ref:`math-learning-rate`) and uses the step ``1/L``, which provably
# decreases the objective at every plain gradient step. The step it used is
# stored in ``learning_rate_``.
#
# A fixed step is a gamble: a larger one can be faster (``L`` is a worst-case
# bound), but nothing protects it. Here ``momentum=0`` so that only the step
# size matters.
auto = SoftmaxRegression(solver="gd", momentum=0.0, max_iter=200)
steps = {"auto": auto}
for eta in [0.01, 1.0, 100.0]:
    steps[f"fixed {eta:g}"] = SoftmaxRegression(
        solver="gd", learning_rate=eta, momentum=0.0, max_iter=200
    )
for model in steps.values():
    with warnings.catch_warnings():
        # None of these reach tol in 200 iterations; their warnings are expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_raw, y)
step_auto = auto.learning_rate_
print(f"'auto' step 1/L = {step_auto:.2e}  (so 2/L = {2 * step_auto:.2e})")
for name, model in steps.items():
    curve = model.loss_curve_
    ratio = model.learning_rate_ / step_auto
    print(
        f"{name:11s} step = {model.learning_rate_:8.2e} = {ratio:8.3g}/L   "
        f"objective: start {curve[0]:.3f}, max {max(curve):9.3g}, "
        f"last {curve[-1]:9.3g}"
    )

# %%
# The first objective is ``log(10) = 2.303`` (all weights zero: uniform
# probabilities over 10 classes). The ``auto`` step decreases the objective at
# every iteration. The fixed step 0.01 (13 times ``1/L``) happens to be faster
# here; 1.0 overshoots, jumping far above the starting value before settling
# down; 100 never settles: the objective grows to thousands of times its
# starting value and oscillates there.
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, model in steps.items():
    curve = model.loss_curve_
    ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
ax.axhline(np.log(10), color="k", ls=":", lw=1, label="start: log(10)")
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("objective (loss_curve_)")
ax.set_title("Gradient descent on unscaled digits: the step size")
ax.legend()
fig.tight_layout()

# %%
# A step that diverges
# --------------------
# The cross-entropy's gradient is bounded, but the penalty's is not: once the
# step exceeds ``2 C S`` (``S`` the sum of sample weights) the penalty alone
# makes the weights grow geometrically, and the objective overflows. Gradient
# descent then stops, keeps the last finite point, and says so in a
# :class:`~sklearn.exceptions.ConvergenceWarning`, which we record here to
# print it.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    diverged = SoftmaxRegression(
        solver="gd", learning_rate=1e4, momentum=0.0, max_iter=500
    ).fit(X_raw, y)
print(caught[0].message)
print(
    f"n_iter_ = {diverged.n_iter_}, "
    f"last finite objective = {diverged.loss_curve_[-1]:.2e}"
)

# %%
# The objective reaches 1e304 before it overflows, so we plot its base-10
# logarithm on a linear axis.
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(np.log10(diverged.loss_curve_), color="C3", label="fixed step 1e4 (diverges)")
ax.plot(np.log10(auto.loss_curve_), color="C0", label="auto (1/L)")
ax.set_xlabel("iteration")
ax.set_ylabel("log10(objective)")
ax.set_title("A diverging fixed step vs the safe 'auto' step")
ax.legend()
fig.tight_layout()
plt.show()
