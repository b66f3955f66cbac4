"""Array API input: torch (CPU here) and array-api-strict, against numpy.

The objective of the Array API backend is checked against the float64
``reference`` (conftest.py) and the numpy backend; the estimator's models,
outputs and namespaces against the numpy path's; and the host/device copies
of an L-BFGS fit are counted. scikit-learn's own array API checks run in
test_common.py; ``test_array_api_estimator_checks_run`` fails if they would
all skip.
"""

import os
from collections import Counter
from unittest import SkipTest

import numpy as np
import pytest
import sklearn
from _sklearn_versions import skip_without_array_api_dispatch
from sklearn.utils._array_api import get_namespace_and_device

from sk_softmax import SoftmaxRegression
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy, _array_api
from sk_softmax._objective._array_api import ArrayAPISoftmaxCrossEntropy
from sk_softmax._sklearn_compat import move_to

skip_without_array_api_dispatch(module_level=True)
torch = pytest.importorskip("torch")
xps = pytest.importorskip("array_api_strict")

C = 0.7
NAMESPACES = {
    "torch": lambda a: torch.asarray(a, device="cpu"),
    # A device other than the default: every array must follow X there.
    "strict": lambda a: xps.asarray(a, device=xps.Device("device1")),
}


@pytest.fixture(params=list(NAMESPACES))
def to_xp(request):
    """Numpy array -> array of one namespace (with dispatch on for the test)."""
    with sklearn.config_context(array_api_dispatch=True):
        yield NAMESPACES[request.param]


