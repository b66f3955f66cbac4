"""
Quickstart: digits, 10 classes
==============================

Fit a :class:`~sk_softmax.SoftmaxRegression` on scikit-learn's bundled handwritten
digits (8x8 images, 10 classes), look at its class probabilities, measure its
accuracy on held-out data, and plot the confusion matrix.

The estimator is an ordinary scikit-learn classifier: ``fit``, ``predict``,
``predict_proba``, ``score``, and it goes into a
:class:`~sklearn.pipeline.Pipeline` like any other.
"""

# %%
# Load and split the data
# -----------------------
# 1797 images of 8x8 pixels, flattened to 64 features with values 0..16.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images")

# %%
# Fit
# ---
# Standardising the features is not required for correctness (the objective is
# convex, and L-BFGS gets there either way), but it makes every solver converge
# in fewer iterations and makes ``C`` mean the same for every feature.
clf = make_pipeline(StandardScaler(), SoftmaxRegression(C=1.0))
clf.fit(X_train, y_train)
model = clf[-1]
print(f"classes_: {model.classes_}")
print(f"coef_ shape: {model.coef_.shape} (one row per class)")
print(f"L-BFGS iterations: {model.n_iter_}")

# %%
# Probabilities
# -------------
# ``predict_proba`` returns ``softmax(W x + b)``: one column per class, in the
# order of ``classes_``, each row summing to one. ``predict`` is its arg-max.
proba = clf.predict_proba(X_test)
print("row sums:", np.round(proba.sum(axis=1)[:5], 6))
print("first test image, P(class):", np.round(proba[0], 3))
print("predicted:", clf.predict(X_test[:1])[0], " true:", y_test[0])

# %%
# The image and its predicted distribution side by side, for the test image the
# model is least sure about (the lowest top probability).
hardest = int(np.argmin(proba.max(axis=1)))
fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(8, 3))
ax_img.imshow(X_test[hardest].reshape(8, 8), cmap="gray_r")
ax_img.set_title(f"true label: {y_test[hardest]}")
ax_img.set_axis_off()
ax_bar.bar(model.classes_, proba[hardest])
ax_bar.set_xticks(model.classes_)
ax_bar.set_xlabel("class")
ax_bar.set_ylabel("predict_proba")
ax_bar.set_title("least confident test prediction")
fig.tight_layout()

# %%
# Accuracy and confusion matrix
# -----------------------------
# ``score`` is the mean accuracy, as for every scikit-learn classifier.
y_pred = clf.predict(X_test)
print(f"test accuracy: {accuracy_score(y_test, y_pred):.3f}")
print(f"clf.score:     {clf.score(X_test, y_test):.3f}")

disp = ConfusionMatrixDisplay.from_predictions(y_test, y_pred, cmap="Blues")
disp.ax_.set_title("SoftmaxRegression on digits (test set)")
plt.show()
