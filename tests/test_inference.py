"""Statistical inference (``SoftmaxRegression.inference``) against independent truths.

The truths: statsmodels' ``MNLogit`` (an independent implementation of the
same model: Newton fit, its own Hessian, scores, sandwiches and numerical
marginal-effect Jacobians), finite differences of the log-likelihood and of
``predict_proba``, scipy.stats, repeated rows for frequency weights, and
the in-memory computation for Dask input. The estimator is fitted at
``C=np.inf`` with a tight ``tol`` so that its parameters equal statsmodels'
to ~1e-9.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn.datasets import load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression, _inference
from sk_softmax.inference import IllConditionedWarning, InferenceResults

sm = pytest.importorskip("statsmodels.api")

MLE = dict(C=np.inf, tol=1e-10, max_iter=2000)


def _classification():
    return make_classification(
        n_samples=400,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        class_sep=0.7,
        random_state=0,
    )


def _iris_two_classes():
    X, y = load_iris(return_X_y=True)
    return X[50:], y[50:]  # versicolor / virginica overlap: the MLE exists


def _wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X[:, [0, 1, 9]]), y


def _iris_one_feature():
    X, y = load_iris(return_X_y=True)
    return X[:, [1]], y


DATASETS = {
    "classification": _classification,
    "iris_two_classes": _iris_two_classes,
    "wine": _wine,
    "iris_one_feature": _iris_one_feature,
}


def _statsmodels(X, y, cov_type="nonrobust", groups=None):
    model = sm.MNLogit(y, sm.add_constant(X, has_constant="add"))
    kw = dict(method="newton", disp=0, maxiter=100, tol=1e-12)
    if cov_type == "cluster":
        return model.fit(cov_type=cov_type, cov_kwds=dict(groups=groups), **kw)
    return model.fit(cov_type=cov_type, **kw)


def _assert_matches(res, ref, rtol=1e-6):
    np.testing.assert_allclose(res.params, ref.params, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=rtol)
    np.testing.assert_allclose(
        res.cov_params(), ref.cov_params(), rtol=rtol, atol=1e-12
    )
    np.testing.assert_allclose(res.zvalues, ref.tvalues, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-5, atol=1e-12)
    # statsmodels: (classes, terms, 2); ours: (terms, classes, 2)
    np.testing.assert_allclose(
        res.conf_int(0.1), ref.conf_int(0.1).transpose(1, 0, 2), rtol=rtol, atol=1e-8
    )
    for name in ("llf", "llnull", "llr", "prsquared", "aic", "bic", "df_model"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-8)
    np.testing.assert_allclose(res.df_resid, ref.df_resid)
    np.testing.assert_allclose(res.nobs, ref.nobs)
    np.testing.assert_allclose(res.llr_pvalue, ref.llr_pvalue, rtol=1e-5, atol=1e-300)


@pytest.mark.parametrize("data", list(DATASETS))
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_matches_statsmodels(data, cov_type):
    X, y = DATASETS[data]()
    groups = np.arange(len(y)) % 9 if cov_type == "cluster" else None
    clf = SoftmaxRegression(**MLE).fit(X, y)
    res = clf.inference(X, y, cov_type=cov_type, groups=groups)
    _assert_matches(res, _statsmodels(X, y, cov_type, groups))
    assert res.term_names == ["const"] + [f"x{j}" for j in range(X.shape[1])]
    assert res.class_names == [str(c) for c in clf.classes_[1:]]


def test_string_labels_and_reference_class():
    X, y = _classification()
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = SoftmaxRegression(**MLE).fit(X, labels)
    res = clf.inference(X, labels, reference="bee")
    assert res.reference == "bee" and res.class_names == ["ant", "cat"]
    # statsmodels contrasts with its first category: recode bee -> 0, ant -> 1,
    # cat -> 2, so that its columns are (ant, cat) as ours.
    ref = _statsmodels(X, np.array([1, 0, 2])[y])
    _assert_matches(res, ref)
    # the other reference gives the same model: differences of the contrasts
    res0 = clf.inference(X, labels)  # reference "ant"
    np.testing.assert_allclose(
        res.params[:, 1], res0.params[:, 1] - res0.params[:, 0], atol=1e-10
    )
    with pytest.raises(ValueError, match="reference='dog' is not one of the classes"):
        clf.inference(X, labels, reference="dog")


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_frequency_weights_equal_repeated_rows(cov_type):
    X, y = _wine()
    rng = np.random.default_rng(0)
    sw = rng.integers(1, 4, size=len(y))
    groups = np.arange(len(y)) % 11
    Xr, yr, gr = (np.repeat(a, sw, axis=0) for a in (X, y, groups))
    kw = dict(cov_type=cov_type)
    clf = SoftmaxRegression(**MLE).fit(X, y, sample_weight=sw)
    res = clf.inference(
        X, y, sample_weight=sw, groups=groups if cov_type == "cluster" else None, **kw
    )
    rep = SoftmaxRegression(**MLE).fit(Xr, yr)
    res_rep = rep.inference(Xr, yr, groups=gr if cov_type == "cluster" else None, **kw)
    np.testing.assert_allclose(res.bse, res_rep.bse, rtol=1e-6)
    np.testing.assert_allclose(res.llf, res_rep.llf, rtol=1e-9)
    assert res.nobs == len(yr)
    _assert_matches(res, _statsmodels(Xr, yr, cov_type, gr))


def _loglik(beta, X, y, ref=0):
    """Log-likelihood of the contrasts ``beta`` (n_terms, K - 1), intercept first."""
    Xt = np.hstack([np.ones((len(X), 1)), X])
    Z = np.insert(Xt @ beta, ref, 0.0, axis=1)
    return float(np.sum(Z[np.arange(len(y)), y] - np.logaddexp.reduce(Z, axis=1)))


def test_hessian_against_finite_differences_of_the_loglik():
    X, y = _classification()
    clf = SoftmaxRegression(**MLE).fit(X, y)
    res = clf.inference(X, y, reference=1)
    b = res.params.T.ravel()  # class-major, as cov_params
    n, h = b.size, 1e-4
    H = np.empty((n, n))

    def f(v):
        return _loglik(v.reshape(2, -1).T, X, y, ref=1)

    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (
                f(b + e_i + e_j)
                - f(b + e_i - e_j)
                - f(b - e_i + e_j)
                + f(b - e_i - e_j)
            ) / (4 * h * h)
    np.testing.assert_allclose(
        np.linalg.inv(res.cov_params()), -H, rtol=1e-5, atol=1e-4
    )
    assert np.isclose(res.llf, f(b), rtol=1e-12)


def test_z_p_and_intervals_against_scipy_stats():
    X, y = _wine()
    res = SoftmaxRegression(**MLE).fit(X, y).inference(X, y)
    z = res.params / np.sqrt(np.diag(res.cov_params())).reshape(2, -1).T
    np.testing.assert_allclose(res.zvalues, z, rtol=1e-12)
    np.testing.assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    ci = res.conf_int(alpha=0.01)
    q = stats.norm.ppf(0.995)
    np.testing.assert_allclose(ci[..., 0], res.params - q * res.bse, rtol=1e-12)
    np.testing.assert_allclose(ci[..., 1], res.params + q * res.bse, rtol=1e-12)
    assert res.llr_pvalue == pytest.approx(stats.chi2.sf(res.llr, res.df_model))
    with pytest.raises(ValueError, match="alpha"):
        res.conf_int(alpha=1.5)


@pytest.mark.parametrize("at", ["overall", "mean"])
@pytest.mark.parametrize("method", ["dydx", "eydx"])
def test_marginal_effects(at, method):
    X, y = _classification()
    clf = SoftmaxRegression(**MLE).fit(X, y)
    me = clf.inference(X, y).get_margeff(at=at, method=method)
    # against finite differences of predict_proba
    h = 1e-6
    base = X.mean(axis=0, keepdims=True) if at == "mean" else X
    fd = np.empty_like(me.margeff)
    for a in range(X.shape[1]):
        up, down = base.copy(), base.copy()
        up[:, a] += h
        down[:, a] -= h
        pu, pd = clf.predict_proba(up), clf.predict_proba(down)
        if method == "eydx":
            pu, pd = np.log(pu), np.log(pd)
        fd[a] = ((pu - pd) / (2 * h)).mean(axis=0)
    np.testing.assert_allclose(me.margeff, fd, rtol=1e-6, atol=1e-8)
    # and against statsmodels (its delta method uses a numerical Jacobian)
    ref = _statsmodels(X, y).get_margeff(at=at, method=method)
    np.testing.assert_allclose(me.margeff, ref.margeff, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(me.margeff_se, ref.margeff_se, rtol=1e-5)
    np.testing.assert_allclose(me.pvalues, ref.pvalues, rtol=1e-4, atol=1e-12)
    text = str(me.summary())
    assert "dy/dx" in text if method == "dydx" else "d(lny)/dx" in text
    assert me.margeff.shape == (X.shape[1], 3)
    with pytest.raises(ValueError, match="at must be"):
        clf.inference(X, y).get_margeff(at="median")


def test_wald_and_likelihood_ratio_tests():
    X, y = _wine()
    clf = SoftmaxRegression(**MLE).fit(X, y)
    res = clf.inference(X, y)
    ref = _statsmodels(X, y)
    # "x1 has no effect on any class": both of its coefficients zero
    w = res.wald_test(terms=["x1"])
    R = np.zeros((2, res.params.size))
    R[0, 2], R[1, res.params.shape[0] + 2] = 1, 1  # class-major: x1 of each class
    w_ref = ref.wald_test(R, scalar=True, use_f=False)
    assert w.df == 2
    np.testing.assert_allclose(w.statistic, w_ref.statistic, rtol=1e-7)
    np.testing.assert_allclose(w.pvalue, w_ref.pvalue, rtol=1e-6)
    assert res.wald_test(R).statistic == pytest.approx(w.statistic, rel=1e-12)
    # the restricted model without x1, fitted and compared by likelihood ratio
    Xr = X[:, [0, 2]]
    res_r = SoftmaxRegression(**MLE).fit(Xr, y).inference(Xr, y)
    lr = res.compare_lr_test(res_r)
    llf_r = _statsmodels(Xr, y).llf
    np.testing.assert_allclose(lr.statistic, 2 * (ref.llf - llf_r), rtol=1e-8)
    assert lr.df == 2
    assert lr.pvalue == pytest.approx(stats.chi2.sf(lr.statistic, 2), rel=1e-12)
    with pytest.raises(ValueError, match="not nested"):
        res_r.compare_lr_test(res)
    with pytest.raises(ValueError, match="Unknown term"):
        res.wald_test(terms=["nope"])


def test_summary_frame_and_names():
    pd = pytest.importorskip("pandas")
    X, y = _wine()
    Xf = pd.DataFrame(X, columns=["alcohol", "malic_acid", "hue"])
    yf = pd.Series(y, name="cultivar")
    res = SoftmaxRegression(**MLE).fit(Xf, yf).inference(Xf, yf)
    assert res.term_names == ["const", "alcohol", "malic_acid", "hue"]
    text = str(res.summary())
    for label in (
        "Dep. Variable:",
        "cultivar",
        "No. Observations:",
        "Df Model:",
        "Pseudo R-squ.:",
        "Log-Likelihood:",
        "LL-Null:",
        "LLR p-value:",
        "Covariance Type:",
        "nonrobust",
        "cultivar=1",
        "cultivar=2",
        "P>|z|",
        "[0.025",
        "malic_acid",
    ):
        assert label in text
    assert f"{res.params[1, 0]:.4f}" in text
    assert "<table" in res.summary()._repr_html_()
    frame = res.to_frame()
    assert list(frame.columns) == [
        "class",
        "term",
        "coef",
        "std_err",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
    ]
    assert len(frame) == res.params.size
    row = frame[(frame["class"] == "2") & (frame["term"] == "hue")].iloc[0]
    assert row["coef"] == res.params[3, 1] and row["std_err"] == res.bse[3, 1]
    assert row["ci_low"] == res.conf_int()[3, 1, 0]


def test_pandas_needed_only_by_to_frame():
    # pandas made unimportable: everything but to_frame works
    code = textwrap.dedent(
        """
        import sys

        class NoPandas:
            # An import hook, not sys.modules["pandas"] = None: scikit-learn
            # < 1.7 reads sys.modules.get("pandas") and would fail on None.
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "pandas":
                    raise ImportError("pandas blocked")

        sys.meta_path.insert(0, NoPandas())
        import numpy as np
        from sk_softmax import SoftmaxRegression
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 3)); y = rng.integers(0, 3, 200)
        res = SoftmaxRegression(C=np.inf).fit(X, y).inference(X, y)
        str(res.summary()); res.summary()._repr_html_(); res.get_margeff()
        try:
            res.to_frame()
        except ImportError:
            print("to_frame needs pandas")
        assert "pandas" not in sys.modules
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=120, capture_output=True
    )
    assert out.stdout.strip() == b"to_frame needs pandas"


