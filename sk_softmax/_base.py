"""What :class:`~sk_softmax.SoftmaxRegression` and
:class:`~sk_softmax.SoftmaxRegressionCV` share: the fitted model and its
predictions.

Both hold the same fitted attributes (``classes_``, ``coef_``,
``intercept_``, ``n_features_in_``), so :class:`BaseSoftmaxRegression` gives
both the prediction methods (numpy, scipy.sparse, Array API input, and lazy
Dask arrays for Dask input), ``sparsify`` / ``densify``, ``set_callbacks``
and the handling of the fitted state (:func:`keep_fitted_state_on_error`).
Each estimator adds its parameters, ``fit`` and its own extras.
"""

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin

from ._callbacks import CallbackSupportMixin
from ._dask_input import lazy_on_dask
from ._namespaces import (
    log_probabilities,
    predicted_labels,
    probabilities,
    scores,
    to_host,
)
from ._sparse_coef import SparseCoefMixin
from ._validation import validate_prediction_input

__all__ = ["BaseSoftmaxRegression", "is_fit_state", "keep_fitted_state_on_error"]

# Private state that a fit or partial_fit sets beside the public attributes
# ending in "_".
PRIVATE_FIT_STATE = ("_sgd_run", "_fit_classes")

# Parameter names, once per class. scikit-learn's BaseEstimator finds them by
# inspect.signature(cls.__init__) on every get_params (each fit, clone,
# set_params and repr; a GridSearchCV fit makes several): ~45 us each for
# SoftmaxRegression's 27 parameters, and the answer cannot change for a class.
# Measured with benchmarks/bench_params.py (results/params.jsonl, 2026-12-07,
# 2 cores shared with other jobs, load 0.8-3.2, one BLAS thread, 4 runs of
# 15-61 interleaved rounds): GridSearchCV(cv=5, 8 values of C, n_jobs=1) on
# standardised iris / wine / breast_cancer takes 13.0%, 12.3% and 10.5% less
# time with the names cached (medians of the per-round differences; e.g. iris
# 94.8 -> 82.3 ms in one run). Caching the parameter validation too (a
# process-wide set of the parameter values found valid: the former
# sk_softmax._params, issue 10) saved 2.9%, 1.8% and 2.7% more (medians of
# the per-round differences over 126 rounds per data set, pooled by
# bench_params.py --summary), not above the 3% of the search that would
# justify its process-wide state, so it was removed (issue 21): each fit
# validates its parameters, as scikit-learn does. That costs ~50 us per fit
# (get_params + _validate_params: 64 against 15 us), which shows on repeated
# identical fits, the validation cache's best case: a bare fit on iris
# 0.79 -> 0.86 ms, wine 1.03 -> 1.11 ms, breast_cancer 1.06 -> 1.14 ms
# (+7-9%; bench_small.py times such fits).
_PARAM_NAMES = {}


def is_fit_state(name):
    """Whether the attribute ``name`` is part of the fitted state.

    Parameters
    ----------
    name : str
        An attribute name.

    Returns
    -------
    fit_state : bool
        True for public names ending in ``"_"`` (``coef_``, ``classes_``,
        ...) and the private state in ``PRIVATE_FIT_STATE``.
    """
    return (name.endswith("_") and not name.startswith("_")) or (
        name in PRIVATE_FIT_STATE
    )


