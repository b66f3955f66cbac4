"""SoftmaxRegression against independent truths: LogisticRegression, repetition,
hand-computed objectives, and every bad input."""

import functools
import inspect
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from sk_softmax import SoftmaxRegression
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

LOADERS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def standardised(name):
    X, y = LOADERS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


def objective(clf, X, y, sample_weight=None):
    """LogisticRegression's objective / sum(s), computed independently."""
    if sample_weight is None:
        sample_weight = np.ones(X.shape[0])
    Z = X @ clf.coef_.T.astype(np.float64) + clf.intercept_
    codes = np.searchsorted(clf.classes_, y)
    nll = -log_softmax(Z, axis=1)[np.arange(len(y)), codes]
    penalty = 0.0 if np.isinf(clf.C) else np.sum(clf.coef_**2) / (2 * clf.C)
    return (sample_weight @ nll + penalty) / sample_weight.sum()


def logreg(**kw):
    return LogisticRegression(max_iter=10_000, **kw)


# ------------------------------------------------------------------ agreement
@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_predict_proba_matches_logistic_regression(name, C):
    if (name, C) == ("digits", 10.0):
        pytest.skip("LogisticRegression(newton-cg) takes ~10 s there")
    X, y = standardised(name)
    with warnings.catch_warnings():
        # tol=1e-10 is out of L-BFGS-B's reach (its ftol test stops it first);
        # the Newton-CG polish must get there, without a warning.
        warnings.simplefilter("error", ConvergenceWarning)
        ours = SoftmaxRegression(C=C, tol=1e-10).fit(X, y)
    # The reference: scikit-learn's own Newton-CG, precise to < 1e-8 in proba
    # here (checked against a trust-region Newton optimum at gtol=1e-12).
    ref = logreg(C=C, tol=1e-10, solver="newton-cg").fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_same_objective_as_logistic_regression_lbfgs(name, C):
    X, y = standardised(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = SoftmaxRegression(C=C, tol=1e-8).fit(X, y)
        ref = logreg(C=C, tol=1e-8).fit(X, y)
    # Same settings, same objective value. Probabilities: a gradient of 1e-8
    # still leaves them ~1e-6 from the optimum on digits (measured: 1.5e-6 at
    # C=1, 4-6e-6 at C=10, for LogisticRegression and for us alike).
    assert objective(ours, X, y) <= objective(ref, X, y) + 1e-10
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_newton_polish_reaches_tight_tol_where_lbfgs_stops():
    X, y = standardised("digits")
    lbfgs_only = logreg(C=10.0, tol=1e-10).fit(X, y)  # stops silently on ftol
    clf = SoftmaxRegression(C=10.0, tol=1e-10, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert objective(clf, X, y) <= objective(lbfgs_only, X, y)
    # float32 is not polished: it must still say that tol was out of reach.
    with pytest.warns(ConvergenceWarning, match="max\\|gradient\\|"):
        SoftmaxRegression(C=10.0, tol=1e-10).fit(X.astype(np.float32), y)


def count_hessian_products(monkeypatch):
    """A list that grows by one per Hessian-vector product of the objective."""
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

    products = []
    hessian_product = ChunkedSoftmaxCrossEntropy.hessian_product

    def counting(self, w):
        hessp = hessian_product(self, w)
        return lambda v: products.append(1) or hessp(v)

    monkeypatch.setattr(ChunkedSoftmaxCrossEntropy, "hessian_product", counting)
    return products


def test_newton_finish_solves_only_as_far_as_tol_needs(monkeypatch):
    # The finish's conjugate gradients stop once the predicted gradient is
    # within tol / 2. Measured on standardised digits, C=100, tol=1e-10: 49
    # Hessian-vector products (scipy's trust-ncg, used before: 163).
    products = count_hessian_products(monkeypatch)
    X, y = standardised("digits")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxRegression(C=100.0, tol=1e-10).fit(X, y)
    assert 0 < len(products) < 100
    assert clf.n_iter_ == len(clf.loss_curve_)


def test_tol_0_stops_once_no_progress_is_possible(monkeypatch):
    # tol=0 cannot be met; the fit must stop at the gradient's rounding
    # level, as good as tol=1e-14's. Before, the Newton finish took
    # rounding-level steps until max_iter (issue shape 20000 x 50: 216
    # iterations, 8134 Hessian products, 23 s; LogisticRegression(tol=0)
    # 0.05 s) and shifted the intercepts by a common constant (~90 here).
    products = count_hessian_products(monkeypatch)
    X = np.random.RandomState(0).randn(5000, 50)
    y = np.arange(5000) % 5
    ref = SoftmaxRegression(tol=1e-14, max_iter=100).fit(X, y)
    products.clear()
    with pytest.warns(ConvergenceWarning):  # max|grad| > 0 = tol
        clf = SoftmaxRegression(tol=0, max_iter=100).fit(X, y)
    assert clf.n_iter_ <= ref.n_iter_ + 2 and len(products) <= 60
    assert objective(clf, X, y) <= objective(ref, X, y) + 1e-15
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=1e-12)


def test_binary_is_two_class_softmax_equal_to_logreg_with_2C():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    c = 0.5
    ours = SoftmaxRegression(C=c, tol=1e-8).fit(X, y)
    ref = logreg(C=2 * c, tol=1e-8).fit(X, y)
    assert ours.coef_.shape == (2, X.shape[1])
    assert ours.intercept_.shape == (2,)
    # The penalty on both rows makes w_0 = -w_1 at the optimum.
    np.testing.assert_allclose(ours.coef_[0], -ours.coef_[1], atol=1e-7)
    np.testing.assert_allclose(ours.coef_[1] - ours.coef_[0], ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    dec = ours.decision_function(X)
    assert dec.shape == (X.shape[0],)
    Z = X @ ours.coef_.T + ours.intercept_
    np.testing.assert_allclose(dec, Z[:, 1] - Z[:, 0])
    np.testing.assert_allclose(dec, ref.decision_function(X), atol=1e-4)
    np.testing.assert_array_equal(ours.predict(X), ours.classes_[(dec > 0).astype(int)])


def test_binary_string_labels_positive_class_is_classes_1():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.array(["malignant", "benign"])[y]
    clf = SoftmaxRegression().fit(X, labels)
    assert list(clf.classes_) == ["benign", "malignant"]
    dec = clf.decision_function(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(dec > 0).astype(int)])


def test_C_inf_means_no_penalty():
    X, y = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=3,
        n_classes=3,
        flip_y=0.3,
        random_state=0,
    )
    ours = SoftmaxRegression(C=np.inf, tol=1e-8).fit(X, y)
    ref = logreg(C=np.inf, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    # A finite C gives a different (shrunk) model.
    shrunk = SoftmaxRegression(C=0.01).fit(X, y)
    assert np.linalg.norm(shrunk.coef_) < 0.7 * np.linalg.norm(ours.coef_)


def test_no_intercept_matches_logreg():
    X, y = standardised("wine")
    ours = SoftmaxRegression(fit_intercept=False, tol=1e-8).fit(X, y)
    ref = logreg(fit_intercept=False, tol=1e-8).fit(X, y)
    np.testing.assert_array_equal(ours.intercept_, np.zeros(3))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gd_reaches_lbfgs_optimum(momentum):
    X, y = standardised("wine")
    exact = SoftmaxRegression(tol=1e-10, max_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # ftol stop near 1e-10
        exact.fit(X, y)
    gd = SoftmaxRegression(solver="gd", momentum=momentum, tol=1e-7, max_iter=200_000)
    gd.fit(X, y)
    f_exact, f_gd = objective(exact, X, y), objective(gd, X, y)
    assert abs(f_gd - f_exact) <= 1e-6 * f_exact
    assert gd.loss_curve_[-1] == pytest.approx(f_gd, rel=1e-12)


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_default_fits_converge_on_standardised_data(name, solver):
    X, y = standardised(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxRegression(solver=solver).fit(X, y)
    assert clf.score(X, y) > 0.95


def test_gd_auto_step_never_diverges_on_badly_scaled_data():
    rng = np.random.default_rng(0)
    X = rng.normal(100.0, 1.0, size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 200).astype(int) + (X[:, 2] > 100)
    plain = SoftmaxRegression(solver="gd", momentum=0.0, max_iter=300)
    with pytest.warns(ConvergenceWarning):
        plain.fit(X, y)
    curve = np.array(plain.loss_curve_)
    assert np.all(np.isfinite(curve))
    # A 1/L step is a descent step: the objective never increases.
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])
    assert curve[-1] < curve[0]
    assert plain.learning_rate_ > 0


def test_gd_too_large_fixed_step_warns_and_keeps_finite_model():
    rng = np.random.default_rng(0)
    X = rng.normal(100.0, 1.0, size=(200, 5))
    y = (X[:, 0] > 100).astype(int)
    clf = SoftmaxRegression(solver="gd", learning_rate=10.0, momentum=0.0, max_iter=50)
    with pytest.warns(ConvergenceWarning, match="max\\|gradient\\|"):
        clf.fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    assert clf.loss_curve_[-1] > clf.loss_curve_[0]  # it diverged, and says so
    assert np.all(np.isfinite(clf.predict_proba(X)))


@pytest.mark.parametrize("method", ["gd", "sgd", "partial_fit"])
def test_zero_lipschitz_bound_fits_the_constant_objective(method):
    # All-zero X, no intercept, no penalty: the scores are 0 whatever w, the
    # objective is log(2) everywhere and its Lipschitz bound is 0 (the "auto"
    # step 1 / L divided by zero).
    X = sp.csr_matrix((4, 3))
    y = [0, 1, 0, 1]
    solver = "sgd" if method == "partial_fit" else method
    clf = SoftmaxRegression(solver=solver, C=np.inf, fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # nothing to do
        if method == "partial_fit":
            clf.partial_fit(X, y, classes=[0, 1])
        else:
            clf.fit(X, y)
    assert np.isfinite(clf.learning_rate_) and clf.learning_rate_ > 0
    np.testing.assert_array_equal(clf.coef_, 0.0)
    np.testing.assert_allclose(clf.predict_proba(X), 0.5)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_huge_features_fit_or_raise_a_clear_error(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[0, 0] = 20.0
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    # Around 1e200 the step 1 / L is not a float64 number (it was a
    # LinAlgError from the Lipschitz bound's Gram matrix).
    with pytest.raises(ValueError, match="largest \\|X\\| = 2e\\+201.*StandardScaler"):
        SoftmaxRegression(solver=solver).fit(X * 1e200, y)
    # 2e154 overflows the Gram matrix, but L ~ 1e306 and its step are
    # finite: without penalty or intercept the iterates are those on X
    # scaled by 1 / c, so the models predict alike.
    c = 1e153
    kw = dict(solver=solver, C=np.inf, fit_intercept=False, max_iter=20)
    kw.update(random_state=0, momentum=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        huge = SoftmaxRegression(**kw).fit(X * c, y)
        ref = SoftmaxRegression(**kw).fit(X, y)
    assert np.all(np.isfinite(huge.coef_))
    np.testing.assert_allclose(huge.coef_ * c, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(
        huge.predict_proba(X * c), ref.predict_proba(X), atol=1e-12
    )


# -------------------------------------------------------------------- weights
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_sample_weight_equals_repetition(solver):
    X, y = standardised("iris")
    rng = np.random.default_rng(0)
    sw = rng.integers(0, 4, size=X.shape[0])
    kw = dict(solver=solver, tol=1e-8, max_iter=100_000)
    weighted = SoftmaxRegression(**kw).fit(X, y, sample_weight=sw)
    repeated = SoftmaxRegression(**kw).fit(np.repeat(X, sw, 0), np.repeat(y, sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-5)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-5)


def test_class_weight_balanced_matches_logreg():
    X, y = standardised("wine")
    keep = np.r_[np.flatnonzero(y == 0)[:20], np.flatnonzero(y != 0)]
    X, y = X[keep], y[keep]
    sw = np.linspace(0.5, 2.0, X.shape[0])
    ours = SoftmaxRegression(class_weight="balanced", tol=1e-8).fit(
        X, y, sample_weight=sw
    )
    # "balanced" with sample weights: S / (K * weighted class counts), i.e.
    # LogisticRegression with the same weights passed as sample weights...
    counts = np.bincount(y, weights=sw)
    explicit = sw * (sw.sum() / (3 * counts))[y]
    ref = logreg(tol=1e-8).fit(X, y, sample_weight=explicit)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    # ... and LogisticRegression's own "balanced" where it weighs the counts
    # (scikit-learn >= 1.8, whose compute_class_weight takes sample_weight).
    if "sample_weight" in inspect.signature(compute_class_weight).parameters:
        ref = logreg(class_weight="balanced", tol=1e-8).fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(
            ours.predict_proba(X), ref.predict_proba(X), atol=1e-6
        )
    plain = SoftmaxRegression(tol=1e-8).fit(X, y, sample_weight=sw)
    assert np.abs(plain.predict_proba(X) - ours.predict_proba(X)).max() > 1e-3


def test_class_weight_dict_matches_logreg():
    X, y = standardised("iris")
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    ours = SoftmaxRegression(class_weight=cw, tol=1e-8).fit(X, y)
    ref = logreg(class_weight=cw, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


# ------------------------------------------------------------ input formats
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(fmt):
    X, y = standardised("digits")
    X[np.abs(X) < 0.5] = 0.0
    sw = np.linspace(0.1, 1.0, X.shape[0])
    dense = SoftmaxRegression(tol=1e-8).fit(X, y, sample_weight=sw)
    sparse = SoftmaxRegression(tol=1e-8).fit(sp.csr_matrix(X).asformat(fmt), y, sw)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-6)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-8
    )


def test_float32_stays_float32_and_agrees_with_float64():
    X, y = standardised("digits")
    X32 = X.astype(np.float32)
    clf32 = SoftmaxRegression(tol=1e-3).fit(X32, y)
    clf64 = SoftmaxRegression(tol=1e-3).fit(X, y)
    assert clf32.coef_.dtype == np.float32 and clf32.intercept_.dtype == np.float32
    assert clf64.coef_.dtype == np.float64
    assert clf32.predict_proba(X32).dtype == np.float32
    # measured: at most 2.4e-6 and 4.3e-6 apart (two machines)
    np.testing.assert_allclose(
        clf32.predict_proba(X32), clf64.predict_proba(X), atol=5e-5
    )


def test_float32_fit_makes_no_float64_copy_of_X():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 100)).astype(np.float32)  # 8 MB; float64: 16 MB
    y = rng.integers(0, 5, size=X.shape[0])
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            SoftmaxRegression(max_iter=3).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, peak


def test_float32_tight_tol_warns_with_gradient_norm():
    X, y = standardised("digits")
    with pytest.warns(ConvergenceWarning, match=r"max\|gradient\| = [0-9.e+-]+ > tol"):
        SoftmaxRegression(tol=1e-12).fit(X.astype(np.float32), y)


def test_string_labels_and_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = standardised("iris")
    names = np.array(["setosa", "versicolor", "virginica"])
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = SoftmaxRegression().fit(df, names[y])
    np.testing.assert_array_equal(clf.classes_, names)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.n_features_in_ == 4
    assert set(clf.predict(df)) <= set(names)
    assert clf.score(df, names[y]) > 0.9


# ------------------------------------------------------- attributes, output
def test_loss_curve_is_the_objective_per_iteration():
    X, y = standardised("wine")
    sw = np.linspace(1, 2, X.shape[0])
    clf = SoftmaxRegression(C=0.3).fit(X, y, sample_weight=sw)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] == pytest.approx(objective(clf, X, y, sw), rel=1e-10)
    # At w = 0 all classes are equally likely: the objective is log(K).
    assert clf.loss_curve_[0] < np.log(3)


def test_predict_log_proba_is_finite_where_proba_underflows():
    X, y = standardised("iris")
    clf = SoftmaxRegression(C=100.0).fit(X, y)
    X_far = X * 1e3
    proba = clf.predict_proba(X_far)
    log_proba = clf.predict_log_proba(X_far)
    assert np.any(proba == 0.0)
    assert np.all(np.isfinite(log_proba))
    ok = proba > 1e-300
    np.testing.assert_allclose(log_proba[ok], np.log(proba[ok]), rtol=1e-10)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))


