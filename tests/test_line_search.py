"""Tests of the vendored Moré-Thuente line search (``_line_search.dcsrch``).

The independent truths: the strong Wolfe conditions at the returned step,
the results of Moré & Thuente (1994) on their test functions, and scipy's
own port of ``dcsrch`` (the private ``scipy.optimize._dcsrch``, imported
here only, where installed: the package itself must not import it), which
the package used before and whose steps ours must repeat bit for bit.
"""

import math
import warnings

import numpy as np
import pytest

import sk_softmax._solvers._lbfgs as lbfgs_module
from sk_softmax._objective import ChunkedSoftmaxCrossEntropy
from sk_softmax._solvers import minimize_lbfgs
from sk_softmax._solvers._line_search import _dcstep, dcsrch


def _scipy_dcsrch():
    try:  # not in scipy 1.11; private, hence here only
        from scipy.optimize._dcsrch import DCSRCH, dcstep
    except ImportError:  # pragma: no cover - depends on the installed scipy
        pytest.skip("this scipy has no scipy.optimize._dcsrch to compare with")
    return DCSRCH, dcstep


# The test functions of Moré & Thuente (1994), section 5, as
# (phi, dphi, ftol, gtol) with the paper's tolerances.
def _f1(beta=2.0):
    return (
        lambda a: -a / (a * a + beta),
        lambda a: (a * a - beta) / (a * a + beta) ** 2,
    )


def _f2(beta=0.004):
    return (
        lambda a: (a + beta) ** 5 - 2 * (a + beta) ** 4,
        lambda a: 5 * (a + beta) ** 4 - 8 * (a + beta) ** 3,
    )


def _f3(beta=0.01, ell=39):
    def phi0(a):
        if a <= 1 - beta:
            return 1 - a, -1.0
        if a >= 1 + beta:
            return a - 1, 1.0
        return (a - 1) ** 2 / (2 * beta) + beta / 2, (a - 1) / beta

    w = ell * math.pi / 2
    return (
        lambda a: phi0(a)[0] + 2 * (1 - beta) / (ell * math.pi) * math.sin(w * a),
        lambda a: phi0(a)[1] + (1 - beta) * math.cos(w * a),
    )


def _yanai(b1, b2):
    def gam(b):
        return math.sqrt(1 + b * b) - b

    return (
        lambda a: (
            gam(b1) * math.sqrt((1 - a) ** 2 + b2 * b2)
            + gam(b2) * math.sqrt(a * a + b1 * b1)
        ),
        lambda a: (
            gam(b1) * (a - 1) / math.sqrt((1 - a) ** 2 + b2 * b2)
            + gam(b2) * a / math.sqrt(a * a + b1 * b1)
        ),
    )


FUNCTIONS = {
    "1": (*_f1(), 1e-3, 0.1),
    "2": (*_f2(), 0.1, 0.1),
    "3": (*_f3(), 0.1, 0.1),
    "4": (*_yanai(0.001, 0.001), 1e-3, 1e-3),
    "5": (*_yanai(0.01, 0.001), 1e-3, 1e-3),
    "6": (*_yanai(0.001, 0.01), 1e-3, 1e-3),
}
STARTS = [1e-3, 1e-1, 1e1, 1e3]


def _run_ours(phi, dphi, stp, **kw):
    trials = []

    def fun(a):
        trials.append(a)
        return phi(a), dphi(a)

    got = dcsrch(fun, phi(0.0), dphi(0.0), stp, **kw)
    return got, trials


