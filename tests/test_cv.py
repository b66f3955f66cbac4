"""SoftmaxRegressionCV against LogisticRegressionCV (same grid, same folds,
tight tol: same chosen C, same scores, same paths), its own definitions
(refit=False means, warm-started paths equal to cold fits), and the estimator
checks."""

import functools
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn

# LogisticRegressionCV with 1.8's l1_ratios / use_legacy_attributes on every
# scikit-learn version (tests/_sklearn_versions.py).
from _sklearn_versions import SKLEARN_VERSION, lrcv, needs_sklearn
from sklearn.datasets import (
    load_breast_cancer,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_softmax import SoftmaxRegression, SoftmaxRegressionCV

# Tight enough that both estimators are within ~1e-6 of the optimum in
# probability for these Cs (at C = 1e4 L-BFGS-B stops on its ftol first).
TOL = 1e-8
CS = np.logspace(-3, 2, 6)


def _penalised_objective(X, y, coef, intercept, C, l1_ratio):
    """``sum_i CE_i + (l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2) / C``,
    computed in float64 independently of the package."""
    Z = X @ coef.T + intercept
    Zmax = Z.max(axis=1, keepdims=True)
    logp = Z - Zmax - np.log(np.exp(Z - Zmax).sum(axis=1, keepdims=True))
    data = -logp[np.arange(len(y)), y].sum()
    pen = l1_ratio * np.abs(coef).sum() + (1 - l1_ratio) / 2 * (coef**2).sum()
    return data + pen / C


def _standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _blobs():
    X, y = make_classification(
        n_samples=300, n_features=12, n_informative=6, n_classes=4, random_state=0
    )
    return X, y


DATA = {
    "iris": functools.partial(_standardised, load_iris),
    "wine": functools.partial(_standardised, load_wine),
    "blobs4": _blobs,
}


@functools.cache
def _reference(name, scoring, weighted=False, class_weight=None, refit=True):
    """LogisticRegressionCV (L-BFGS at tol=1e-8) on ``name``; cached."""
    X, y = DATA[name]()
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    lr = lrcv(
        Cs=CS,
        cv=StratifiedKFold(4, shuffle=True, random_state=0),
        scoring=scoring,
        tol=TOL,
        max_iter=10000,
        l1_ratios=(0,),
        use_legacy_attributes=False,
        class_weight=class_weight,
        refit=refit,
    ).fit(X, y, sample_weight=sw)
    return X, y, sw, lr


# LogisticRegressionCV's future defaults, without their FutureWarnings (the
# "warn" defaults themselves: test_defaults_and_warnings_are_lrcvs).
FUTURE_DEFAULTS = dict(l1_ratios=(0.0,), scoring=None, use_legacy_attributes=False)


def _cv(**params):
    """``SoftmaxRegressionCV(**params)`` with :data:`FUTURE_DEFAULTS`."""
    return SoftmaxRegressionCV(**{**FUTURE_DEFAULTS, **params})


def _ours(X, y, sw=None, **params):
    params = {
        "Cs": CS,
        "cv": StratifiedKFold(4, shuffle=True, random_state=0),
        "tol": TOL,
        **params,
    }
    return _cv(**params).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("scoring", ["neg_log_loss", None])
def test_same_choice_scores_and_paths_as_logistic_regression_cv(name, scoring):
    X, y, _, lr = _reference(name, scoring)
    clf = _ours(X, y, scoring=scoring)
    assert clf.C_ == lr.C_ and clf.l1_ratio_ == lr.l1_ratio_ == 0.0
    np.testing.assert_array_equal(clf.Cs_, lr.Cs_)
    assert clf.scores_.shape == lr.scores_.shape == (4, 1, len(CS))
    assert clf.coefs_paths_.shape == lr.coefs_paths_.shape
    np.testing.assert_allclose(clf.scores_, lr.scores_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(clf.coefs_paths_, lr.coefs_paths_, atol=2e-4)
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-5)
    assert clf.n_iter_.shape == lr.n_iter_.shape


def test_binary_model_of_C_is_logistic_regressions_of_2C():
    X, y = _standardised(load_breast_cancer)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    lr = lrcv(
        Cs=2 * CS,
        cv=cv,
        scoring="neg_log_loss",
        tol=TOL,
        max_iter=10000,
        l1_ratios=(0,),
        use_legacy_attributes=False,
    ).fit(X, y)
    clf = _cv(Cs=CS, cv=cv, scoring="neg_log_loss", tol=TOL).fit(X, y)
    assert clf.C_ == lr.C_ / 2
    np.testing.assert_allclose(clf.scores_, lr.scores_, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-5)
    # Two rows, w_1 = -w_0 = beta / 2: the path holds both.
    W = clf.coefs_paths_[..., :-1]
    np.testing.assert_allclose(
        W[..., 1, :] - W[..., 0, :], lr.coefs_paths_[..., 0, :-1], atol=1e-3
    )


@needs_sklearn(
    (1, 7),
    "LogisticRegressionCV weighs class_weight='balanced' by sample_weight from "
    "1.7 (as this package does on every version)",
)
def test_sample_and_class_weights_as_logistic_regression_cv():
    X, y, sw, lr = _reference(
        "wine", "neg_log_loss", weighted=True, class_weight="balanced"
    )
    clf = _ours(X, y, sw, scoring="neg_log_loss", class_weight="balanced")
    assert clf.C_ == lr.C_
    np.testing.assert_allclose(clf.scores_, lr.scores_, atol=1e-5)
    np.testing.assert_allclose(clf.coef_, lr.coef_, atol=1e-4)
    # The weights matter: unweighted scores differ.
    plain = _ours(X, y, scoring="neg_log_loss")
    assert np.abs(plain.scores_ - clf.scores_).max() > 1e-3


def test_integer_weights_are_repetitions_for_the_refit():
    X, y = _standardised(load_iris)
    sw = np.random.default_rng(1).integers(0, 3, len(y))
    # The same folds: fold g holds the rows (and their copies) of group g.
    groups = np.arange(len(y)) % 5
    rows = np.repeat(np.arange(len(y)), sw)

    def folds(g):
        return [(np.flatnonzero(g != k), np.flatnonzero(g == k)) for k in range(5)]

    cv, cv_rep = folds(groups), folds(groups[rows])
    w = _ours(X, y, sw, cv=cv, scoring="neg_log_loss")
    r = _ours(X[rows], y[rows], cv=cv_rep, scoring="neg_log_loss")
    assert w.C_ == r.C_
    np.testing.assert_allclose(w.scores_, r.scores_, atol=1e-6)
    np.testing.assert_allclose(w.coef_, r.coef_, atol=1e-5)


def test_refit_false_averages_the_folds_best_models():
    X, y, _, lr = _reference("blobs4", "neg_log_loss", refit=False)
    clf = _ours(X, y, scoring="neg_log_loss", refit=False)
    best = clf.scores_[:, 0, :].argmax(axis=1)  # per fold, one l1_ratio
    assert clf.C_ == pytest.approx(np.mean(CS[best]))
    assert clf.C_ == pytest.approx(lr.C_)
    paths = clf.coefs_paths_[np.arange(4), 0, best]  # (folds, K, n_dof)
    np.testing.assert_allclose(clf.coef_, paths.mean(axis=0)[:, :-1])
    np.testing.assert_allclose(clf.intercept_, paths.mean(axis=0)[:, -1])
    np.testing.assert_allclose(clf.coef_, lr.coef_, atol=1e-4)
    assert clf.l1_ratio_ == lr.l1_ratio_ == 0.0


def test_refit_starts_from_the_folds_and_reaches_the_full_data_optimum():
    X, y = _standardised(load_wine)
    clf = _ours(X, y, scoring="neg_log_loss")
    direct = SoftmaxRegression(C=clf.C_, tol=TOL).fit(X, y)
    np.testing.assert_allclose(clf.coef_, direct.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, direct.intercept_, atol=1e-6)


def test_warm_started_path_equals_cold_fits_in_any_grid_order():
    X, y = _blobs()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    Cs = np.array([1.0, 1e-3, 100.0, 0.1])  # not sorted
    clf = _cv(Cs=Cs, cv=cv, scoring="neg_log_loss", tol=TOL).fit(X, y)
    np.testing.assert_array_equal(clf.Cs_, Cs)
    train, _ = next(cv.split(X, y))
    for j, C in enumerate(Cs):
        cold = SoftmaxRegression(C=C, tol=TOL).fit(X[train], y[train])
        path = clf.coefs_paths_[0, 0, j]
        np.testing.assert_allclose(path[:, :-1], cold.coef_, atol=1e-6)
    # Warm starts: the weakest penalties start near their optimum.
    order = np.argsort(Cs)
    cold_iters = [
        SoftmaxRegression(C=C, tol=TOL, solver="lbfgs").fit(X[train], y[train]).n_iter_
        for C in Cs[order]
    ]
    lbfgs = _cv(Cs=Cs, cv=cv, tol=TOL, solver="lbfgs").fit(X, y)
    assert lbfgs.n_iter_[0, 0, order].sum() < sum(cold_iters)


def test_scoring_strings_and_callables():
    X, y, _, lr = _reference("blobs4", None)
    macro_f1 = make_scorer(f1_score, average="macro")

    def callable_scorer(est, X, y):
        return -np.mean(np.abs(est.predict_proba(X) - np.eye(4)[y]))

    for scoring in ("f1_macro", macro_f1, callable_scorer, "roc_auc_ovr"):
        clf = _ours(X, y, scoring=scoring)
        ref = lrcv(
            Cs=CS,
            cv=StratifiedKFold(4, shuffle=True, random_state=0),
            scoring=scoring,
            tol=TOL,
            max_iter=10000,
            l1_ratios=(0,),
            use_legacy_attributes=False,
        ).fit(X, y)
        assert clf.C_ == ref.C_
        np.testing.assert_allclose(clf.scores_, ref.scores_, atol=1e-4)
        assert clf.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-4)
    # scoring=None is accuracy, also for score().
    clf = _ours(X, y)
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


