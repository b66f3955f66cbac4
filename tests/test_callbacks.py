"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression
from sk_softmax._callbacks import HAS_SKLEARN_CALLBACKS

pytestmark = pytest.mark.skipif(
    not HAS_SKLEARN_CALLBACKS, reason="sklearn.callback needs scikit-learn >= 1.9"
)


class Recorder:
    """A FitCallback recording every hook call; stops after ``stop_after``."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self.calls.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.calls.append(("end", context.task_name))
        if context.task_name == "iteration" and fitted_estimator is not None:
            self.last_model = fitted_estimator
            n_done = sum(1 for c in self.calls if c == ("end", "iteration"))
            return self.stop_after is not None and n_done >= self.stop_after
        return False

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name))


def _data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "gd", "sgd"])
def test_every_iteration_is_reported(solver):
    X, y = _data()
    rec = Recorder()
    clf = SoftmaxRegression(solver=solver, random_state=0).set_callbacks(rec)
    clf.fit(X, y)
    assert rec.calls[0] == ("setup", "fit")
    assert rec.calls[1] == ("begin", "fit")
    assert rec.calls[-2:] == [("end", "fit"), ("teardown", "fit")]
    begins = rec.calls.count(("begin", "iteration"))
    ends = rec.calls.count(("end", "iteration"))
    assert begins == ends == clf.n_iter_ + 1  # plus the one opened after the last
    # The reconstructed model of the last iteration predicts like the fitted one.
    np.testing.assert_allclose(rec.last_model.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "gd", "sgd"])
def test_a_callback_can_stop_the_fit(solver):
    X, y = _data()
    rec = Recorder(stop_after=3)
    clf = SoftmaxRegression(solver=solver, random_state=0).set_callbacks(rec)
    with pytest.warns(Warning, match="did not converge"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3


def test_progress_bar_runs(capfd):
    """scikit-learn's rich progress bar, written to the terminal (stdout):
    one bar named after the estimator and the method, run to 100%."""
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = _data()
    clf = SoftmaxRegression().set_callbacks(ProgressBar())
    clf.fit(X, y)
    out, _ = capfd.readouterr()
    bars = [line for line in out.splitlines() if "SoftmaxRegression - fit" in line]
    assert len(bars) == 1 and "100%" in bars[0], out
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_models_kept_by_a_callback_survive_the_solvers_buffer_reuse(sparse):
    # The numpy L-BFGS reuses its work vectors between iterations: a callback
    # that keeps the reconstructed models must still see each iteration's
    # own coefficients afterwards. Sparse X: L-BFGS runs in the kernel's
    # feature-major order, and the callback gets the flat layout.

    class Keeper(Recorder):
        def __init__(self):
            super().__init__()
            self.models, self.coefs = [], []

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "iteration" and fitted_estimator is not None:
                self.models.append(fitted_estimator)
                self.coefs.append(fitted_estimator.coef_.copy())  # at hook time
            return False

    X, y = _data()
    if sparse:
        X = sp.csr_matrix(X)
    keeper = Keeper()
    clf = SoftmaxRegression(solver="lbfgs", max_iter=6).set_callbacks(keeper)
    with pytest.warns(Warning):  # max_iter=6: ConvergenceWarning
        clf.fit(X, y)
    assert len(keeper.models) == 6
    for model, coef in zip(keeper.models, keeper.coefs, strict=True):
        np.testing.assert_array_equal(model.coef_, coef)
    assert not np.array_equal(keeper.coefs[-2], keeper.coefs[-1])
    np.testing.assert_allclose(keeper.coefs[-1], clf.coef_)
    dense = SoftmaxRegression(solver="lbfgs", max_iter=6)
    with pytest.warns(Warning):
        dense.fit(X.toarray() if sparse else X, y)
    np.testing.assert_allclose(clf.coef_, dense.coef_, rtol=1e-10, atol=1e-12)


def test_no_callback_context_is_opened_without_callbacks(monkeypatch):
    # Without callbacks a fit calls no hook: opening the context and one
    # subtask per iteration only cost time (~0.01 ms per iteration).
    opened = []
    init = SoftmaxRegression._init_callback_context

    def counting(self, *args, **kwargs):
        opened.append(1)
        return init(self, *args, **kwargs)

    monkeypatch.setattr(SoftmaxRegression, "_init_callback_context", counting)
    X, y = _data()
    SoftmaxRegression(solver="lbfgs").fit(X, y)
    assert opened == []
    SoftmaxRegression(solver="lbfgs").set_callbacks(Recorder()).fit(X, y)
    assert opened == [1]
