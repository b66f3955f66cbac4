"""
=====================================================
Soft targets: distillation and annotator votes
=====================================================

``SoftmaxRegression.fit`` accepts, besides labels, a matrix ``Y`` of class
probabilities (rows summing to 1). The loss is the cross-entropy
``-sum_k Y_ik log p_ik`` and its gradient is still ``P - Y``.

Two uses are shown:

1. **Knowledge distillation**: a linear student learns from the probabilities
   of a non-linear teacher (a random forest) instead of from the hard labels,
   and reproduces those probabilities.
2. **Annotator votes**: each sample was labelled by several annotators who
   disagree; the vote proportions are the targets. A soft row ``(0.3, 0.7)`` is
   exactly two copies of the sample, labelled 0 and 1, with sample weights
   0.3 and 0.7.

``label_smoothing`` (PyTorch's definition) is shown at the end.
"""

# %%
# Distillation on the digits data
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

teacher = RandomForestClassifier(n_estimators=200, random_state=0)
# Out-of-fold probabilities, so that the student does not learn the teacher's
# over-confidence on its own training points.
Y_teacher = cross_val_predict(teacher, X_train, y_train, cv=5, method="predict_proba")
teacher.fit(X_train, y_train)

hard = SoftmaxRegression(C=0.1).fit(X_train, y_train)
soft = SoftmaxRegression(C=0.1).fit(X_train, Y_teacher)
print(f"teacher (random forest) test accuracy: {teacher.score(X_test, y_test):.3f}")
print(f"student from hard labels:              {hard.score(X_test, y_test):.3f}")
print(f"student from teacher probabilities:    {soft.score(X_test, y_test):.3f}")

# %%
# What the student inherits is the teacher's *probabilities*: measure the mean
# Kullback-Leibler divergence from the teacher's test probabilities to each
# student's. On this data the distilled student mimics the forest's
# probabilities far more closely, while its accuracy is lower than the
# hard-label student's: a linear student cannot express the forest's decision
# rule, and the out-of-fold forest probabilities are soft. Distillation
# transfers the teacher's uncertainty, not necessarily its accuracy.
P_teacher = teacher.predict_proba(X_test)


def kl_from_teacher(P):
    ratio = np.log(np.clip(P_teacher, 1e-12, 1)) - np.log(np.clip(P, 1e-300, 1))
    return float(np.mean(np.sum(P_teacher * ratio, axis=1)))


for name, model in [("hard labels", hard), ("teacher probabilities", soft)]:
    kl = kl_from_teacher(model.predict_proba(X_test))
    print(f"KL(teacher || student from {name}): {kl:.3f}")

# %%
# Annotator votes
# ---------------
# Simulate 5 annotators per sample on a 3-class 2-D problem: each is right
# with probability 0.7, else picks another class at random. The targets are
# the vote proportions.
rng = np.random.default_rng(0)
n = 600
centers = np.array([[0.0, 0.0], [2.0, 0.5], [1.0, 2.0]])
truth = rng.integers(0, 3, size=n)
Xv = centers[truth] + rng.normal(scale=0.8, size=(n, 2))
votes = np.zeros((n, 3))
for _ in range(5):
    wrong = rng.random(n) > 0.7
    label = np.where(wrong, (truth + rng.integers(1, 3, size=n)) % 3, truth)
    votes[np.arange(n), label] += 1
Y_votes = votes / votes.sum(axis=1, keepdims=True)

from_votes = SoftmaxRegression().fit(Xv, Y_votes)
from_majority = SoftmaxRegression().fit(Xv, votes.argmax(axis=1))

# The soft fit equals a fit on the weighted copies (one copy per class).
copies = SoftmaxRegression().fit(
    np.repeat(Xv, 3, axis=0), np.tile(np.arange(3), n), sample_weight=Y_votes.ravel()
)
print(
    "max |coef difference| soft vs weighted copies:",
    f"{np.abs(from_votes.coef_ - copies.coef_).max():.1e}",
)
print(
    f"accuracy vs the truth, fit on vote proportions: {from_votes.score(Xv, truth):.3f}"
)
acc_majority = from_majority.score(Xv, truth)
print(f"accuracy vs the truth, fit on majority votes:   {acc_majority:.3f}")

# %%
# Probability of class 2 along a line through the data, for both fits and with
# label smoothing.
smoothed = SoftmaxRegression(label_smoothing=0.2).fit(Xv, votes.argmax(axis=1))
t = np.linspace(-2, 4, 200)
line = np.column_stack([t, t])
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, model in [
    ("vote proportions", from_votes),
    ("majority vote", from_majority),
    ("majority vote, label_smoothing=0.2", smoothed),
]:
    ax.plot(t, model.predict_proba(line)[:, 2], label=name)
ax.set_xlabel("position along the line x1 = x2")
ax.set_ylabel("p(class 2)")
ax.legend()
fig.tight_layout()
plt.show()
