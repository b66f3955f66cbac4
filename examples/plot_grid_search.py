"""
Pipeline and grid search over C and solver
==========================================

:class:`~sk_softmax.SoftmaxRegression` is a scikit-learn estimator, so it can be
the last step of a :class:`~sklearn.pipeline.Pipeline` and be tuned by
:class:`~sklearn.model_selection.GridSearchCV`. Its parameters have the names and
meanings of :class:`~sklearn.linear_model.LogisticRegression`, so a grid written
for one works for the other.

Here we search over the inverse regularisation strength ``C`` and the solver on
the digits data. ``C`` changes the model; ``solver`` only changes how the same
objective is minimised, which the plots make visible: the cross-validated scores
of the two solvers coincide, their fit times do not.
"""

# %%
# The pipeline and the grid
# -------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X, y = load_digits(return_X_y=True)
pipe = Pipeline([("scale", StandardScaler()), ("clf", SoftmaxRegression())])
param_grid = {
    "clf__C": [0.001, 0.01, 0.1, 1.0, 10.0],
    "clf__solver": ["lbfgs", "gd"],
}
search = GridSearchCV(
    pipe, param_grid, cv=StratifiedKFold(5, shuffle=True, random_state=0)
)
search.fit(X, y)
print(
    f"best C: {search.best_params_['clf__C']:g}, "
    f"best solver: {search.best_params_['clf__solver']}"
)
print(f"best mean CV accuracy: {search.best_score_:.3f}")

# %%
# ``refit=True`` (the default) refits the best pipeline on all the data:
best = search.best_estimator_
print(best)
print("iterations of the refit:", best[-1].n_iter_)

# %%
# Cross-validated accuracy versus C
# ---------------------------------
# Small ``C`` (strong penalty) underfits; here the score plateaus from
# ``C = 0.1`` on. The two solvers fit the same objective to the same tolerance,
# so their curves nearly coincide: the small differences come from stopping at
# ``tol=1e-4`` at slightly different points near the same minimum.
results = search.cv_results_
Cs = param_grid["clf__C"]
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(10, 4))
for solver, marker in [("lbfgs", "o"), ("gd", "x")]:
    mask = results["param_clf__solver"] == solver
    mean = results["mean_test_score"][mask]
    std = results["std_test_score"][mask]
    ax_score.errorbar(Cs, mean, yerr=std, marker=marker, capsize=3, label=solver)
    ax_time.plot(Cs, results["mean_fit_time"][mask], marker=marker, label=solver)
ax_score.set_xscale("log")
ax_score.set_xlabel("C")
ax_score.set_ylabel("mean CV accuracy (+/- std over folds)")
ax_score.set_title("Score vs C")
ax_score.legend(title="solver")
ax_time.set_xscale("log")
ax_time.set_yscale("log")
ax_time.set_xlabel("C")
ax_time.set_ylabel("mean fit time [s]")
ax_time.set_title("Fit time vs C")
ax_time.legend(title="solver")
fig.tight_layout()

# %%
# Fit time
# --------
# Weaker penalties (larger ``C``) make the problem worse conditioned, and every
# solver needs more iterations. L-BFGS, which builds a curvature model, suffers
# much less than gradient descent; this is why the default (``"auto"``) runs
# ``"lbfgs"`` on data of this size (``"newton-cholesky"`` on smaller ones).
# Gradient descent is there when you want to study or control the optimisation
# itself (see :ref:`sphx_glr_auto_examples_plot_gd_vs_lbfgs.py`).
for solver in ["lbfgs", "gd"]:
    mask = results["param_clf__solver"] == solver
    print(f"{solver:5s} total fit time: {results['mean_fit_time'][mask].sum():.2f} s")
plt.show()