def _run_scipy(phi, dphi, stp, ftol, gtol, xtol, stpmin, stpmax, max_evals):
    DCSRCH, _ = _scipy_dcsrch()
    trials = []

    def phi_rec(a):
        trials.append(a)
        return phi(a)

    search = DCSRCH(phi_rec, dphi, ftol, gtol, xtol, stpmin, stpmax)
    # scipy's maxiter counts one evaluation more than it tests
    stp, f, _, _ = search(stp, phi0=phi(0.0), derphi0=dphi(0.0), maxiter=max_evals + 1)
    return stp, trials


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("stp0", STARTS)
def test_strong_wolfe_conditions_at_the_step(name, stp0):
    phi, dphi, ftol, gtol = FUNCTIONS[name]
    kw = dict(ftol=ftol, gtol=gtol, xtol=1e-10)
    (stp, f, message), trials = _run_ours(phi, dphi, stp0, **kw)
    # the paper reports convergence from every start (Tables 1-6; with
    # L-BFGS-B's xtol=0.1 the interval test stops some searches first)
    assert message == "convergence" and stp is not None
    assert f == phi(stp) and stp == trials[-1]
    assert phi(stp) <= phi(0.0) + ftol * stp * dphi(0.0)
    assert abs(dphi(stp)) <= gtol * abs(dphi(0.0))


@pytest.mark.parametrize(
    "stp0, n_evals, stp_expected, dphi_expected",
    # Moré & Thuente (1994), Table 1 (function 1, ftol=0.001, gtol=0.1):
    # evaluations, the step and phi' there, to the two digits printed
    [
        (1e-3, 6, 1.4, -9.2e-3),
        (1e-1, 3, 1.4, 4.7e-3),
        (1e1, 1, 10.0, 9.4e-3),
        (1e3, 4, 37.0, 7.3e-4),
    ],
)
def test_table_1_of_more_thuente(stp0, n_evals, stp_expected, dphi_expected):
    phi, dphi, ftol, gtol = FUNCTIONS["1"]
    (stp, _, message), trials = _run_ours(phi, dphi, stp0, ftol=ftol, gtol=gtol)
    assert message == "convergence"
    assert len(trials) == n_evals
    assert float(f"{stp:.2g}") == stp_expected
    assert float(f"{dphi(stp):.2g}") == dphi_expected


SETTINGS = {
    "paper": {},
    "lbfgsb": dict(ftol=1e-3, gtol=0.9),
    "tight": dict(ftol=1e-4, gtol=1e-4, xtol=1e-12),
    "few_evals": dict(max_evals=3),
    "bounded": dict(stpmax=5.0),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("stp0", STARTS)
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_same_trials_and_step_as_scipy(name, stp0, setting):
    phi, dphi, ftol, gtol = FUNCTIONS[name]
    kw = dict(ftol=ftol, gtol=gtol, xtol=0.1, stpmin=0.0, stpmax=1e10, max_evals=49)
    kw.update(SETTINGS[setting])
    if stp0 > kw["stpmax"]:
        stp0 = kw["stpmax"]
    (stp, f, _), trials = _run_ours(phi, dphi, stp0, **kw)
    stp_ref, trials_ref = _run_scipy(phi, dphi, stp0, **kw)
    # scipy evaluates one more trial after the last one it tests when it
    # runs out of evaluations; the tested trials are the same, bit for bit
    assert trials == trials_ref[: len(trials)]
    assert len(trials_ref) - len(trials) in (0, 1)
    assert stp == stp_ref
    if stp is not None:
        assert f == phi(stp_ref)


def test_dcstep_degenerate_interval_gives_ieee_results_without_raising():
    # stp == stx, or all slopes zero, divides by zero: the Fortran original
    # (and scipy's port on numpy floats) gives IEEE inf / NaN, which the
    # search then rejects as a non-finite step; on Python floats scipy's
    # port raises ZeroDivisionError, ours must not
    _, dcstep_ref = _scipy_dcsrch()
    cases = [
        (1.0, 0.0, -1.0, 0.0, 0.0, -1.0, 1.0, 1.0, 1.0, False, 0.0, 10.0),
        (1.0, 0.0, -1.0, 2.0, 1.0, 1.0, 1.0, -1.0, -0.5, True, 1.0, 2.0),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 5.0),
    ]
    for args in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy warning escapes either
            got = _dcstep(*args)
        assert all(type(v) is float for v in got[:7]) and type(got[7]) is bool
        with np.errstate(all="ignore"):
            ref = dcstep_ref(*(np.float64(a) for a in args[:9]), *args[9:])
        np.testing.assert_array_equal(np.array(got, float), np.array(ref, float))
    assert math.isnan(_dcstep(*cases[0])[6])


