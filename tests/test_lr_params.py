"""LogisticRegression's whole constructor on SoftmaxRegression, and
``sparsify()`` / ``densify()``: each argument honoured with its meaning (same
model, same warnings as LogisticRegression 1.9.1) or rejected with a reason."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from _sklearn_versions import needs_sklearn, skip_without_array_api_dispatch
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression
from sk_softmax._lr_compat import LR_ONLY_SOLVERS


def _wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# SoftmaxRegression raises LogisticRegression 1.9's warnings for its
# parameters (penalty deprecated in 1.8, ...) on every scikit-learn version.
_WARNINGS_VERSION = (1, 9)
_WARNINGS_REASON = "compares with LogisticRegression 1.9's warnings"


def _fit_warnings(est, X, y):
    """(category name, message) of the warnings of ``est.fit``, sorted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return sorted(
        (w.category.__name__, str(w.message))
        for w in caught
        if not issubclass(w.category, ConvergenceWarning)
    )


@needs_sklearn(
    (1, 8),
    "LogisticRegression 1.6-1.7 also has multi_class (deprecated in 1.5, "
    "removed in 1.8), which SoftmaxRegression does not take",
)
def test_logistic_regression_params_are_all_accepted():
    lr_params = LogisticRegression().get_params()
    ours = SoftmaxRegression().get_params()
    assert set(lr_params) == set(ours) - {
        # SoftmaxRegression's own (SGD, soft targets, chunking)
        *("learning_rate", "learning_rate_init", "power_t", "momentum"),
        *("nesterovs_momentum", "batch_size", "shuffle", "early_stopping"),
        *("validation_fraction", "n_iter_no_change", "label_smoothing"),
        "chunk_size",
    }
    X, y = _wine()
    clf = SoftmaxRegression(**lr_params).set_params(tol=1e-8, max_iter=1000)
    ref = LogisticRegression(tol=1e-8, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(
        clf.fit(X, y).predict_proba(X), ref.predict_proba(X), atol=1e-5
    )


def test_logistic_regression_grid_transfers_as_is():
    # A grid over LogisticRegression's own parameter names, with its values.
    X, y = _wine()
    grid = {
        "C": [0.01, 0.1, 1.0],
        "penalty": ["l2"],
        "l1_ratio": [0.0],
        "dual": [False],
        "intercept_scaling": [1.0, 10.0],
        "n_jobs": [None, 2],
        "class_weight": [None, "balanced"],
        "solver": ["lbfgs"],
        "max_iter": [1000],
        "tol": [1e-8],
        "warm_start": [False],
        "random_state": [0],
    }
    results = {}
    for est in (LogisticRegression(), SoftmaxRegression()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # penalty="l2"
            search = GridSearchCV(est, grid, cv=3, scoring="neg_log_loss")
            results[type(est).__name__] = search.fit(X, y)
    lr, ours = results["LogisticRegression"], results["SoftmaxRegression"]
    assert ours.best_params_ == lr.best_params_
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"],
        lr.cv_results_["mean_test_score"],
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "params",
    [
        {"penalty": "l2"},
        {"penalty": "l2", "C": 0.3},
        {"penalty": None},
        {"penalty": None, "C": 3.0},
    ],
)
@needs_sklearn(_WARNINGS_VERSION, _WARNINGS_REASON)
def test_penalty_mapping_and_warnings_are_logistic_regressions(params):
    X, y = _wine()
    common = dict(tol=1e-8, max_iter=1000)
    lr = LogisticRegression(**params, **common)
    ours = SoftmaxRegression(**params, **common)
    assert _fit_warnings(ours, X, y) == _fit_warnings(lr, X, y)
    assert any(cat == "FutureWarning" for cat, _ in _fit_warnings(ours, X, y))
    # The same model as the parameters the penalty maps to, without warnings.
    C = np.inf if params["penalty"] is None else params.get("C", 1.0)
    plain = SoftmaxRegression(C=C, **common)
    assert _fit_warnings(plain, X, y) == []
    np.testing.assert_allclose(ours.coef_, plain.coef_, rtol=1e-10, atol=1e-12)


def test_default_penalty_gives_no_warning():
    X, y = _wine()
    assert _fit_warnings(SoftmaxRegression(), X, y) == []


@pytest.mark.parametrize(
    "params, l1_ratio",
    [
        ({"penalty": "l1"}, 1.0),
        ({"penalty": "l1", "l1_ratio": 0.5}, 1.0),
        ({"penalty": "l2", "l1_ratio": 0.5}, 0.0),
        ({"penalty": "elasticnet", "l1_ratio": 0.5}, 0.5),
        ({"penalty": None, "l1_ratio": 0.5}, 0.0),
        ({"l1_ratio": None}, 0.0),
    ],
)
@needs_sklearn(_WARNINGS_VERSION, _WARNINGS_REASON)
def test_l1_penalty_mapping_is_logistic_regressions(params, l1_ratio):
    # The same model as the l1_ratio the penalty maps to; the warnings are
    # LogisticRegression(solver="saga")'s (lbfgs refuses an L1 part there).
    X, y = _wine()
    C = np.inf if params.get("penalty", "x") is None else 0.1
    common = dict(tol=1e-6, max_iter=2000)
    ours = SoftmaxRegression(C=0.1, **params, **common)
    lr = LogisticRegression(C=0.1, solver="saga", **params, max_iter=5)
    assert _fit_warnings(ours, X, y) == _fit_warnings(lr, X, y)
    plain = SoftmaxRegression(C=C, l1_ratio=l1_ratio, **common).fit(X, y)
    np.testing.assert_allclose(ours.coef_, plain.coef_, rtol=1e-10, atol=1e-12)


def test_elasticnet_without_l1_ratio_is_an_error():
    X, y = _wine()
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        with pytest.raises(ValueError, match="l1_ratio must be specified"):
            SoftmaxRegression(penalty="elasticnet", l1_ratio=None).fit(X, y)


def test_dual_is_rejected_with_a_reason():
    X, y = _wine()
    with pytest.raises(ValueError, match="dual=True is not supported.*primal"):
        SoftmaxRegression(dual=True).fit(X, y)
    with pytest.raises(ValueError, match="dual=True"):
        SoftmaxRegression(dual=True).partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("solver", sorted(LR_ONLY_SOLVERS))
def test_logistic_regression_only_solvers_are_rejected_with_a_reason(solver):
    X, y = _wine()
    # LogisticRegression itself accepts them.
    LogisticRegression(solver=solver, max_iter=5).get_params()
    with pytest.raises(ValueError) as info:
        SoftmaxRegression(solver=solver).fit(X, y)
    message = str(info.value)
    assert f"solver={solver!r} is a LogisticRegression solver" in message
    assert "solver='auto'" in message
    # Unknown names are still scikit-learn's parameter error.
    with pytest.raises(ValueError, match="must be a str among"):
        SoftmaxRegression(solver="newton").fit(X, y)


@pytest.mark.parametrize("params", [{"intercept_scaling": 100.0}, {"n_jobs": -1}])
def test_liblinear_and_n_jobs_arguments_have_no_effect(params):
    X, y = _wine()
    ref = SoftmaxRegression(tol=1e-8).fit(X, y)
    clf = SoftmaxRegression(tol=1e-8, **params).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, ref.coef_)
    np.testing.assert_array_equal(clf.intercept_, ref.intercept_)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"intercept_scaling": 0.0}, "intercept_scaling"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"penalty": "l3"}, "penalty"),
        ({"dual": "yes"}, "dual"),
    ],
)
def test_invalid_logistic_regression_arguments(params, match):
    X, y = _wine()
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression(**params).fit(X, y)


