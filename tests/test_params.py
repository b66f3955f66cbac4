"""The cached parameter names and validation of ``sk_softmax._params``."""

import inspect

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


def test_validation_runs_once_per_set_of_scalar_values(monkeypatch):
    calls = []
    real = sklearn.base.validate_parameter_constraints

    def counting(constraints, params, caller_name):
        calls.append(dict(params))
        return real(constraints, params, caller_name=caller_name)

    monkeypatch.setattr(sklearn.base, "validate_parameter_constraints", counting)
    SoftmaxRegression(C=0.123456).fit(X, y)
    n = len(calls)
    SoftmaxRegression(C=0.123456).fit(X, y)
    assert len(calls) == n  # same values: not validated again
    SoftmaxRegression(C=0.654321).fit(X, y)
    assert len(calls) == n + 1
    # Not plain scalars: validated every time.
    for _ in range(2):
        SoftmaxRegression(class_weight={0: 1.0, 1: 2.0}).fit(X, y)
    assert len(calls) == n + 3


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
