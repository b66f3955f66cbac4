"""The steps of ``"sgd"``, ``"gd"`` and ``partial_fit``, against hand-written
recurrences.

With one mini-batch per epoch (``batch_size`` >= the number of rows) an SGD
epoch is one full-gradient step, so every iterate can be computed here from
the documented formulas and the float64 reference gradient (conftest.py):
the ``"optimal"`` and ``"invscaling"`` steps, the plain and the Nesterov
momentum recurrences, sample weights as repeated rows, the best epoch kept by
early stopping, and ``partial_fit`` continuing a sparsified model. Each test
here was checked to fail on a one-line breakage of what it guards (issue 20,
section 8).
"""

import copy
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression

K = 4
CLASSES = np.arange(K)
# One batch per epoch: the documented step recurrences apply to full gradients.
FULL = dict(batch_size=10_000, shuffle=False)


def _flat(clf):
    """``[W | b]`` rows, flattened: the reference objective's layout."""
    return np.hstack([clf.coef_, clf.intercept_[:, None]]).ravel()


@pytest.fixture
def problem(make_problem):
    """53 rows, 6 features, 4 classes; weights in [0.1, 2] with one zero."""
    return make_problem(seed=3, n=53, d=6, k=K)


@pytest.fixture
def grad(problem, reference):
    """The float64 reference gradient of the mean-scaled objective at ``C``."""
    X, y, sw = problem

    def gradient(w, C):
        return reference.loss_gradient(X, y, sw, C, True, w, k=K)[1]

    return gradient


def test_sgd_defaults_are_mlpclassifiers():
    """The schedule and momentum parameters have MLPClassifier's defaults
    (the documented meaning of each is MLPClassifier's)."""
    ours, mlp = SoftmaxRegression().get_params(), MLPClassifier().get_params()
    for name in [
        "power_t",
        "momentum",
        "nesterovs_momentum",
        "shuffle",
        "early_stopping",
        "validation_fraction",
        "n_iter_no_change",
        "tol",
    ]:
        assert ours[name] == mlp[name], name


# ----------------------------------------------------------- the schedules
def test_partial_fit_optimal_step_is_eta0_over_1_plus_eta0_mu_t(problem, grad):
    """``partial_fit``'s default schedule: the ``t``-th update's step is
    ``eta0 / (1 + eta0 * mu * t)``, ``mu = 1 / (C * sum(sample_weight))``
    the L2 strength of the call's (mean-scaled) objective."""
    X, y, sw = problem
    C, eta0 = 0.3, 0.4
    mu = 1.0 / (C * sw.sum())
    assert eta0 * mu > 0.01  # the decay is visible over five steps
    clf = SoftmaxRegression(C=C, learning_rate_init=eta0, momentum=0.0, **FULL)
    w = np.zeros(K * (X.shape[1] + 1))
    for t in range(1, 6):
        clf.partial_fit(X, y, classes=CLASSES, sample_weight=sw)
        step = eta0 / (1.0 + eta0 * mu * t)
        w = w - step * grad(w, C)
        assert clf.learning_rate_ == pytest.approx(step, rel=1e-14)
        np.testing.assert_allclose(_flat(clf), w, rtol=1e-11, atol=1e-14)
    assert clf.n_iter_ == 5