def test_verbose_reports_every_iteration(capsys):
    X, y = standardised("iris")
    for solver in ("lbfgs", "gd"):
        clf = SoftmaxRegression(solver=solver, verbose=1).fit(X, y)
        lines = [ln for ln in capsys.readouterr().out.splitlines() if "objective" in ln]
        assert len(lines) == clf.n_iter_
        assert "max|grad|" in lines[-1]


def test_max_iter_reached_warns_and_counts():
    X, y = standardised("digits")
    for solver in ("lbfgs", "gd"):
        with pytest.warns(ConvergenceWarning, match="after 3 iterations"):
            clf = SoftmaxRegression(solver=solver, max_iter=3).fit(X, y)
        assert clf.n_iter_ == 3


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "sgd"])
def test_max_iter_0_returns_the_starting_model_with_a_warning(solver):
    # LogisticRegression accepts max_iter=0 (n_iter_ 0, ConvergenceWarning).
    X, y = standardised("iris")
    clf = SoftmaxRegression(solver=solver, max_iter=0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="after 0"):
        clf.fit(X, y)
    assert clf.n_iter_ == 0 and clf.loss_curve_ == []
    np.testing.assert_array_equal(clf.coef_, 0.0)
    np.testing.assert_array_equal(clf.intercept_, 0.0)
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3)
    # warm start: the previous model, unchanged
    clf.set_params(max_iter=3, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    coef, intercept = clf.coef_.copy(), clf.intercept_.copy()
    clf.set_params(max_iter=0)
    with pytest.warns(ConvergenceWarning, match="after 0"):
        clf.fit(X, y)
    assert clf.n_iter_ == 0
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(clf.intercept_, intercept)


def test_warm_start_continues():
    X, y = standardised("digits")
    clf = SoftmaxRegression(warm_start=True, max_iter=5)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    first = clf.loss_curve_[-1]
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.loss_curve_[0] < first  # started from the previous solution
    clf.set_params(max_iter=None)
    clf.fit(X, y)
    n_cold = SoftmaxRegression().fit(X, y).n_iter_
    clf.fit(X, y)  # from a converged solution: (almost) nothing left to do
    assert clf.n_iter_ <= 2 < n_cold
    cold = SoftmaxRegression(warm_start=False, max_iter=5)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
    assert cold.loss_curve_[-1] == pytest.approx(first)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
@pytest.mark.parametrize("interrupted", [False, True])
def test_warm_start_never_writes_into_the_previous_coef(
    solver, interrupted, monkeypatch
):
    # The case, with fewer rows: fit_intercept=False and more than
    # FLOAT32_HISTORY_MIN_PARAMS parameters, where the numpy L-BFGS used its
    # starting vector as a work buffer; that vector was a view of coef_.
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
    from sk_softmax._solvers import FLOAT32_HISTORY_MIN_PARAMS

    X = np.random.RandomState(0).randn(60, 26000)
    y = np.arange(60) % 10
    assert 10 * 26000 > FLOAT32_HISTORY_MIN_PARAMS
    clf = SoftmaxRegression(
        solver=solver, fit_intercept=False, warm_start=True, max_iter=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    old, old_intercept = clf.coef_, clf.intercept_
    snap = old.copy()
    clf.set_params(C=0.01)
    if interrupted:  # the refit dies in a late evaluation
        calls, fail_at = [], {"lbfgs": 6, "gd": 3}[solver]
        loss_gradient = ChunkedSoftmaxCrossEntropy.loss_gradient

        def failing(self, w):
            calls.append(1)
            if len(calls) == fail_at:
                raise RuntimeError("interrupted")
            return loss_gradient(self, w)

        monkeypatch.setattr(ChunkedSoftmaxCrossEntropy, "loss_gradient", failing)
        with pytest.raises(RuntimeError, match="interrupted"):
            clf.fit(X, y)
        assert clf.coef_ is old and clf.intercept_ is old_intercept
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        assert not np.array_equal(clf.coef_, snap)  # the refit did move
    np.testing.assert_array_equal(old, snap)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gd_max_iter_1_moves_and_warm_starts_progress(momentum):
    X, y = standardised("iris")
    clf = SoftmaxRegression(solver="gd", momentum=momentum, max_iter=1)
    clf.set_params(warm_start=True)
    losses = [np.log(3)]  # the objective at zero
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            clf.fit(X, y)
            assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
            assert clf.loss_curve_[-1] == pytest.approx(objective(clf, X, y))
            losses.append(objective(clf, X, y))
    assert np.all(np.diff(losses) < -1e-3)  # every one-update fit progresses


def test_pickle_round_trip():
    X, y = standardised("wine")
    clf = SoftmaxRegression().fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone.coef_, clf.coef_)


def test_pipeline_and_grid_search_over_C_and_solver():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SoftmaxRegression())
    grid = {
        "softmaxregression__C": [0.01, 1.0],
        "softmaxregression__solver": ["lbfgs", "gd"],
    }
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_params_["softmaxregression__C"] == 1.0
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == 4