def test_sparse_and_float32_input_same_numbers():
    X, y = _classification()
    clf = SoftmaxRegression(**MLE).fit(X, y)
    dense = clf.inference(X, y, cov_type="HC0")
    sparse = clf.inference(sp.csr_matrix(X), y, cov_type="HC0")
    np.testing.assert_allclose(sparse.bse, dense.bse, rtol=1e-12)
    me_d, me_s = dense.get_margeff(), sparse.get_margeff(at="overall")
    np.testing.assert_allclose(me_s.margeff_se, me_d.margeff_se, rtol=1e-12)
    # float32 X: accumulated in float64, so the same numbers as the same
    # (float32-representable) data in float64, at the same parameters
    X32 = X.astype(np.float32)
    clf32 = SoftmaxRegression(C=np.inf, tol=1e-5).fit(X32, y)
    r32 = clf32.inference(X32, y, cov_type="HC0")
    r64 = clf32.inference(X32.astype(np.float64), y, cov_type="HC0")
    # (1e-8 apart: the kernel holds the normalised weights s_i / S in X's dtype)
    np.testing.assert_allclose(r32.bse, r64.bse, rtol=1e-7)
    np.testing.assert_allclose(r32.llf, r64.llf, rtol=1e-7)
    assert r32.bse.dtype == np.float64