def test_legacy_attributes_have_logistic_regression_cv_layout():
    X, y = _standardised(load_iris)
    common = dict(Cs=CS, cv=3, tol=TOL, scoring="neg_log_loss")
    # Before 1.8 LogisticRegressionCV's only L2 grid is None (penalty="l2").
    grids = ((0.0,), None) if SKLEARN_VERSION >= (1, 8) else (None,)
    for l1_ratios in grids:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # l1_ratios=None
            lr = lrcv(
                **common,
                max_iter=10000,
                l1_ratios=l1_ratios,
                use_legacy_attributes=True,
            ).fit(X, y)
            clf = _cv(**common, l1_ratios=l1_ratios, use_legacy_attributes=True).fit(
                X, y
            )
        assert set(clf.coefs_paths_) == set(lr.coefs_paths_)
        for k in lr.coefs_paths_:
            assert clf.coefs_paths_[k].shape == lr.coefs_paths_[k].shape
            np.testing.assert_allclose(
                clf.coefs_paths_[k], lr.coefs_paths_[k], atol=2e-4
            )
            np.testing.assert_allclose(clf.scores_[k], lr.scores_[k], atol=1e-5)
        assert clf.n_iter_.shape == lr.n_iter_.shape
        np.testing.assert_array_equal(clf.C_, lr.C_)
        np.testing.assert_array_equal(clf.l1_ratio_, lr.l1_ratio_)
        np.testing.assert_array_equal(clf.l1_ratios_, lr.l1_ratios_)