def test_logistic_regression_param_grid_transfers():
    shared = {
        "C": 2.0,
        "fit_intercept": False,
        "solver": "lbfgs",
        "max_iter": 50,
        "tol": 1e-3,
        "class_weight": "balanced",
        "warm_start": True,
        "verbose": 0,
    }
    ours = SoftmaxRegression().set_params(**shared)
    ref = LogisticRegression().set_params(**shared)
    for key, value in shared.items():
        assert ours.get_params()[key] == ref.get_params()[key] == value
    assert SoftmaxRegression().get_params()["tol"] == LogisticRegression().tol
    assert SoftmaxRegression().get_params()["C"] == LogisticRegression().C


def test_read_only_memmap_inputs_and_caller_arrays_untouched(tmp_path):
    X, y = standardised("iris")
    sw = np.linspace(0.5, 1.5, X.shape[0])
    paths = {}
    for name, arr in {"X": X, "y": y, "sw": sw}.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], arr)
    Xm, ym, swm = (np.load(paths[k], mmap_mode="r") for k in ("X", "y", "sw"))
    for solver in ("lbfgs", "gd"):
        clf = SoftmaxRegression(solver=solver, class_weight="balanced")
        clf.fit(Xm, ym, sample_weight=swm)
        clf.predict_proba(Xm)
    np.testing.assert_array_equal(np.load(paths["X"]), X)
    np.testing.assert_array_equal(Xm, X)
    np.testing.assert_array_equal(swm, sw)
    X_copy, sw_copy = X.copy(), sw.copy()
    SoftmaxRegression(class_weight="balanced").fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(sw, sw_copy)


