"""The part both estimators share (``sk_softmax._base``) and their input
validation (``sk_softmax._validation``)."""

import inspect

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sk_softmax import SoftmaxRegression, SoftmaxRegressionCV
from sk_softmax._base import BaseSoftmaxRegression
from sk_softmax._validation import validate_fit_input, validate_prediction_input

SHARED = ("decision_function", "predict", "predict_proba", "predict_log_proba")


@pytest.mark.parametrize("cls", [SoftmaxRegression, SoftmaxRegressionCV])
def test_predictions_are_the_base_class_ones(cls):
    # Defined once, inherited: neither estimator copies them.
    assert issubclass(cls, BaseSoftmaxRegression)
    for name in SHARED + ("_raw_scores", "_fitted_params", "_get_param_names"):
        assert name not in vars(cls), name
        assert inspect.getattr_static(cls, name) is vars(BaseSoftmaxRegression)[name]


def test_cv_predicts_as_its_final_model():
    X, y = load_iris(return_X_y=True)
    cv = SoftmaxRegressionCV(
        Cs=3, cv=3, l1_ratios=(0.0,), scoring=None, use_legacy_attributes=False
    ).fit(X, y)
    model = SoftmaxRegression(C=cv.C_).fit(X, y)  # same attributes, copied in
    model.coef_, model.intercept_ = cv.coef_, cv.intercept_
    for name in SHARED:
        np.testing.assert_array_equal(
            getattr(cv, name)(X[::7]), getattr(model, name)(X[::7])
        )


def test_validation_sets_the_input_attributes_and_classes():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxRegression(class_weight={"a": 2.0})
    X_, codes, sw = validate_fit_input(clf, X, np.array(["a", "b", "c"])[y], None)
    assert clf.n_features_in_ == 4 and clf.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(codes, y)
    np.testing.assert_array_equal(sw, np.where(y == 0, 2.0, 1.0))  # class weights
    with pytest.raises(ValueError, match="at least 2 classes"):
        validate_fit_input(SoftmaxRegression(), X[:10], y[:10], None)
    clf = SoftmaxRegression().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        validate_prediction_input(clf, X[:, :3], "predict")
    X32, xp = validate_prediction_input(clf, X.astype(np.float32), "predict")
    assert X32.dtype == np.float32 and xp.__name__.endswith("numpy")