def test_l1_ratios_grid_as_logistic_regression_cv_saga():
    # LogisticRegressionCV needs saga for l1_ratio > 0; at C <= 0.01 saga
    # stops early on its own criterion (intercepts off by 1e-2 where W = 0
    # and the exact intercepts are the centred log class frequencies), so
    # the grid starts at 0.1.
    X, y = _standardised(load_iris)
    Cs, l1_ratios = [0.1, 1.0, 10.0], [0.0, 0.5, 1.0]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    common = dict(Cs=Cs, cv=cv, l1_ratios=l1_ratios, tol=TOL, scoring="neg_log_loss")
    lr = lrcv(
        **common, solver="saga", max_iter=100000, use_legacy_attributes=False
    ).fit(X, y)
    clf = _cv(**common).fit(X, y)
    assert (clf.C_, clf.l1_ratio_) == (lr.C_, lr.l1_ratio_) == (10.0, 1.0)
    np.testing.assert_array_equal(clf.l1_ratios_, lr.l1_ratios_)
    assert clf.scores_.shape == lr.scores_.shape == (3, 3, 3)
    np.testing.assert_allclose(clf.scores_, lr.scores_, atol=1e-5)
    np.testing.assert_allclose(
        clf.coefs_paths_[..., :-1], lr.coefs_paths_[..., :-1], atol=2e-3
    )
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-4)
    # Each path entry is the fold's optimum: a cold fit finds it too.
    train, _ = next(cv.split(X, y))
    Xt, yt = X[train], y[train]
    for i, r in enumerate(l1_ratios):
        for j, C in enumerate(Cs):
            cold = SoftmaxRegression(C=C, l1_ratio=r, tol=TOL).fit(Xt, yt)
            path = clf.coefs_paths_[0, i, j]
            # Same objective value (one independent function) ...
            f_path = _penalised_objective(Xt, yt, path[:, :-1], path[:, -1], C, r)
            f_cold = _penalised_objective(Xt, yt, cold.coef_, cold.intercept_, C, r)
            assert f_path == pytest.approx(f_cold, rel=1e-9)
            # ... while the weights are ill-conditioned (correlated petal
            # features; no strong convexity at l1_ratio=1): measured up to
            # 1.4e-4 apart at tol=1e-8 when the kernel's rounding changes.
            np.testing.assert_allclose(path[:, :-1], cold.coef_, atol=1e-3)
    # L1 gives exact zeros along the path; refit=False averages l1_ratio.
    assert np.any(clf.coefs_paths_[:, 2] == 0.0)
    avg = _cv(**common, refit=False).fit(X, y)
    best = [np.unravel_index(np.argmax(s.T), s.T.shape) for s in avg.scores_]
    assert avg.l1_ratio_ == pytest.approx(np.mean([l1_ratios[li] for _, li in best]))