def test_nan_values_fail_cleanly_like_scipy():
    # NaN values and slopes fit no case of dcstep's but the last: the search
    # extrapolates to the end of its range each time, and gives up after
    # max_evals trials, as scipy's does
    def phi(a):
        return 0.0 if a == 0 else math.nan

    def dphi(a):
        return -1.0 if a == 0 else math.nan

    kw = dict(ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10, max_evals=10)
    (stp, f, message), trials = _run_ours(phi, dphi, 1.0, **kw)
    assert stp is None and math.isnan(f) and message.startswith("no step found")
    assert len(trials) == 10
    stp_ref, trials_ref = _run_scipy(phi, dphi, 1.0, **kw)
    assert stp_ref is None and trials == trials_ref[:10]


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(g0=0.0), "initial derivative must be negative"),
        (dict(g0=math.nan), "initial derivative must be negative"),
        (dict(ftol=-1.0), "must be nonnegative"),
        (dict(stpmin=2.0, stpmax=1.0), "stpmax >= stpmin"),
        (dict(stp=20.0, stpmax=10.0), "outside"),
    ],
)
def test_bad_arguments_raise(kw, match):
    args = dict(fun=lambda a: (0.0, 0.0), f0=0.0, g0=-1.0, stp=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        dcsrch(**args)


# Whole L-BFGS fits: the iterates with the vendored search against those
# with scipy's DCSRCH, the line search the package ran before.
def _scipy_line_search(phi, derphi, phi0, derphi0, maxls):
    DCSRCH, _ = _scipy_dcsrch()
    search = DCSRCH(phi, derphi, 1e-3, 0.9, 0.1, 0.0, 1e10)
    alpha, phi1, _, _ = search(1.0, phi0=phi0, derphi0=derphi0, maxiter=maxls)
    return alpha, phi1


def _objectives():
    from sklearn.datasets import load_digits, load_iris
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 40))
    y = np.argmax(X @ rng.standard_normal((40, 5)) + rng.gumbel(size=(300, 5)), 1)
    yield "random", ChunkedSoftmaxCrossEntropy(X, y, 5, C=1.0)
    for name, load in [("iris", load_iris), ("digits", load_digits)]:
        X, y = load(return_X_y=True)
        K = int(y.max()) + 1
        yield name + "_raw", ChunkedSoftmaxCrossEntropy(X, y, K, C=1.0)
        Xs = StandardScaler().fit_transform(X)
        yield name + "_std", ChunkedSoftmaxCrossEntropy(Xs, y, K, C=100.0)
        yield name + "_f32", ChunkedSoftmaxCrossEntropy(Xs.astype(np.float32), y, K)


@pytest.mark.parametrize("history_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("maxls", [50, 3])
def test_lbfgs_iterates_are_those_of_scipys_dcsrch(monkeypatch, history_dtype, maxls):
    _scipy_dcsrch()
    ours = lbfgs_module._line_search
    calls = {"ours": 0, "scipy": 0}

    def counted(fn, key):
        def wrapped(*args):
            calls[key] += 1
            return fn(*args)

        return wrapped

    def run(obj, search, key):
        monkeypatch.setattr(lbfgs_module, "_line_search", counted(search, key))
        path = []

        def record(it, x, f, g, gmax):
            path.append((x.copy(), f))
            return False

        out = minimize_lbfgs(
            obj.loss_gradient,
            np.zeros(obj.n_params),
            gtol=1e-8,
            max_iter=300,
            maxls=maxls,
            history_dtype=history_dtype,
            callback=record,
        )
        return out, path

    for name, obj in _objectives():
        got, path = run(obj, ours, "ours")
        ref, path_ref = run(obj, _scipy_line_search, "scipy")
        assert got[3:] == ref[3:], name  # n_iter, converged, message
        assert got[1] == ref[1]
        np.testing.assert_array_equal(got[0], ref[0])
        assert len(path) == len(path_ref) == got[3]
        for (x, f), (x_ref, f_ref) in zip(path, path_ref, strict=True):
            np.testing.assert_array_equal(x, x_ref)  # every iterate
            assert f == f_ref
    # the line search ran (beyond the accepted unit step) in these fits
    assert calls["ours"] == calls["scipy"] > 10
