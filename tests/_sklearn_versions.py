"""Test helpers for scikit-learn 1.6 to 1.9 (CI runs the suite on the newest
and on the oldest supported scikit-learn).

The references some tests compare with changed API between those versions:
``LogisticRegression(l1_ratio=...)`` alone selects the elastic net from 1.8
(``penalty="elasticnet"`` before), and ``LogisticRegressionCV`` has
``use_legacy_attributes`` (the array layout of its attributes) from 1.8. These
helpers build the same reference on every version; tests that compare with
behaviour only the newest scikit-learn has skip, with the reason, through
:func:`needs_sklearn`.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from sk_softmax._sklearn_compat import SKLEARN_VERSION

__all__ = [
    "SKLEARN_VERSION",
    "lr_l1",
    "lrcv",
    "needs_sklearn",
    "skip_without_array_api_dispatch",
]


def needs_sklearn(version, reason):
    """A ``skipif`` mark for scikit-learn older than ``version`` (a tuple).

    Parameters
    ----------
    version : tuple of int
        ``(major, minor)``.
    reason : str
        What the test needs from that version.

    Returns
    -------
    mark : pytest.MarkDecorator
    """
    return pytest.mark.skipif(
        SKLEARN_VERSION < version,
        reason=f"needs scikit-learn >= {version[0]}.{version[1]}: {reason}",
    )


def lr_l1(**params):
    """``LogisticRegression(**params)`` with ``l1_ratio``'s 1.8 meaning (the
    elastic-net mix, whatever ``penalty``) on every version.

    Parameters
    ----------
    **params : dict
        ``LogisticRegression`` parameters, with ``l1_ratio`` and no
        ``penalty``.

    Returns
    -------
    lr : LogisticRegression
    """
    if SKLEARN_VERSION < (1, 8):
        params["penalty"] = "elasticnet"
    return LogisticRegression(**params)


def lrcv(*, use_legacy_attributes, l1_ratios=(0,), **params):
    """A ``LogisticRegressionCV`` with 1.8's ``use_legacy_attributes`` and
    ``l1_ratios`` meanings on every version, unfitted.

    Before 1.8 ``l1_ratios`` (0,) is ``penalty="l2"`` (grid ``[None]``,
    which the legacy layout shows without an ``l1_ratio`` axis, as 1.8 does
    for None) and other grids ``penalty="elasticnet"``; after ``fit`` the
    legacy attributes are rearranged into 1.8's new layout when
    ``use_legacy_attributes=False``.

    Parameters
    ----------
    use_legacy_attributes : bool
        The layout of the fitted attributes.
    l1_ratios : array-like or None, default=(0,)
        The grid.
    **params : dict
        Other ``LogisticRegressionCV`` parameters.

    Returns
    -------
    lrcv : LogisticRegressionCV
    """
    l2 = l1_ratios is None or not np.any(l1_ratios)
    # 1.8.0's new layout fails with refit=False (float(None) for l1_ratio_):
    # there its legacy layout is rearranged as for older versions.
    broken = SKLEARN_VERSION == (1, 8) and params.get("refit") is False
    if SKLEARN_VERSION >= (1, 8) and (use_legacy_attributes or not broken):
        return LogisticRegressionCV(
            use_legacy_attributes=use_legacy_attributes, l1_ratios=l1_ratios, **params
        )
    if SKLEARN_VERSION >= (1, 8):
        params.update(use_legacy_attributes=True, l1_ratios=l1_ratios)
    elif l2:
        params["penalty"] = "l2"
    else:
        params.update(penalty="elasticnet", l1_ratios=l1_ratios)
    est = LogisticRegressionCV(**params)
    if use_legacy_attributes:
        return est
    fit = est.fit

    def fit_new_layout(X, y, **fit_params):
        fit(X, y, **fit_params)
        _new_layout(est, l1_ratios, l2)
        return est

    est.fit = fit_new_layout
    return est


def _new_layout(est, l1_ratios, l2):
    """Rearrange scikit-learn < 1.8's (legacy) attributes into 1.8's
    ``use_legacy_attributes=False`` layout."""
    n_l1 = 1 if l2 else len(l1_ratios)
    paths = np.stack(list(est.coefs_paths_.values()))
    n_keys, n_folds, n_cs = paths.shape[:3]
    paths = paths.reshape(n_keys, n_folds, n_cs, n_l1, -1)
    scores = next(iter(est.scores_.values())).reshape(n_folds, n_cs, n_l1)
    n_iter = est.n_iter_[0].reshape(n_folds, n_cs, n_l1)
    est.coefs_paths_ = np.moveaxis(paths, (0, 1, 3), (3, 0, 1))
    est.scores_ = np.moveaxis(scores, (1, 2), (2, 1))
    est.n_iter_ = np.moveaxis(n_iter, (1, 2), (2, 1))
    est.C_ = float(est.C_[0])
    est.l1_ratio_ = 0.0 if l2 else float(est.l1_ratio_[0])
    if l2 and l1_ratios is not None:
        est.l1_ratios_ = np.asarray(l1_ratios)


def skip_without_array_api_dispatch(module_level=False):
    """Skip the calling test (or module) where scikit-learn refuses array API
    dispatch (scikit-learn 1.6 needs scipy >= 1.14 and the array-api-compat
    package; every version needs ``SCIPY_ARRAY_API=1``)."""
    import sklearn

    try:
        with sklearn.config_context(array_api_dispatch=True):
            pass
    except (ImportError, RuntimeError) as exc:
        pytest.skip(
            f"scikit-learn's array API dispatch is unavailable here: {exc}",
            allow_module_level=module_level,
        )
