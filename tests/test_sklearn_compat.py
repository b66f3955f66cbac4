"""The scikit-learn version shims (sk_softmax/_sklearn_compat.py): the package
imports on every supported scikit-learn, each guard picks scikit-learn's
helper where it exists, and our replacements behave as scikit-learn's
(compared on the newest version, exercised on the oldest by CI's second
pass)."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from _sklearn_versions import SKLEARN_VERSION, skip_without_array_api_dispatch
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from sk_softmax import SoftmaxRegression, _sklearn_compat


def test_the_package_imports_in_a_fresh_interpreter():
    # The regression: an ImportError at import on scikit-learn < 1.9.
    out = subprocess.run(
        [sys.executable, "-c", "import sk_softmax, sk_softmax._sklearn_compat"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "name, own, since",
    [
        ("move_to", "_move_to", (1, 8)),
        ("check_same_namespace", "_check_same_namespace", (1, 9)),
        ("align_sparse_interface", "_to_csr_matrix", (1, 9)),
    ],
)
def test_each_guard_picks_scikit_learns_helper_where_it_exists(name, own, since):
    helper = getattr(_sklearn_compat, name)
    if SKLEARN_VERSION >= since:
        assert helper.__module__.startswith("sklearn.")
    else:
        assert helper is getattr(_sklearn_compat, own)


def test_version_parsing():
    assert _sklearn_compat._parse_version("1.9.1") == (1, 9)
    assert _sklearn_compat._parse_version("1.10.dev0") == (1, 10)
    assert _sklearn_compat._parse_version("2.0rc1") == (2, 0)
    assert _sklearn_compat.SKLEARN_VERSION == _sklearn_compat._parse_version(
        sklearn.__version__
    )


def test_sparsify_gives_logistic_regressions_sparse_type():
    # On every version: the sparse coef_ type that version's
    # LogisticRegression.sparsify() gives (csr_matrix before 1.9).
    X, y = load_iris(return_X_y=True)
    ours = SoftmaxRegression(C=0.01, l1_ratio=1.0).fit(X, y).sparsify()
    lr = LogisticRegression(max_iter=1000).fit(X, y).sparsify()
    assert type(ours.coef_) is type(lr.coef_)
    assert type(_sklearn_compat._to_csr_matrix(sp.csr_array(np.eye(2)))) is (
        sp.csr_matrix
    )


def test_own_move_to_without_dispatch():
    a = np.arange(6.0).reshape(2, 3)
    xp = sklearn.utils._array_api.get_namespace(a)[0]
    np.testing.assert_array_equal(_sklearn_compat._move_to(a, xp=xp, device=None), a)
    assert _sklearn_compat._move_to(None, xp=xp, device=None) is None
    S = sp.csr_matrix(a)
    assert _sklearn_compat._move_to(S, xp=xp, device=None) is S


def test_own_move_to_matches_scikit_learns():
    skip_without_array_api_dispatch()
    xps = pytest.importorskip("array_api_strict")
    if SKLEARN_VERSION < (1, 8):
        pytest.skip("needs scikit-learn >= 1.8: its move_to is the reference")
    from sklearn.utils._array_api import move_to

    a = np.arange(6.0).reshape(2, 3)
    with sklearn.config_context(array_api_dispatch=True):
        dev = xps.Device("device1")
        for own_args in [(a, xps, dev), (xps.asarray(a, device=dev), np, "cpu")]:
            arr, xp, device = own_args
            xp_mod = xp if xp is xps else sklearn.utils._array_api.get_namespace(a)[0]
            ours = _sklearn_compat._move_to(arr, xp=xp_mod, device=device)
            ref = move_to(arr, xp=xp_mod, device=device)
            assert type(ours) is type(ref)
            assert getattr(ours, "device", None) == getattr(ref, "device", None)
            np.testing.assert_array_equal(
                _sklearn_compat.convert_to_numpy(ours, xp_mod),
                _sklearn_compat.convert_to_numpy(ref, xp_mod),
            )
        with pytest.raises(TypeError, match="Sparse arrays are only accepted"):
            _sklearn_compat._move_to(sp.csr_matrix(a), xp=xps, device=dev)


def test_own_check_same_namespace_matches_scikit_learns():
    skip_without_array_api_dispatch()
    xps = pytest.importorskip("array_api_strict")
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxRegression().fit(X, y)
    own = _sklearn_compat._check_same_namespace
    own(xps.asarray(X), clf, attribute="intercept_", method="predict")  # no dispatch
    checks = [own]
    if SKLEARN_VERSION >= (1, 9):
        from sklearn.utils._array_api import check_same_namespace

        checks.append(check_same_namespace)
    with sklearn.config_context(array_api_dispatch=True):
        for check in checks:
            check(X, clf, attribute="intercept_", method="predict")
            check(X.tolist(), clf, attribute="intercept_", method="predict")
            with pytest.raises(
                ValueError,
                match=r"SoftmaxRegression\.predict\(\) must use the same namespace.*"
                r"Array namespaces used during fit",
            ):
                check(xps.asarray(X), clf, attribute="intercept_", method="predict")
        strict = SoftmaxRegression().fit(xps.asarray(X), xps.asarray(y))
        for check in checks:
            check(xps.asarray(X), strict, attribute="intercept_", method="predict")
            for bad in (X, X.tolist(), sp.csr_matrix(X)):
                with pytest.raises(ValueError, match=r"array_api_strict"):
                    check(bad, strict, attribute="intercept_", method="predict")