def _penalised_objective(w, X, y, C):
    """``sum_i -log p_iy + ||W||^2 / (2 C)`` of full parameters (K, d + 1)."""
    W = w.reshape(3, -1)
    Z = X @ W[:, :-1].T + W[:, -1]
    nll = -np.sum(Z[np.arange(len(y)), y] - np.logaddexp.reduce(Z, axis=1))
    return nll + np.sum(W[:, :-1] ** 2) / (2 * C)


def test_penalised_fit_covariance_and_label():
    X, y = _classification()
    C = 0.05
    clf = SoftmaxRegression(C=C, tol=1e-10).fit(X, y)
    res = clf.inference(X, y)
    assert res.penalized
    assert "Penalised fit" in str(res.summary())
    assert "L2-penalised" in str(res.summary())
    # Laplace approximation of the differences: D pinv(H_pen) D^T with H_pen
    # from finite differences of the penalised objective of the full (K, d+1)
    w = np.hstack([clf.coef_, clf.intercept_[:, None]]).ravel()
    n, h = w.size, 1e-4
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (
                _penalised_objective(w + e_i + e_j, X, y, C)
                - _penalised_objective(w + e_i - e_j, X, y, C)
                - _penalised_objective(w - e_i + e_j, X, y, C)
                + _penalised_objective(w - e_i - e_j, X, y, C)
            ) / (4 * h * h)
    d1 = X.shape[1] + 1
    D = np.zeros((2 * d1, n))
    perm = [d1 - 1] + list(range(d1 - 1))  # intercept first
    for j, k in enumerate([1, 2]):
        for t, col in enumerate(perm):
            D[j * d1 + t, k * d1 + col] = 1
            D[j * d1 + t, col] = -1
    cov = D @ np.linalg.pinv(H, rcond=1e-10) @ D.T
    np.testing.assert_allclose(res.cov_params(), cov, rtol=1e-4, atol=1e-8)
    # the log-likelihood is the data term alone
    assert res.llf == pytest.approx(-_penalised_objective(w, X, y, np.inf), rel=1e-10)