def test_l1_ratios_grid_and_penalty_mapping():
    X, y = _standardised(load_iris)
    with pytest.warns(FutureWarning, match="'l1_ratios=None' was deprecated"):
        _cv(Cs=3, l1_ratios=None).fit(X, y)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        clf = _cv(Cs=3, penalty="l2", l1_ratios=None).fit(X, y)
    ref = _cv(Cs=3).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, ref.coef_)
    # Two zero entries: the same path twice.
    two = _cv(Cs=3, l1_ratios=[0.0, 0.0]).fit(X, y)
    np.testing.assert_array_equal(two.scores_[:, 0], two.scores_[:, 1])
    with pytest.raises(ValueError, match="newton-cholesky.*l1_ratio > 0"):
        _cv(Cs=3, l1_ratios=[0.5], solver="newton-cholesky").fit(X, y)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="l1_ratios must"):
        _cv(penalty="elasticnet", l1_ratios=None).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dual": True}, "dual=True is not supported"),
        ({"solver": "saga"}, "is a LogisticRegression solver"),
        ({"solver": "sgd"}, "must be a str among"),
        ({"Cs": [1.0, -1.0]}, "Cs must be a positive"),
        ({"Cs": 0}, "Cs"),
        ({"cv": "five"}, "cv"),
    ],
)
def test_bad_parameters_are_clear_errors(params, match):
    X, y = _standardised(load_iris)
    with pytest.raises(ValueError, match=match):
        _cv(**params).fit(X, y)


def test_soft_targets_are_rejected():
    X, y = _standardised(load_iris)
    with pytest.raises(ValueError, match="takes class labels"):
        _cv().fit(X, np.eye(3)[y])


def test_sparse_input_gives_the_dense_result():
    X, y = _standardised(load_wine)
    X[np.abs(X) < 0.5] = 0.0
    dense = _ours(X, y, scoring="neg_log_loss")
    sparse = _ours(sp.csr_matrix(X), y, scoring="neg_log_loss")
    assert sparse.C_ == dense.C_
    np.testing.assert_allclose(sparse.scores_, dense.scores_, atol=1e-8)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-6)
    sparse.sparsify()
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X), atol=1e-6
    )