# ------------------------------------------------------- sparsify / densify
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparsify_keeps_predictions(dtype):
    X, y = load_iris(return_X_y=True)
    X = X.astype(dtype)
    clf = SoftmaxRegression().fit(X, y)
    dense_coef = clf.coef_.copy()
    inputs = [X, sp.csr_matrix(X), sp.csr_matrix(X.astype(np.float64))]

    def outputs():
        return [
            [f(Xp) for f in (clf.decision_function, clf.predict_proba, clf.predict)]
            + [clf.predict_log_proba(Xp)]
            for Xp in inputs
        ]

    expected = outputs()
    assert clf.sparsify() is clf
    assert sp.issparse(clf.coef_) and clf.coef_.format == "csr"
    assert clf.coef_.dtype == dtype
    np.testing.assert_array_equal(clf.coef_.toarray(), dense_coef)
    atol = 1e-5 if dtype == np.float32 else 1e-12  # summation order
    for got, ref in zip(outputs(), expected, strict=True):
        for a, b in zip(got, ref, strict=True):
            assert isinstance(a, np.ndarray)
            np.testing.assert_allclose(a, b, rtol=0, atol=atol * np.abs(b).max())
    assert clf.sparsify() is clf and sp.issparse(clf.coef_)  # idempotent
    assert clf.densify() is clf
    assert isinstance(clf.coef_, np.ndarray)
    np.testing.assert_array_equal(clf.coef_, dense_coef)
    assert clf.densify() is clf  # a no-op when dense


def test_sparse_coef_has_the_zeros_of_the_model():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxRegression().fit(X, y)
    clf.coef_[:, 1] = 0.0  # a model with exact zeros (as an L1 fit gives)
    clf.sparsify()
    assert clf.coef_.nnz == 3 * 3


def test_sparsify_before_fit_raises():
    for method in ("sparsify", "densify"):
        with pytest.raises(NotFittedError, match="must be fitted before"):
            getattr(SoftmaxRegression(), method)()


def test_warm_start_and_partial_fit_after_sparsify():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = SoftmaxRegression(tol=1e-8).fit(X, y)
    clf = SoftmaxRegression(tol=1e-8, warm_start=True).fit(X, y).sparsify()
    clf.fit(X, y)  # starts from the sparse model's values: already optimal
    assert isinstance(clf.coef_, np.ndarray)
    assert clf.n_iter_ <= 1
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-6)
    inc = SoftmaxRegression(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    before = inc.coef_.copy()
    inc.sparsify().partial_fit(X, y)
    assert isinstance(inc.coef_, np.ndarray)
    assert not np.array_equal(inc.coef_, before)


def test_sparsify_on_the_array_api_path():
    skip_without_array_api_dispatch()
    torch = pytest.importorskip("torch")
    X, y = load_iris(return_X_y=True)
    with sklearn.config_context(array_api_dispatch=True):
        Xt = torch.asarray(X)
        clf = SoftmaxRegression().fit(Xt, y)
        ref = [clf.predict_proba(Xt), clf.decision_function(Xt), clf.predict(Xt)]
        device_coef = clf.coef_.clone()
        clf.sparsify()
        assert sp.issparse(clf.coef_)
        got = [clf.predict_proba(Xt), clf.decision_function(Xt), clf.predict(Xt)]
        for a, b in zip(got, ref, strict=True):
            assert isinstance(a, torch.Tensor)
            torch.testing.assert_close(a, b)
        clf.densify()
        assert isinstance(clf.coef_, torch.Tensor)
        assert torch.equal(clf.coef_, device_coef)