def test_refusals_and_clear_errors(monkeypatch):
    X, y = _classification()
    with pytest.raises(ValueError, match="L1 penalty"):
        SoftmaxRegression(l1_ratio=0.5, C=1.0).fit(X, y).inference(X, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        SoftmaxRegression(label_smoothing=0.1).fit(X, y).inference(X, y)
    Y = np.eye(3)[y] * 0.8 + 0.2 / 3
    with pytest.raises(ValueError, match="soft targets"):
        SoftmaxRegression().fit(X, Y).inference(X, Y)
    clf = SoftmaxRegression(**MLE).fit(X, y)
    with pytest.raises(ValueError, match="cov_type must be one of"):
        clf.inference(X, y, cov_type="HC3")
    with pytest.raises(ValueError, match="groups are needed"):
        clf.inference(X, y, cov_type="cluster")
    with pytest.raises(ValueError, match="groups are needed"):
        clf.inference(X, y, groups=np.zeros(len(y)))
    with pytest.raises(ValueError, match="one label per sample"):
        clf.inference(X, y, cov_type="cluster", groups=np.zeros(3))
    with pytest.raises(ValueError, match="at least 2 groups"):
        clf.inference(X, y, cov_type="cluster", groups=np.zeros(len(y)))
    monkeypatch.setattr(_inference, "MAX_PARAMS", 10)
    with pytest.raises(ValueError, match="the limit is 10"):
        clf.inference(X, y)


def test_not_converged_warns():
    X, y = _classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxRegression(C=np.inf, max_iter=2, solver="gd").fit(X, y)
    with pytest.warns(ConvergenceWarning, match="has not converged"):
        clf.inference(X, y)


def test_singular_information_names_the_cause():
    # separable classes (setosa from the sepal features)
    X, y = load_iris(return_X_y=True)
    X = X[:, :2]
    clf = SoftmaxRegression(C=np.inf).fit(X, y)  # stops at tol=1e-4, drifting
    with pytest.warns(IllConditionedWarning, match="separated classes"):
        res = clf.inference(X, y)
    assert np.all(np.isfinite(res.bse))  # large (~180), finite, flagged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxRegression(C=np.inf, tol=1e-10, max_iter=10000).fit(X, y)
    with pytest.raises(ValueError, match="separated classes"):
        clf.inference(X, y)
    # a constant feature duplicates the intercept; a collinear one another
    Xc, yc = _classification()
    for extra, name in [(np.full(len(yc), 2.0), "x4"), (Xc[:, 1] - Xc[:, 2], "x4")]:
        X2 = np.column_stack([Xc, extra])
        clf = SoftmaxRegression(**MLE).fit(X2, yc)
        with pytest.raises(ValueError, match="collinear or constant") as info:
            clf.inference(X2, yc)
        assert name in str(info.value)


def _column_sums(Xc, yc, sc, start):
    return (np.asarray(Xc.T @ sc).ravel(), np.array([Xc.shape[0], start]))


@pytest.mark.parametrize("chunk_rows", [None, 1, 7, 10_000])
def test_map_rows_sums_every_row_once(chunk_rows):
    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

    X, y = _classification()
    sw = np.random.default_rng(0).uniform(0.5, 2, len(y))
    for data in (X, sp.csr_matrix(X)):
        obj = ChunkedSoftmaxCrossEntropy(data, y, 3, sample_weight=sw, chunk_size=64)
        (part,) = obj.map_rows(_column_sums, chunk_rows=chunk_rows)
        np.testing.assert_allclose(part[0], X.T @ (sw / sw.sum()), rtol=1e-12)
        assert part[1][0] == len(y)  # every row once


# ------------------------------------------------------------------- Dask
def _dask_blocks(a, rows):
    da = pytest.importorskip("dask.array")
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


@pytest.mark.parametrize("sparse", [False, True])
def test_dask_local_scheduler_equals_in_memory(sparse):
    pytest.importorskip("dask")
    X, y = _classification()
    sw = np.random.default_rng(1).uniform(0.5, 2, len(y))
    clf = SoftmaxRegression(**MLE).fit(X, y, sample_weight=sw)
    Xd = _dask_blocks(X, 150)
    if sparse:
        Xd = Xd.map_blocks(sp.csr_matrix)
    yd, swd = _dask_blocks(y, 150), _dask_blocks(sw, 150)
    for cov_type in ["nonrobust", "HC0"]:
        mem = clf.inference(X, y, sample_weight=sw, cov_type=cov_type)
        res = clf.inference(Xd, yd, sample_weight=swd, cov_type=cov_type)
        assert isinstance(res, InferenceResults)
        np.testing.assert_allclose(res.cov_params(), mem.cov_params(), rtol=1e-10)
        np.testing.assert_allclose(res.llf, mem.llf, rtol=1e-12)
        np.testing.assert_allclose(res.llnull, mem.llnull, rtol=1e-12)
    for at in ["overall", "mean"]:
        np.testing.assert_allclose(
            res.get_margeff(at=at).margeff_se,
            mem.get_margeff(at=at).margeff_se,
            rtol=1e-10,
        )


@pytest.mark.parametrize("sparse", [False, True])
def test_dask_clustered_errors_equal_in_memory(sparse):
    """Scores summed per block and label on the blocks, merged by label on
    the client, against the in-memory sums (checked against statsmodels in
    test_matches_statsmodels): groups of 7 consecutive rows recur across
    the 150-row blocks, several span a block boundary."""
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y = _classification()
    sw = np.random.default_rng(1).uniform(0.5, 2, len(y))
    codes = (np.arange(len(y)) // 7) % 23
    g = np.array([f"school {c:02d}" for c in codes])
    clf = SoftmaxRegression(**MLE).fit(X, y, sample_weight=sw)
    mem = clf.inference(X, y, sample_weight=sw, cov_type="cluster", groups=g)
    Xd = _dask_blocks(X, 150)
    if sparse:
        Xd = Xd.map_blocks(sp.csr_matrix)
    yd, swd = _dask_blocks(y, 150), _dask_blocks(sw, 150)
    for groups in (
        g,  # in memory: split to X's blocks
        _dask_blocks(g, 100),  # other blocks: rechunked to X's
        dd.from_pandas(pd.Series(codes), npartitions=3),  # other labels, same groups
    ):
        res = clf.inference(
            Xd, yd, sample_weight=swd, cov_type="cluster", groups=groups
        )
        assert res.n_groups == 23 and res.cov_type == "cluster"
        np.testing.assert_allclose(res.cov_params(), mem.cov_params(), rtol=1e-10)
        np.testing.assert_allclose(res.bse, mem.bse, rtol=1e-10)
    for bad in (g[:-1], _dask_blocks(g[:-1], 100)):
        with pytest.raises(
            ValueError, match=r"inconsistent numbers of samples: \[400, 399\]"
        ):
            clf.inference(Xd, yd, sample_weight=swd, cov_type="cluster", groups=bad)
    with pytest.raises(ValueError, match="at least 2 groups; got 1"):
        clf.inference(
            Xd, yd, sample_weight=swd, cov_type="cluster", groups=np.zeros(len(y))
        )


def test_merge_by_label_hand_worked():
    from sk_softmax._objective._dask import merge_by_label

    parts = [
        (np.array(["b", "a"]), np.array([[1.0, 10], [2, 20]])),
        (np.array([], dtype="<U1"), np.zeros((0, 2))),  # a block without rows
        (np.array(["c", "b"]), np.array([[3.0, 30], [4, 40]])),
    ]
    labels, sums = merge_by_label(parts)
    assert labels.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(sums, [[2, 20], [5, 50], [3, 30]])


def test_dask_cluster_equals_in_memory():
    pytest.importorskip("distributed")
    code = textwrap.dedent(
        """
        import numpy as np, dask.array as da, distributed, scipy.sparse as sp
        from sklearn.datasets import make_classification
        from sk_softmax import SoftmaxRegression
        X, y = make_classification(n_samples=900, n_features=5, n_informative=4,
                                   n_redundant=0, n_classes=3, random_state=0)
        clf = SoftmaxRegression(C=np.inf, tol=1e-10).fit(X, y)
        mem = clf.inference(X, y, cov_type="HC0")
        g = np.array([f"g{v}" for v in (np.arange(900) // 7) % 31])
        mcl = clf.inference(X, y, cov_type="cluster", groups=g)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                      processes=True, dashboard_address=":0",
                                      silence_logs=40) as cluster:
            with distributed.Client(cluster):
                Xd = da.from_array(X, chunks=(300, 5)).persist()
                yd = da.from_array(y, chunks=300).persist()
                res = clf.inference(Xd, yd, cov_type="HC0")
                me = res.get_margeff().margeff_se
                # 3 blocks on 2 workers: one worker's 2 dense blocks are
                # merged by label there, its 2 sparse ones into one kernel
                gd = da.from_array(g, chunks=200)
                cl = [clf.inference(Xs, yd, cov_type="cluster", groups=gd)
                      for Xs in (Xd, Xd.map_blocks(sp.csr_matrix))]
        print(np.abs(res.cov_params() / mem.cov_params() - 1).max())
        print(np.abs(me / mem.get_margeff().margeff_se - 1).max())
        for r in cl:
            print(np.abs(r.cov_params() / mcl.cov_params() - 1).max())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        timeout=240,
        capture_output=True,
        text=True,
    )
    cov_err, me_err, cl_err, cl_sparse_err = (float(v) for v in out.stdout.split())
    assert cov_err < 1e-10 and me_err < 1e-10
    assert cl_err < 1e-10 and cl_sparse_err < 1e-10