def keep_fitted_state_on_error(method):
    """Make ``method`` (fit, partial_fit) all or nothing for the fitted state.

    If it raises (invalid input found late, a diverging solver, a
    KeyboardInterrupt), the attributes it set or replaced are put back as they
    were, so the estimator keeps its previous model (or stays unfitted)
    instead of holding ``classes_`` of one fit beside ``coef_`` of another.

    Parameters
    ----------
    method : callable
        ``method(self, *args, **kwargs)``.

    Returns
    -------
    wrapper : callable
        The method, with the fitted state restored on any exception.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = {k: v for k, v in vars(self).items() if is_fit_state(k)}
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            for name in [k for k in vars(self) if is_fit_state(k)]:
                delattr(self, name)
            vars(self).update(saved)
            raise

    return wrapper


class BaseSoftmaxRegression(
    SparseCoefMixin, CallbackSupportMixin, ClassifierMixin, BaseEstimator
):
    """Predictions and fitted state of a softmax regression model.

    Not an estimator by itself: the subclasses define the parameters and
    ``fit``, which must set ``classes_``, ``coef_`` (n_classes, n_features),
    ``intercept_`` (n_classes,) and the input attributes, and keep
    ``fit_intercept`` as a parameter.
    """

    @classmethod
    def _get_param_names(cls):
        # Cached per class: see _PARAM_NAMES above for the measurement.
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = tuple(super()._get_param_names())
        return list(names)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _callback_context(self, max_iter):
        """The callback context of a fit of at most ``max_iter`` iterations
        (one subtask per iteration, plus the one opened after the last), or
        None without callbacks.

        Without callbacks the fit opens no context: creating it and one
        subtask per iteration cost ~0.01 ms per iteration and call no hook
        (a meta-estimator's propagated callbacks are in ``_skl_callbacks``
        too). Without ``sklearn.callback`` (< 1.9) there is none.
        """
        if not hasattr(self, "_init_callback_context") or not getattr(
            self, "_skl_callbacks", None
        ):
            return None
        return self._init_callback_context(max_subtasks=max_iter + 1)

    def _fitted_params(self):
        """A new flat float64 parameter vector from ``coef_``/``intercept_``.

        Always a copy: the solvers may use their starting vector as a work
        buffer (``lbfgs(overwrite_w0=True)``), and the previous model must
        stay untouched, also when the refit is interrupted.
        """
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
        Wb = np.asarray(to_host(coef), dtype=np.float64)
        if self.fit_intercept:  # hstack makes a new array
            b = np.asarray(to_host(self.intercept_), dtype=np.float64)
            Wb = np.hstack([Wb, b[:, None]])
        else:
            Wb = Wb.copy()
        return Wb.ravel()

    # ------------------------------------------------------------- predict
    def _raw_scores(self, X, method):
        """Validated ``X`` times ``coef_^T`` plus ``intercept_``: (n, K).

        Also its namespace ``xp`` (numpy or, under ``array_api_dispatch``,
        that of ``X``, which must be the fitted model's).
        """
        X, xp = validate_prediction_input(self, X, method)
        return scores(X, self.coef_, self.intercept_, xp)

    @lazy_on_dask
    def decision_function(self, X):
        """Raw class scores ``z = W x + b``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Scores per class; for two classes, ``z_1 - z_0`` of shape
            (n_samples,), positive meaning ``classes_[1]`` (scikit-learn's
            binary convention).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> scores = clf.decision_function(X[:2])
        >>> scores.shape
        (2, 3)
        >>> np.allclose(scores, X[:2] @ clf.coef_.T + clf.intercept_)
        True

        For two classes, one score per sample, ``z_1 - z_0``:

        >>> binary = SoftmaxRegression().fit(X[:100], y[:100])
        >>> binary.decision_function(X[:2]).shape
        (2,)
        """
        Z, _ = self._raw_scores(X, "decision_function")
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    @lazy_on_dask
    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> clf.predict(X[[0, 50, 100]])
        array([0, 1, 2])
        """
        Z, xp = self._raw_scores(X, "predict")  # checks fitted first
        return predicted_labels(self.classes_, Z, xp)

    @lazy_on_dask
    def predict_proba(self, X):
        """Class probabilities ``softmax(W x + b)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``; rows sum to 1.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> proba = clf.predict_proba(X[[0, 50, 100]])
        >>> proba.round(1)
        array([[1. , 0. , 0. ],
               [0. , 0.9, 0.1],
               [0. , 0. , 1. ]])
        >>> proba.sum(axis=1)
        array([1., 1., 1.])
        """
        return probabilities(*self._raw_scores(X, "predict_proba"))

    @lazy_on_dask
    def predict_log_proba(self, X):
        """Log of the class probabilities, from log-softmax.

        Computed as ``z - logsumexp(z)``, so it stays finite (and accurate)
        where a probability underflows to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> np.allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))
        True

        Far from the data a probability can underflow to 0; its logarithm is
        still finite:

        >>> x_far = 1000 * X[:1]
        >>> float(clf.predict_proba(x_far).min())
        0.0
        >>> bool(np.isfinite(clf.predict_log_proba(x_far)).all())
        True
        """
        return log_probabilities(*self._raw_scores(X, "predict_log_proba"))