def host(a):
    return move_to(a, xp=np, device="cpu")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True], ids=["codes", "soft"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_objective_matches_the_reference(
    to_xp, dtype, fit_intercept, soft, eps, make_problem, reference, build_objective
):
    X, y, sw = make_problem(soft=soft, seed=31, dtype=dtype)
    obj = build_objective(to_xp(X), y, sw, fit_intercept=fit_intercept, eps=eps)
    assert obj.dtype == dtype
    rtol, atol = (1e-10, 1e-13) if dtype == np.float64 else (2e-5, 2e-6)
    rng = np.random.default_rng(32)
    w = rng.standard_normal(obj.n_params) * 0.5
    v = rng.standard_normal(obj.n_params)
    loss, grad = obj.loss_gradient(w)
    loss_ref, grad_ref = reference.loss_gradient(X, y, sw, C, fit_intercept, w, eps)
    np.testing.assert_allclose(loss, loss_ref, rtol=rtol)
    np.testing.assert_allclose(grad, grad_ref, rtol=rtol, atol=atol)
    assert obj.loss_gradient(w, need_gradient=False)[1] is None
    np.testing.assert_allclose(obj.loss(w), loss_ref, rtol=rtol)
    hv = obj.hessian_product(w)(v)
    hv_ref = reference.hessian_product(X, y, sw, C, fit_intercept, w, v, eps)
    np.testing.assert_allclose(hv, hv_ref, rtol=rtol, atol=10 * atol)
    numpy_obj = ChunkedSoftmaxCrossEntropy(
        X, y, obj.n_classes, sw, C, fit_intercept, 7, eps
    )
    np.testing.assert_allclose(
        obj.lipschitz_bound(), numpy_obj.lipschitz_bound(), rtol=1e-6
    )


def test_lipschitz_bound_without_the_gram_matrix(
    to_xp, make_problem, monkeypatch, build_objective
):
    # Many features: the trace / Holder bound, as the numpy backend computes it.
    X, y, sw = make_problem(seed=33, n=20, d=3000)
    numpy_obj = ChunkedSoftmaxCrossEntropy(X, y, 4, sw, C, True, 7)
    obj = build_objective(to_xp(X), y, sw)
    np.testing.assert_allclose(
        obj.lipschitz_bound(), numpy_obj.lipschitz_bound(), rtol=1e-10
    )


def test_minibatch_and_accuracy_equal_the_numpy_backend(
    to_xp, make_problem, build_objective
):
    X, y, sw = make_problem(seed=34)
    obj, numpy_obj = (
        build_objective(to_xp(X), y, sw),
        ChunkedSoftmaxCrossEntropy(X, y, 4, sw, C),
    )
    w = np.random.default_rng(35).standard_normal(obj.n_params)
    train, rows = np.arange(3, 50), np.array([0, 4, 9, 30])
    loss, grad = obj.minibatch(train)(w, rows)
    loss_np, grad_np = numpy_obj.minibatch(train)(w, rows)
    np.testing.assert_allclose(loss, loss_np, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_np, rtol=1e-10, atol=1e-14)
    val = np.arange(0, 53, 3)
    assert obj.accuracy(val)(w) == numpy_obj.accuracy(val)(w)


def test_one_copy_each_way_per_evaluation(make_problem, monkeypatch):
    """An L-BFGS fit (with its Newton finish) copies the parameters to the
    device once per evaluation and (loss, gradient) back once; the targets
    and weights go to the device once; X never comes back."""
    X, y, sw = make_problem(seed=36, n=300, d=8)
    copies = {"to_device": [], "to_host": []}
    for name in copies:
        real = getattr(_array_api, name)

        def counted(*args, _real=real, _log=copies[name], **kwargs):
            _log.append(np.shape(args[0]))
            return _real(*args, **kwargs)

        monkeypatch.setattr(_array_api, name, counted)
    evaluations = []
    for method in ("data_loss_gradient", "data_hessian_product"):
        real = getattr(ArrayAPISoftmaxCrossEntropy, method)

        def logged(self, *args, _real=real, _name=method):
            evaluations.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(ArrayAPISoftmaxCrossEntropy, method, logged)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegression(tol=1e-10, max_iter=15).fit(
            torch.asarray(X), y, sample_weight=sw
        )
    n_params = 4 * 9
    n_lg = evaluations.count("data_loss_gradient")
    n_hess = evaluations.count("data_hessian_product")
    assert n_lg > clf.n_iter_ > 0
    # Each Hessian product is one evaluation too: 2 copies per hessp(v)
    # plus one for its point w.
    n_hessp = len(copies["to_host"]) - n_lg
    assert n_hess >= 1 and n_hessp >= 1  # the Newton finish ran
    assert copies["to_device"][:2] == [(300,), (300,)]  # targets, weights
    assert Counter(copies["to_device"][2:]) == {(n_params,): n_lg + n_hess + n_hessp}
    assert Counter(copies["to_host"]) == {(n_params + 1,): n_lg, (n_params,): n_hessp}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "params",
    [
        # solver="lbfgs" named: "auto" picks Newton-Cholesky for numpy input
        # this small, which the Array API backend does not have.
        {"solver": "lbfgs"},
        {"solver": "lbfgs", "fit_intercept": False, "C": 10.0},
        {"solver": "lbfgs", "class_weight": "balanced", "label_smoothing": 0.1},
        {"solver": "gd", "max_iter": 300},
        {"solver": "sgd", "max_iter": 20, "random_state": 0},
        {"solver": "sgd", "max_iter": 20, "random_state": 0, "early_stopping": True},
    ],
    ids=["lbfgs", "no-intercept", "class-weight", "gd", "sgd", "sgd-early"],
)
@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft"])
def test_same_model_as_numpy(to_xp, params, soft, make_problem):
    """float64: coefficients equal the numpy path's to 1e-10 at tol=1e-10;
    the outputs live in X's namespace and device, with numpy's values."""
    if soft and params.get("early_stopping"):
        params = {**params, "early_stopping": False}
    X, y, sw = make_problem(soft=soft, seed=37, n=120, d=5)
    est = SoftmaxRegression(tol=1e-10, **params)
    ref = sklearn.clone(est).fit(X, y, sample_weight=sw)
    X_xp = to_xp(X)
    clf = sklearn.clone(est).fit(X_xp, to_xp(y), sample_weight=to_xp(sw))
    _, _, device = get_namespace_and_device(X_xp)
    for name in ("coef_", "intercept_"):
        attr = getattr(clf, name)
        assert get_namespace_and_device(attr)[2] == device
        np.testing.assert_allclose(host(attr), getattr(ref, name), atol=1e-10)
    assert clf.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-10)
    # Coefficients within 1e-10 move the scores by at most 1e-10 (1 + ||x||_1)
    # < 1e-9 here, the (log-)probabilities by at most twice that.
    assert np.abs(X).sum(axis=1).max() < 9
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        out = getattr(clf, method)(X_xp)
        assert type(out) is type(X_xp) and get_namespace_and_device(out)[2] == device
        np.testing.assert_allclose(
            host(out), getattr(ref, method)(X), rtol=1e-8, atol=2e-9
        )
    pred = clf.predict(X_xp)
    assert type(pred) is type(X_xp)
    np.testing.assert_array_equal(host(pred), ref.predict(X))
    if not soft:
        assert clf.score(X_xp, to_xp(y)) == pytest.approx(ref.score(X, y))


def test_float32_stays_float32_and_matches(to_xp, make_problem):
    X, y, sw = make_problem(seed=38, n=120, d=5, dtype=np.float32)
    ref = SoftmaxRegression(solver="lbfgs").fit(X, y)
    clf = SoftmaxRegression(solver="lbfgs").fit(to_xp(X), to_xp(y))
    xp, _, _ = get_namespace_and_device(clf.coef_)
    assert clf.coef_.dtype == xp.float32 and clf.intercept_.dtype == xp.float32
    np.testing.assert_allclose(host(clf.coef_), ref.coef_, rtol=1e-3, atol=1e-4)