def test_newton_cg_paths_give_the_lbfgs_result():
    # Wide sparse data: "auto" runs the preconditioned newton-cg along the
    # paths; the same choice and scores as lbfgs (an independent solver).
    rng = np.random.default_rng(0)
    X = sp.random(120, 600, density=0.05, random_state=rng).toarray()
    y = rng.integers(0, 3, 120)
    X[np.arange(120), y] = 3.0  # a signal per class
    X = sp.csr_matrix(X)
    auto = _ours(X, y, scoring="neg_log_loss")
    lbfgs = _ours(X, y, scoring="neg_log_loss", solver="lbfgs")
    assert auto.C_ == lbfgs.C_
    np.testing.assert_allclose(auto.scores_, lbfgs.scores_, atol=1e-6)
    # the refits' objectives agree (weak penalty: the weights are
    # ill-conditioned, measured 3.5e-5 apart at tol=1e-8)
    f = [
        _penalised_objective(X, y, m.coef_, m.intercept_, m.C_, 0.0)
        for m in (auto, lbfgs)
    ]
    assert f[0] == pytest.approx(f[1], rel=1e-9)
    np.testing.assert_allclose(auto.coef_, lbfgs.coef_, atol=1e-4)


def test_float32_is_kept():
    X, y = _standardised(load_iris)
    clf = _cv(Cs=3).fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_unconverged_paths_give_one_warning():
    X, y = _standardised(load_wine)
    with pytest.warns(ConvergenceWarning) as record:
        _cv(Cs=10, cv=3, max_iter=1, solver="lbfgs").fit(X, y)
    messages = [str(w.message) for w in record]
    assert (
        len([m for m in messages if "of the 30 fits of the regularisation" in m]) == 1
    )
    assert len([m for m in messages if "The refit on all the data" in m]) == 1


def test_groups_are_routed_to_the_splitter():
    X, y = _standardised(load_iris)
    groups = np.arange(len(y)) % 3
    with sklearn.config_context(enable_metadata_routing=True):
        clf = _cv(Cs=3, cv=GroupKFold(3)).fit(X, y, groups=groups)
    expected = _ours(X, y, cv=list(GroupKFold(3).split(X, y, groups)), Cs=3)
    np.testing.assert_array_equal(clf.scores_, expected.scores_)
    with pytest.raises(ValueError, match="groups"):
        _cv(Cs=3).fit(X, y, groups=groups)


