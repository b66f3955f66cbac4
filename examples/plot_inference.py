"""
Standard errors, p-values and marginal effects
==============================================

:meth:`~sk_softmax.SoftmaxRegression.inference` gives a fitted model the
statistics of statsmodels' ``MNLogit``: standard errors, z statistics,
p-values and confidence intervals of the coefficients, fit statistics,
robust and clustered covariances, marginal effects and tests.

This example explains the three cultivars of the wine data by four
standardised measurements. The coefficients are contrasts with a reference
class (here cultivar 0): ``params[t, j]`` is how much a unit of feature ``t``
raises the log-odds of class ``j`` against class 0. The standard errors are
those of maximum likelihood, so the model is fitted without penalty
(``C=np.inf``) and to a tight tolerance.
"""

# %%
# Fit, then the summary table
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine

from sk_softmax import SoftmaxRegression

data = load_wine(as_frame=True)
features = ["alcohol", "malic_acid", "ash", "hue"]
X = data.data[features]
X = (X - X.mean()) / X.std()  # a DataFrame: the terms keep their names
y = data.target.rename("cultivar")

clf = SoftmaxRegression(C=np.inf, tol=1e-8).fit(X, y)
res = clf.inference(X, y)
print(res.summary())

# %%
# The same coefficients as a tidy DataFrame, for filtering and plotting
# (``to_frame`` is the only part that needs pandas):
frame = res.to_frame()
print(frame[frame["p_value"] < 0.01].round(3).to_string(index=False))

# %%
# Coefficient plot with 95% confidence intervals
# ----------------------------------------------
# One panel per non-reference class; an interval that crosses zero is a
# coefficient not distinguishable from zero at the 5% level.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
terms = [t for t in res.term_names if t != "const"]
pos = np.arange(len(terms))
for ax, name in zip(axes, res.class_names, strict=True):
    part = frame[(frame["class"] == name) & (frame["term"] != "const")]
    ax.errorbar(
        part["coef"],
        pos,
        xerr=[part["coef"] - part["ci_low"], part["ci_high"] - part["coef"]],
        fmt="o",
        capsize=4,
    )
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_title(f"cultivar {name} vs {res.reference}")
    ax.set_xlabel("log-odds per standard deviation")
axes[0].set_yticks(pos, terms)
fig.tight_layout()

# %%
# Tests
# -----
# A Wald test that ``ash`` has no effect on any class (both of its
# coefficients zero), and the likelihood-ratio test of the same hypothesis
# from the model fitted without it:
wald = res.wald_test(terms=["ash"])
X_r = X.drop(columns="ash")
res_r = SoftmaxRegression(C=np.inf, tol=1e-8).fit(X_r, y).inference(X_r, y)
lr = res.compare_lr_test(res_r)
print(f"Wald: chi2({wald.df}) = {wald.statistic:.2f}, p = {wald.pvalue:.3g}")
print(f"LR:   chi2({lr.df}) = {lr.statistic:.2f}, p = {lr.pvalue:.3g}")

# %%
# Robust and clustered standard errors
# ------------------------------------
# ``cov_type="HC0"`` is the sandwich estimator; ``"cluster"`` sums the scores
# per group (here made-up batches of 10 consecutive bottles) for rows that
# are correlated within groups.
robust = clf.inference(X, y, cov_type="HC0")
batches = np.arange(len(y)) // 10
clustered = clf.inference(X, y, cov_type="cluster", groups=batches)
for label, r in [("nonrobust", res), ("HC0", robust), ("cluster", clustered)]:
    print(f"{label:>9}: std err of alcohol, cultivar 1 vs 0 = {r.bse[1, 0]:.3f}")

# %%
# Marginal effects
# ----------------
# How the probability of each cultivar changes with each measurement,
# averaged over the bottles, with delta-method standard errors:
me = res.get_margeff(at="overall", method="dydx")
print(me.summary())