def test_fit_sgd_optimal_step_uses_the_training_weights(problem, grad):
    """``fit(solver="sgd", learning_rate="optimal")``: the same step, with
    ``mu`` the L2 strength of the training data's objective."""
    X, y, sw = problem
    C, eta0 = 0.3, 0.4
    mu = 1.0 / (C * sw.sum())
    clf = SoftmaxRegression(
        C=C,
        solver="sgd",
        learning_rate="optimal",
        learning_rate_init=eta0,
        momentum=0.0,
        max_iter=4,
        **FULL,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    w = np.zeros(K * (X.shape[1] + 1))
    for t in range(1, 5):
        w = w - eta0 / (1.0 + eta0 * mu * t) * grad(w, C)
    assert clf.learning_rate_ == pytest.approx(eta0 / (1 + eta0 * mu * 4), rel=1e-14)
    np.testing.assert_allclose(_flat(clf), w, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("power_t", [0.5, 0.3])
def test_invscaling_step_is_eta0_over_t_to_the_power_t(problem, grad, power_t):
    X, y, sw = problem
    C, eta0 = 1.0, 0.8
    params = dict(learning_rate="invscaling", learning_rate_init=eta0)
    if power_t != 0.5:  # 0.5: the default
        params["power_t"] = power_t
    clf = SoftmaxRegression(
        C=C, solver="sgd", momentum=0.0, max_iter=4, **params, **FULL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    w = np.zeros(K * (X.shape[1] + 1))
    for t in range(1, 5):
        w = w - eta0 / t**power_t * grad(w, C)
    assert clf.learning_rate_ == pytest.approx(eta0 / 4**power_t, rel=1e-14)
    np.testing.assert_allclose(_flat(clf), w, rtol=1e-11, atol=1e-14)


# ---------------------------------------------------------------- momentum
def _sgd_momentum(grad, n_params, *, C, step, momentum, nesterov, steps):
    """``MLPClassifier``'s momentum recurrence with full gradients:
    ``v <- m v - step * grad(w + m v if nesterov else w)``, ``w <- w + v``."""
    w, v = np.zeros(n_params), np.zeros(n_params)
    for _ in range(steps):
        g = grad(w + momentum * v if nesterov else w, C)
        v = momentum * v - step * g
        w = w + v
    return w


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_momentum_recurrence(problem, grad, nesterov):
    X, y, sw = problem
    C, step, m = 1.0, 0.3, 0.9
    kw = dict(C=C, learning_rate="constant", learning_rate_init=step, momentum=m)
    clf = SoftmaxRegression(
        solver="sgd", max_iter=6, nesterovs_momentum=nesterov, **kw, **FULL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    n_params = K * (X.shape[1] + 1)
    expected = _sgd_momentum(
        grad, n_params, C=C, step=step, momentum=m, nesterov=nesterov, steps=6
    )
    other = _sgd_momentum(
        grad, n_params, C=C, step=step, momentum=m, nesterov=not nesterov, steps=6
    )
    assert np.abs(expected - other).max() > 1e-3  # the two recurrences differ
    np.testing.assert_allclose(_flat(clf), expected, rtol=1e-11, atol=1e-14)
    # partial_fit: one update a call, the velocity carried between calls
    inc = SoftmaxRegression(nesterovs_momentum=nesterov, **kw, **FULL)
    for _ in range(6):
        inc.partial_fit(X, y, classes=CLASSES, sample_weight=sw)
    np.testing.assert_allclose(_flat(inc), expected, rtol=1e-11, atol=1e-14)


def _gd_momentum(grad, n_params, *, C, step, momentum, nesterov, steps):
    """The documented ``"gd"`` recurrence: MLPClassifier's momentum with
    adaptive restart (velocity reset and a plain step from the evaluated
    point ``y`` when ``grad(y) . v_new > 0``); returns the last ``y``."""
    w, v = np.zeros(n_params), np.zeros(n_params)
    y = w
    g = grad(y, C)
    for _ in range(steps):
        v_new = momentum * v - step * g
        if g @ v_new > 0:
            v, w = np.zeros(n_params), y - step * g
        else:
            v, w = v_new, w + v_new
        y = w + momentum * v if nesterov else w
        g = grad(y, C)
    return y


@pytest.mark.parametrize("nesterov", [True, False])
def test_gd_momentum_recurrence(problem, grad, nesterov):
    X, y, sw = problem
    C, step, m = 1.0, 0.3, 0.9
    clf = SoftmaxRegression(
        C=C,
        solver="gd",
        learning_rate_init=step,
        momentum=m,
        nesterovs_momentum=nesterov,
        max_iter=25,
        tol=1e-12,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    n_params = K * (X.shape[1] + 1)
    kw = dict(C=C, step=step, momentum=m, steps=25)
    expected = _gd_momentum(grad, n_params, nesterov=nesterov, **kw)
    other = _gd_momentum(grad, n_params, nesterov=not nesterov, **kw)
    assert np.abs(expected - other).max() > 1e-3
    np.testing.assert_allclose(_flat(clf), expected, rtol=1e-10, atol=1e-13)


# -------------------------------------------------------- sample weights
def test_partial_fit_weights_are_repeated_rows(problem):
    """Integer weights in ``partial_fit`` count as copies of the rows: the
    same iterates as the rows repeated (default schedule and step, whose
    ``1 / L`` and ``mu`` both depend on the weights)."""
    X, y, _ = problem
    k = np.random.default_rng(5).integers(0, 4, size=len(y))
    k[:4] = [0, 3, 1, 2]
    weighted = SoftmaxRegression(C=0.5, **FULL)
    repeated = SoftmaxRegression(C=0.5, **FULL)
    Xr, yr = np.repeat(X, k, axis=0), np.repeat(y, k)
    for _ in range(3):
        weighted.partial_fit(X, y, classes=CLASSES, sample_weight=k)
        repeated.partial_fit(Xr, yr, classes=CLASSES)
    np.testing.assert_allclose(weighted.learning_rate_, repeated.learning_rate_)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(
        weighted.intercept_, repeated.intercept_, rtol=1e-10, atol=1e-13
    )
    unweighted = SoftmaxRegression(C=0.5, **FULL)
    for _ in range(3):
        unweighted.partial_fit(X, y, classes=CLASSES)
    assert np.abs(unweighted.coef_ - weighted.coef_).max() > 1e-3


# ----------------------------------------------------------- early stopping
def test_early_stopping_returns_the_best_epochs_model():
    """The returned model scores the best recorded validation accuracy on
    the held-out rows (a stratified ``validation_fraction`` split drawn
    first from ``random_state``), not the last epoch's."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = SoftmaxRegression(
        solver="sgd",
        early_stopping=True,
        learning_rate="constant",
        learning_rate_init=2.0,  # a noisy walk: the last epoch is not the best
        momentum=0.0,
        n_iter_no_change=3,
        max_iter=60,
        random_state=0,
    )
    clf.fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ and max(scores) > scores[-1]
    _, val = train_test_split(
        np.arange(len(y)),
        test_size=0.1,
        random_state=np.random.RandomState(0),
        stratify=y,
    )
    assert clf.score(X[val], y[val]) == max(scores)
    # MLPClassifier's stopping rule: n_iter_no_change + 1 epochs after the
    # last improvement (the first best epoch: accuracy steps exceed tol)
    assert clf.n_iter_ == np.argmax(scores) + 1 + 3 + 1


# ------------------------------------------------------------- sparsify
def test_partial_fit_after_sparsify_equals_a_twin_never_sparsified(problem):
    X, y, sw = problem
    clf = SoftmaxRegression(C=0.5, l1_ratio=0.9, tol=1e-8, random_state=0).fit(
        X, y, sample_weight=sw
    )
    assert (clf.coef_ == 0).any()
    twin = copy.deepcopy(clf)
    clf.sparsify()
    for _ in range(2):
        clf.partial_fit(X, y, sample_weight=sw)
        twin.partial_fit(X, y, sample_weight=sw)
    coef = clf.coef_.toarray() if hasattr(clf.coef_, "toarray") else clf.coef_
    np.testing.assert_array_equal(coef, twin.coef_)
    np.testing.assert_array_equal(clf.intercept_, twin.intercept_)
    # and the twin continued its model: one epoch from zeros is far from it
    fresh = SoftmaxRegression(C=0.5, l1_ratio=0.9, random_state=0)
    fresh.partial_fit(X, y, classes=CLASSES, sample_weight=sw)
    fresh.partial_fit(X, y, sample_weight=sw)
    assert np.abs(fresh.coef_ - twin.coef_).max() > 1e-2


# ------------------------------------------------- epochs, batches, shuffles
@pytest.mark.parametrize("batch_size", ["auto", 64])
def test_updates_per_epoch_follow_the_batch_size(make_problem, batch_size):
    """``"auto"`` is MLPClassifier's ``min(200, n_samples)``: 450 rows make
    3 updates an epoch (64 rows: 8), seen in the ``"invscaling"`` step
    ``eta0 / t`` (``power_t=1``) after ``t`` updates."""
    X, y, _ = make_problem(seed=4, n=450, d=3, k=3)
    per_epoch = -(-450 // (200 if batch_size == "auto" else batch_size))
    kw = dict(learning_rate="invscaling", power_t=1.0, learning_rate_init=0.1)
    clf = SoftmaxRegression(solver="sgd", max_iter=2, batch_size=batch_size, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.learning_rate_ == pytest.approx(0.1 / (2 * per_epoch), rel=1e-14)
    inc = SoftmaxRegression(batch_size=batch_size, **kw)
    inc.partial_fit(X, y, classes=[0, 1, 2])
    assert inc.learning_rate_ == pytest.approx(0.1 / per_epoch, rel=1e-14)


def test_epoch_loss_is_the_objective_when_nothing_moves(make_problem, reference):
    """The epoch's loss is the mean of its mini-batch objectives weighted by
    their rows (200, 200, 50): at a fixed point (a negligible step) that is
    the full objective there."""
    X, y, _ = make_problem(seed=6, n=450, d=3, k=3)
    clf = SoftmaxRegression(C=0.5).fit(X, y)
    w = _flat(clf)
    clf.set_params(learning_rate="constant", learning_rate_init=1e-300, momentum=0)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(_flat(clf), w)
    loss, _ = reference.loss_gradient(X, y, np.ones(len(y)), 0.5, True, w, k=3)
    assert clf.loss_curve_[-1] == pytest.approx(loss, rel=1e-12)


def test_shuffle_draws_the_batches_from_random_state(make_problem):
    X, y, _ = make_problem(seed=7, n=450, d=3, k=3)

    def run(**kw):
        clf = SoftmaxRegression(**{"random_state": 0, **kw})
        for _ in range(2):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        return clf.coef_

    np.testing.assert_array_equal(run(), run())  # seeded: reproducible
    assert np.abs(run() - run(shuffle=False)).max() > 1e-6
    assert np.abs(run() - run(random_state=1)).max() > 1e-6

    def fit(**kw):
        params = {"solver": "sgd", "max_iter": 2, "random_state": 0, **kw}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SoftmaxRegression(**params).fit(X, y).coef_

    np.testing.assert_array_equal(fit(), fit())
    assert np.abs(fit() - fit(shuffle=False)).max() > 1e-6
    assert np.abs(fit() - fit(random_state=1)).max() > 1e-6


def test_adaptive_step_divides_by_5():
    """MLPClassifier's ``"adaptive"``: each reduction divides the step by 5."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:600]
    clf = SoftmaxRegression(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.5,
        n_iter_no_change=2,
        max_iter=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y[:600])
    reductions = np.log(0.5 / clf.learning_rate_) / np.log(5.0)
    assert reductions >= 1
    assert reductions == pytest.approx(round(reductions), abs=1e-9)