# ---------------------------------------------------------------- bad input
def _data():
    X, y = standardised("iris")
    return X.copy(), y.copy()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"C": 0.0}, "'C' parameter .* must be a float in the range \\(0.0, inf\\]"),
        ({"C": -1.0}, "'C' parameter"),
        ({"solver": "newton"}, "'solver' parameter .* must be a str among"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter"),
        ({"learning_rate": -0.1}, "'learning_rate' parameter"),
        ({"learning_rate": "fast"}, "'learning_rate' parameter"),
        ({"max_iter": -1}, "'max_iter' parameter .* range \\[0, inf\\)"),
        ({"tol": -1.0}, "'tol' parameter"),
        ({"momentum": 1.0}, "'momentum' parameter"),
        ({"class_weight": "auto"}, "'class_weight' parameter"),
        ({"chunk_size": 0}, "'chunk_size' parameter"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression(**params).fit(X, y)


def test_bad_X_raises():
    X, y = _data()
    for bad_value, word in [(np.nan, "NaN"), (np.inf, "infinity")]:
        Xb = X.copy()
        Xb[3, 1] = bad_value
        with pytest.raises(ValueError, match=f"Input X contains {word}"):
            SoftmaxRegression().fit(Xb, y)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        SoftmaxRegression().fit(X.reshape(15, 10, 4), y[:15])
    with pytest.raises(ValueError, match="could not convert string to float"):
        SoftmaxRegression().fit(np.array([["a", "b"]] * 10), [0, 1] * 5)
    with pytest.raises(TypeError):
        SoftmaxRegression().fit({"a": 1}, y)


def test_bad_y_raises():
    X, y = _data()
    yb = y.astype(float)
    yb[4] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        SoftmaxRegression().fit(X, yb)
    with pytest.raises(ValueError, match="only one class: 0"):
        SoftmaxRegression().fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxRegression().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        SoftmaxRegression().fit(X, np.linspace(0, 1, len(y)))


def test_bad_sample_weight_raises():
    X, y = _data()
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        SoftmaxRegression().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="at least one non-zero number"):
        SoftmaxRegression().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight.shape =="):
        SoftmaxRegression().fit(X, y, sample_weight=np.ones(len(y) - 1))
    sw = np.where(y == 0, 1.0, 0.0)
    with pytest.raises(ValueError, match="all zero"):
        SoftmaxRegression(class_weight={0: 0.0, 1: 1.0, 2: 1.0}).fit(X, y, sw)


def test_predict_errors():
    X, y = _data()
    with pytest.raises(NotFittedError):
        SoftmaxRegression().predict(X)
    with pytest.raises(NotFittedError):
        SoftmaxRegression().predict_proba(X)
    clf = SoftmaxRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but SoftmaxRegression"):
        clf.predict(X[:, :3])
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict_proba(Xb)


# ------------------------------------------------- small problems: Newton
def _independent_max_gradient(clf, X, y, C):
    """max |gradient| of the mean-scaled objective, in float64 from scratch."""
    Z = X @ clf.coef_.T + clf.intercept_
    G = np.exp(log_softmax(Z, axis=1))
    G[np.arange(len(y)), np.searchsorted(clf.classes_, y)] -= 1.0
    gW = G.T @ X / len(y) + clf.coef_ / (C * len(y))
    gb = G.sum(axis=0) / len(y)
    return max(np.abs(gW).max(), np.abs(gb).max())


@functools.lru_cache
def _newton_cg_reference(name):
    """Standardised data and LogisticRegression(newton-cg, tol=1e-10) on it.

    Computed once per data set (digits takes seconds) for both solvers below.
    """
    loader = {"breast_cancer": load_breast_cancer, **LOADERS}[name]
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    # SoftmaxRegression(C=1) is LogisticRegression(C=2) for two classes.
    C = 2.0 if len(np.unique(y)) == 2 else 1.0
    return X, y, logreg(C=C, tol=1e-10, solver="newton-cg").fit(X, y)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
@pytest.mark.parametrize("solver", ["newton-cholesky", "auto"])
def test_newton_cholesky_reaches_tol_and_logistic_regressions_optimum(name, solver):
    X, y, ref = _newton_cg_reference(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # tol=1e-10: at 1e-8 L-BFGS's iterate is still 1.6e-6 away in
        # probability on digits (see above); Newton's is 1e-9 away.
        ours = SoftmaxRegression(solver=solver, tol=1e-10).fit(X, y)
    expected = "lbfgs" if (solver == "auto" and name == "digits") else "newton-cholesky"
    assert ours.solver_ == expected
    assert _independent_max_gradient(ours, X, y, C=1.0) <= 1e-10
    # Newton's method converges quadratically: a handful of iterations.
    if ours.solver_ == "newton-cholesky":
        assert ours.n_iter_ <= 12 and len(ours.loss_curve_) == ours.n_iter_
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    # The common shift of the intercepts (a null direction) does not drift.
    assert abs(ours.intercept_.sum()) < 1e-8


def test_newton_cholesky_matches_lbfgs_with_weights_and_soft_targets():
    X, y = standardised("wine")
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.2, 3.0, size=len(y))
    Y = 0.7 * np.eye(3)[y] + 0.3 * rng.dirichlet(np.ones(3), size=len(y))
    for target, kw in [
        (y, dict(class_weight="balanced", C=0.3)),
        (Y, dict(label_smoothing=0.1, C=np.inf)),
        (y, dict(fit_intercept=False, C=5.0)),
    ]:
        fits = [
            SoftmaxRegression(solver=s, tol=1e-10, **kw).fit(
                X, target, sample_weight=sw
            )
            for s in ("newton-cholesky", "lbfgs")
        ]
        np.testing.assert_allclose(
            fits[0].predict_proba(X), fits[1].predict_proba(X), atol=1e-7
        )


def test_newton_cholesky_float32_sparse_warm_start_and_max_iter():
    X, y = standardised("iris")
    dense = SoftmaxRegression(solver="newton-cholesky", tol=1e-8).fit(X, y)
    sparse = SoftmaxRegression(solver="newton-cholesky", tol=1e-8).fit(
        sp.csr_matrix(X), y
    )
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-10)
    f32 = SoftmaxRegression(solver="newton-cholesky").fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    np.testing.assert_allclose(f32.predict_proba(X), dense.predict_proba(X), atol=1e-3)
    # A warm start at the optimum runs no iteration; max_iter counts iterations.
    warm = SoftmaxRegression(solver="newton-cholesky", warm_start=True, tol=1e-8)
    warm.fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 0 and warm.loss_curve_ == []
    with pytest.warns(ConvergenceWarning, match="newton-cholesky.*Increase max_iter"):
        short = SoftmaxRegression(solver="newton-cholesky", max_iter=2).fit(X, y)
    assert short.n_iter_ == 2