def test_classes_follow_y_and_labels_follow_x(make_problem):
    """classes_ as LogisticRegression keeps it (y's namespace); predictions
    in X's, also for string labels of a numpy y."""
    X, y, _ = make_problem(seed=39)
    table = np.array(["a", "b", "c", "d"])
    names = table[y]
    with sklearn.config_context(array_api_dispatch=True):
        X_t = torch.asarray(X)
        clf = SoftmaxRegression().fit(X_t, torch.asarray(y))
        assert isinstance(clf.classes_, torch.Tensor)
        assert isinstance(clf.predict(X_t), torch.Tensor)
        by_name = SoftmaxRegression().fit(X_t, names)
        assert isinstance(by_name.classes_, np.ndarray)
        np.testing.assert_array_equal(
            by_name.predict(X_t), table[host(clf.predict(X_t))]
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_and_partial_fit_on_device(to_xp, make_problem):
    X, y, _ = make_problem(seed=40, n=90, d=5)
    X_xp, y_xp = to_xp(X), to_xp(y)
    ref = SoftmaxRegression(tol=1e-10).fit(X, y)
    clf = SoftmaxRegression(tol=1e-10, warm_start=True, max_iter=3)
    clf.fit(X_xp, y_xp)
    clf.set_params(max_iter=1000).fit(X_xp, y_xp)  # continues from the last model
    np.testing.assert_allclose(host(clf.coef_), ref.coef_, atol=1e-10)
    pf, pf_np = SoftmaxRegression(random_state=0), SoftmaxRegression(random_state=0)
    for _ in range(3):
        pf.partial_fit(X_xp, y_xp, classes=to_xp(np.arange(4)))
        pf_np.partial_fit(X, y, classes=np.arange(4))
    np.testing.assert_allclose(host(pf.coef_), pf_np.coef_, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        pf.partial_fit(X_xp, y_xp, classes=to_xp(np.arange(5)))


def test_numpy_input_keeps_the_numpy_backend(make_problem, monkeypatch):
    X, y, _ = make_problem(seed=41)
    built = []
    real = ChunkedSoftmaxCrossEntropy.__init__

    def spy(self, *args, **kwargs):
        built.append(type(self))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ChunkedSoftmaxCrossEntropy, "__init__", spy)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegression().fit(X, y)
    assert built == [ChunkedSoftmaxCrossEntropy] and isinstance(clf.coef_, np.ndarray)
    # Without dispatch a CPU tensor is converted to numpy, as scikit-learn does.
    clf = SoftmaxRegression().fit(torch.asarray(X), torch.asarray(y))
    assert isinstance(clf.coef_, np.ndarray) and len(built) == 2


def test_predict_rejects_another_namespace(make_problem):
    X, y, _ = make_problem(seed=42)
    with sklearn.config_context(array_api_dispatch=True):
        clf = SoftmaxRegression().fit(torch.asarray(X), torch.asarray(y))
        with pytest.raises(ValueError, match=r"SoftmaxRegression.predict\(\)"):
            clf.predict(X)


def test_array_api_estimator_checks_run():
    """Guard: scikit-learn's array API checks of test_common.py do not all
    skip. They need SCIPY_ARRAY_API=1 (set by the root conftest.py before
    scipy is imported), torch and array-api-strict (the test extra)."""
    from sklearn.utils.estimator_checks import _yield_array_api_checks

    assert os.environ.get("SCIPY_ARRAY_API") == "1", (
        "SCIPY_ARRAY_API is not 1: the array API estimator checks would skip"
    )
    checks = list(_yield_array_api_checks(SoftmaxRegression()))
    ran = []
    for check in checks:
        kwargs = check.keywords
        # "device" (array-api-strict's a Device object from 1.7) in
        # scikit-learn 1.6 to 1.8, "device_name" from 1.9; array-api-strict's
        # devices are all on the host, torch's only "cpu" here.
        namespace = kwargs.get("array_namespace")
        device = kwargs.get("device_name", kwargs.get("device"))
        if namespace == "array_api_strict" or (
            namespace == "torch" and device in (None, "cpu")
        ):
            try:
                check("SoftmaxRegression", SoftmaxRegression())
            except SkipTest as exc:  # pytest would report a skip: fail instead
                pytest.fail(f"array API check skipped: {exc}")
            ran.append((kwargs["array_namespace"], kwargs.get("dtype_name")))
    assert ("torch", "float64") in ran and ("torch", "float32") in ran
    assert any(ns == "array_api_strict" for ns, _ in ran)


def test_auto_runs_lbfgs_and_newton_cholesky_is_refused(to_xp, make_problem):
    # The dense Hessian of Newton-Cholesky exists for numpy / scipy.sparse
    # input only: "auto" falls back to L-BFGS, an explicit request is an error.
    X, y, _ = make_problem(soft=False, seed=38, n=120, d=5)
    numpy_fit = SoftmaxRegression(tol=1e-9).fit(X, y)
    assert numpy_fit.solver_ == "newton-cholesky"
    clf = SoftmaxRegression(tol=1e-9).fit(to_xp(X), to_xp(y))
    assert clf.solver_ == "lbfgs"  # same optimum, other path
    np.testing.assert_allclose(host(clf.coef_), numpy_fit.coef_, atol=1e-7)
    with pytest.raises(ValueError, match="newton-cholesky.*Array API"):
        SoftmaxRegression(solver="newton-cholesky").fit(to_xp(X), to_xp(y))
