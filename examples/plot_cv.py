"""
Choosing C and l1_ratio by cross-validation
===========================================

:class:`~sk_softmax.SoftmaxRegressionCV` is the counterpart of scikit-learn's
:class:`~sklearn.linear_model.LogisticRegressionCV`: for each fold it fits the
models of all ``Cs`` (and ``l1_ratios``) on the training part, from the
strongest penalty down, each fit starting from the previous one, scores them on
the held-out part, and refits the best pair on all the data.

Here we cross-validate ``C`` and the elastic-net mixing parameter ``l1_ratio``
on the standardised wine data, plot the held-out log loss of each pair, and
check the choice against ``LogisticRegressionCV`` on the L2 grid.
"""

# %%
# The search
# ----------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegressionCV

X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
cv = StratifiedKFold(5, shuffle=True, random_state=0)
Cs = np.logspace(-2, 2, 9)
l1_ratios = [0.0, 0.5, 1.0]

# use_legacy_attributes=False: arrays indexed (fold, l1_ratio, C) and a float
# C_ (LogisticRegressionCV's layout from scikit-learn 1.10; its default and
# this one's is still the dict layout, with a FutureWarning).
clf = SoftmaxRegressionCV(
    Cs=Cs,
    l1_ratios=l1_ratios,
    cv=cv,
    scoring="neg_log_loss",
    use_legacy_attributes=False,
).fit(X, y)
print(f"chosen C = {clf.C_:.3g}, l1_ratio = {clf.l1_ratio_}")
print(
    f"zero weights in the final model: {int((clf.coef_ == 0).sum())} of "
    f"{clf.coef_.size}"
)

# %%
# Held-out log loss of every (C, l1_ratio)
# ----------------------------------------
# ``scores_`` has shape ``(n_folds, n_l1_ratios, n_cs)``; the choice maximises
# its sum over the folds. The L1 penalty needs a larger ``C`` than the L2
# penalty for the same fit quality: at small ``C`` it sets every weight to 0.
mean_loss = -clf.scores_.mean(axis=0)
fig, ax = plt.subplots(figsize=(6, 4))
for r, loss in zip(l1_ratios, mean_loss, strict=True):
    ax.semilogx(Cs, loss, marker="o", label=f"l1_ratio = {r}")
ax.axvline(clf.C_, color="k", linestyle=":", label="chosen C")
ax.set_xlabel("C")
ax.set_ylabel("held-out log loss (mean over folds)")
ax.legend()
fig.tight_layout()

# %%
# The path of one fold
# --------------------
# ``coefs_paths_`` holds every model of the search, ``[W, b]`` per class.
# Along the L1 path of the first fold, the number of non-zero weights grows
# with ``C``; the iterations per fit (``n_iter_``) stay small thanks to the
# warm starts.
nonzero = (clf.coefs_paths_[0, 2, :, :, :-1] != 0).sum(axis=(1, 2))
fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogx(Cs, nonzero, marker="o", label="non-zero weights (l1_ratio = 1)")
ax.semilogx(Cs, clf.n_iter_[0, 2], marker="s", label="iterations (warm start)")
ax.set_xlabel("C")
ax.legend()
fig.tight_layout()

# %%
# The same choice as LogisticRegressionCV
# ---------------------------------------
# On the L2 grid (``l1_ratios=(0,)``) the objective and the folds are
# ``LogisticRegressionCV``'s, and so is the chosen ``C``. The scores agree to
# the solvers' tolerance: both stop at ``max|gradient| <= tol = 1e-4``, which
# leaves the weakest penalties' models (large weights) furthest apart; at
# ``tol=1e-8`` the scores agree to about ``1e-5`` (see the tests).
common = dict(
    Cs=Cs, cv=cv, scoring="neg_log_loss", l1_ratios=(0,), use_legacy_attributes=False
)
t0 = time.perf_counter()
ours = SoftmaxRegressionCV(**common).fit(X, y)
t_ours = time.perf_counter() - t0
t0 = time.perf_counter()
lrcv = LogisticRegressionCV(**common).fit(X, y)
t_lrcv = time.perf_counter() - t0
print(f"SoftmaxRegressionCV:  C = {ours.C_:.3g} ({t_ours:.2f} s)")
print(f"LogisticRegressionCV: C = {lrcv.C_:.3g} ({t_lrcv:.2f} s)")
print(f"largest score difference: {np.abs(ours.scores_ - lrcv.scores_).max():.1e}")