def test_auto_solver_choice_follows_the_problem_size():
    X, y = standardised("iris")
    assert SoftmaxRegression().fit(X, y).solver_ == "newton-cholesky"
    assert SoftmaxRegression(solver="lbfgs").fit(X, y).solver_ == "lbfgs"
    # n * n_params^2 beyond 3e6: L-BFGS (digits: 1797 * 650^2).
    Xd, yd = standardised("digits")
    assert SoftmaxRegression(tol=1.0).fit(Xd, yd).solver_ == "lbfgs"
    # partial_fit always runs SGD.
    clf = SoftmaxRegression().partial_fit(X, y, classes=[0, 1, 2])
    assert clf.solver_ == "sgd"


def test_two_class_newton_runs_on_the_rows_difference_with_the_same_iterates(
    monkeypatch,
):
    # Two classes: Newton solves (d + 1)-sized systems instead of 2 (d + 1)
    # (a quarter of the Hessian), with the full run's iterates (Newton's
    # method is invariant under the change of variables); a warm start whose
    # rows are not opposite runs the full problem.
    from sk_softmax import _fit
    from sk_softmax._solvers import _newton_cholesky

    X, y = (
        StandardScaler().fit_transform(load_breast_cancer(return_X_y=True)[0]),
        (load_breast_cancer(return_X_y=True)[1]),
    )
    sizes = []
    direction = _newton_cholesky.cholesky_direction

    def recorded(H, g, NNt, solve):
        sizes.append(H.shape[0])
        return direction(H, g, NNt, solve)

    monkeypatch.setattr(_newton_cholesky, "cholesky_direction", recorded)
    seen = []

    def on_iteration(w, loss, gmax):
        seen.append(w.copy())
        return False

    settings = _fit.FitSettings.for_fit(
        SoftmaxRegression(tol=1e-10), ChunkedSoftmaxCrossEntropy(X, y, 2)
    )
    obj = ChunkedSoftmaxCrossEntropy(X, y, 2)
    w0 = np.zeros(obj.n_params)
    fast = _fit.fit_solver(obj, w0, settings, callback=on_iteration).result
    assert set(sizes) == {X.shape[1] + 1}
    assert len(seen) == fast.n_iter and seen[-1].shape == (obj.n_params,)
    np.testing.assert_array_equal(seen[-1], fast.x)
    sizes.clear()
    monkeypatch.setattr(ChunkedSoftmaxCrossEntropy, "binary", lambda self: None)
    full = _fit.fit_solver(obj, w0, settings).result
    assert set(sizes) == {2 * (X.shape[1] + 1)}
    assert fast.n_iter == full.n_iter and fast.converged and full.converged
    np.testing.assert_allclose(fast.loss_curve, full.loss_curve, rtol=1e-13)
    np.testing.assert_allclose(fast.x, full.x, rtol=1e-9, atol=1e-12)
    # The estimator: same model as LogisticRegression(C=2)'s optimum, rows
    # exactly opposite; a warm start from it keeps them so.
    monkeypatch.undo()
    clf = SoftmaxRegression(tol=1e-10, warm_start=True).fit(X, y)
    np.testing.assert_array_equal(clf.coef_[0], -clf.coef_[1])
    assert _independent_max_gradient(clf, X, y, C=1.0) <= 1e-10
    clf.set_params(C=0.5).fit(X, y)
    np.testing.assert_array_equal(clf.coef_[0], -clf.coef_[1])
