"""Parameter names (cached per class) and parameter validation (scikit-learn's,
at every fit) of the estimators: see ``sk_softmax._base``."""

import inspect
import warnings

import numpy as np
import pytest
import sklearn.base
from sklearn.base import BaseEstimator, clone

from sk_softmax import SoftmaxRegression, SoftmaxRegressionCV

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("cls", [SoftmaxRegression, SoftmaxRegressionCV])
def test_param_names_are_scikit_learns(cls, monkeypatch):
    expected = BaseEstimator._get_param_names.__func__(cls)
    assert cls._get_param_names() == expected
    names = cls._get_param_names()
    names.append("mutated")  # a copy: the cache is not changed
    assert cls._get_param_names() == expected
    # Computed once per class: no signature inspection on later calls.
    calls = []
    real = inspect.signature
    monkeypatch.setattr(
        inspect, "signature", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    cls().get_params()
    clone(cls(tol=1e-3))
    assert calls == []


def test_a_subclass_gets_its_own_names():
    class Sub(SoftmaxRegression):
        def __init__(self, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    assert "extra" in Sub._get_param_names()
    assert "extra" not in SoftmaxRegression._get_param_names()


@pytest.mark.parametrize("cls", [SoftmaxRegression, SoftmaxRegressionCV])
def test_parameters_are_validated_at_every_fit(cls, monkeypatch):
    # No cache of validated values (removed in issue 21, see sk_softmax._base):
    # scikit-learn's validation runs at each fit, also for the same values.
    calls = []
    real = sklearn.base.validate_parameter_constraints

    def counting(constraints, params, caller_name):
        calls.append(dict(params))
        return real(constraints, params, caller_name=caller_name)

    monkeypatch.setattr(sklearn.base, "validate_parameter_constraints", counting)
    kwargs = {"Cs": 2, "cv": 2, "l1_ratios": (0.0,), "scoring": None}
    params = {"tol": 1e-3, **(kwargs if cls is SoftmaxRegressionCV else {})}
    Xr, yr = np.tile(X, (3, 1)), np.tile(y, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # use_legacy_attributes
        for _ in range(2):
            cls(**params).fit(Xr, yr)
    assert [c["tol"] for c in calls if "tol" in c] == [1e-3, 1e-3]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"C": -1.0}, "'C' parameter"),
        ({"max_iter": 1.0}, "'max_iter' parameter"),  # 1.0 is not 1
        ({"max_iter": -1}, "'max_iter' parameter"),
        ({"tol": np.float64(-1.0)}, "'tol' parameter"),
        ({"solver": "LBFGS"}, "'solver' parameter"),
        ({"C": float("nan")}, "'C' parameter"),
        ({"class_weight": "balance"}, "'class_weight' parameter"),
    ],
)
def test_invalid_values_are_rejected_after_valid_ones(params, match):
    ((name, bad),) = params.items()
    good = {
        "C": 1.0,
        "max_iter": 1,
        "tol": np.float64(1e-4),
        "solver": "lbfgs",
        "class_weight": "balanced",
    }[name]
    for _ in range(2):
        SoftmaxRegression(**{name: good}).fit(X, y)
    for _ in range(2):  # also when asked twice
        with pytest.raises(ValueError, match=match):
            SoftmaxRegression(**{name: bad}).fit(X, y)