def test_parallel_folds_give_the_serial_result():
    # Threads: run in a subprocess with a timeout.
    code = textwrap.dedent(
        """
        import numpy as np
        from sklearn.datasets import load_wine
        from sklearn.preprocessing import StandardScaler
        from sk_softmax import SoftmaxRegressionCV
        X, y = load_wine(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        kw = dict(l1_ratios=(0.0,), scoring="neg_log_loss",
                  use_legacy_attributes=False)
        a = SoftmaxRegressionCV(n_jobs=1, **kw).fit(X, y)
        b = SoftmaxRegressionCV(n_jobs=2, **kw).fit(X, y)
        assert a.C_ == b.C_
        np.testing.assert_array_equal(a.scores_, b.scores_)
        np.testing.assert_array_equal(a.coef_, b.coef_)
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


_N_ITER_REASON = (
    "a warm-started fit of the path whose starting point (the previous C's "
    "optimum) already meets tol takes 0 iterations, and n_iter_ says so"
)


@parametrize_with_checks(
    [
        _cv(cv=3),
        _cv(
            Cs=4,
            cv=3,
            refit=False,
            use_legacy_attributes=True,
            scoring="neg_log_loss",
        ),
    ],
    # The coarse grid (Cs=4) happens to need at least one iteration per C.
    expected_failed_checks=lambda est: (
        {"check_non_transformer_estimators_n_iter": _N_ITER_REASON}
        if est.Cs == 10
        else {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("l1_ratios", [[], (), np.array([])])
def test_an_empty_l1_ratios_grid_is_a_clear_error(l1_ratios):
    # Issue 20: "need at least one array to stack" from deep in fit.
    X, y = _standardised(load_iris)
    match = r"l1_ratios must be an array-like of numbers between 0 and 1; got"
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressionCV(Cs=2, l1_ratios=l1_ratios).fit(X, y)
    with pytest.raises(ValueError, match=match):  # before penalty's warning
        SoftmaxRegressionCV(Cs=2, penalty="l2", l1_ratios=l1_ratios).fit(X, y)


def _warnings_of(est, X, y):
    """Sorted ``(category, message)`` of ``est.fit`` (not convergence)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return sorted(
        (w.category.__name__, str(w.message).replace(type(est).__name__, "CV"))
        for w in caught
        if not issubclass(w.category, ConvergenceWarning)
    )


@needs_sklearn((1, 9), "compares with LogisticRegressionCV 1.9's defaults")
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"scoring": None},
        {"use_legacy_attributes": True},
        {"l1_ratios": (0.0,)},
        {"l1_ratios": None, "scoring": "neg_log_loss"},
        {"penalty": "l2"},
        {"penalty": "l2", "l1_ratios": (0.0,)},
        FUTURE_DEFAULTS,
    ],
)
def test_defaults_and_warnings_are_lrcvs(params):
    # Code written for LogisticRegressionCV 1.9.1 (scores_.values(), C_[0])
    # runs unchanged: same defaults, same warnings for the same arguments,
    # same attribute types and shapes.
    from sklearn.linear_model import LogisticRegressionCV

    ours_defaults = SoftmaxRegressionCV().get_params()
    lr_defaults = LogisticRegressionCV().get_params()
    for name in ("Cs", "l1_ratios", "scoring", "use_legacy_attributes", "penalty"):
        assert ours_defaults[name] == lr_defaults[name]
    X, y = _standardised(load_iris)
    common = dict(Cs=3, cv=3, **params)
    ours = SoftmaxRegressionCV(**common)
    lr = LogisticRegressionCV(**common, max_iter=1000)
    assert _warnings_of(ours, X, y) == _warnings_of(lr, X, y)
    for name in ("coefs_paths_", "scores_", "C_", "l1_ratio_", "n_iter_"):
        a, b = getattr(ours, name), getattr(lr, name)
        assert type(a) is type(b), name
        if isinstance(a, dict):
            assert list(a) == list(b)
            a, b = next(iter(a.values())), next(iter(b.values()))
        assert np.shape(a) == np.shape(b), name
    np.testing.assert_array_equal(ours.l1_ratios_, lr.l1_ratios_)
    assert ours.score(X, y) == pytest.approx(lr.score(X, y), abs=0.05)


def test_default_warnings_on_every_scikit_learn_version():
    # The "warn" defaults warn (and mean legacy layout, L2, accuracy) whatever
    # scikit-learn is installed; explicit values silence them.
    X, y = _standardised(load_iris)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = SoftmaxRegressionCV(Cs=3, cv=3).fit(X, y)
    messages = [str(w.message) for w in caught if w.category is FutureWarning]
    assert any("default value for l1_ratios will change" in m for m in messages)
    assert any("parameter 'scoring' will change" in m for m in messages)
    assert any("use_legacy_attributes=False" in m for m in messages)
    assert isinstance(clf.scores_, dict) and list(clf.scores_) == [0, 1, 2]
    assert clf.scores_[0].shape == (3, 3) and clf.C_.shape == (3,)
    np.testing.assert_array_equal(clf.l1_ratios_, np.array([None]))
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        quiet = _cv(Cs=3, cv=3).fit(X, y)
    np.testing.assert_array_equal(quiet.coef_, clf.coef_)


@needs_sklearn((1, 9), "sklearn.callback")
def test_set_callbacks_is_lrcvs_and_fit_says_it_calls_none():
    from sklearn.callback import ProgressBar
    from sklearn.linear_model import LogisticRegressionCV

    X, y = _standardised(load_iris)
    clf = _cv(Cs=3, cv=3)
    assert clf.set_callbacks(ProgressBar()) is clf
    for est in (clf, LogisticRegressionCV()):
        with pytest.raises(TypeError, match="FitCallback protocol"):
            est.set_callbacks(object())
    with pytest.warns(UserWarning, match="calls no callback"):
        clf.fit(X, y)
    plain = _cv(Cs=3, cv=3).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, plain.coef_)


@pytest.mark.skipif(SKLEARN_VERSION >= (1, 9), reason="scikit-learn < 1.9 only")
def test_set_callbacks_needs_scikit_learn_1_9():
    for est in (_cv(), SoftmaxRegression()):
        with pytest.raises(NotImplementedError, match=r"needs scikit-learn >= 1\.9"):
            est.set_callbacks()
