"""The :class:`SoftmaxRegression` estimator: API and input validation."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._objective import SoftmaxCrossEntropyL2
from ._solvers import gradient_descent, lbfgs

__all__ = ["SoftmaxRegression"]

# max_iter=None means these. Chosen so that default fits reach tol=1e-4 on
# standardised real data sets (iris, wine, digits, C=1); see tests.
_DEFAULT_MAX_ITER = {"lbfgs": 1000, "gd": 10000}


class SoftmaxRegression(ClassifierMixin, BaseEstimator):
    """Softmax (multinomial logistic) regression.

    Learns ``p(y = k | x) = softmax(W x + b)_k`` by minimising the L2-penalised
    cross-entropy, the objective of scikit-learn's ``LogisticRegression``::

        sum_i s_i * CE(y_i, softmax(W x_i + b)) + ||W||_F^2 / (2 C)

    where ``s_i`` are sample weights (times class weights) and the intercept
    ``b`` is not penalised. Parameters shared with ``LogisticRegression`` have
    the same names and meanings, so a parameter grid transfers as is.

    Two classes are modelled as a true two-class softmax: ``coef_`` has two
    rows. Since the penalty applies to both rows, the fitted model equals
    ``LogisticRegression(C=2 * C)`` on the same data (``coef_[1] - coef_[0]``
    is its coefficient vector), and :meth:`decision_function` returns
    ``z_1 - z_0``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularisation strength; must be positive. ``np.inf``
        means no penalty. Same meaning as in ``LogisticRegression``.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per class.
    solver : {"lbfgs", "gd"}, default="lbfgs"
        ``"lbfgs"``: scipy's L-BFGS-B on the analytic loss and gradient.
        ``"gd"``: batch gradient descent ``w <- w - eta * grad`` (with
        momentum, see ``momentum``).
    max_iter : int or None, default=None
        Maximum number of iterations (gradient evaluations for ``"gd"``).
        None means the solver's default: 1000 for ``"lbfgs"``, 10000 for
        ``"gd"``.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the gradient of the
        mean-scaled objective is at most ``tol`` (the criterion of
        ``LogisticRegression(solver="lbfgs")``), for every solver.
    learning_rate : "auto" or float, default="auto"
        Step ``eta`` of ``solver="gd"``. ``"auto"`` uses ``1 / L`` with ``L``
        a guaranteed upper bound of the gradient's Lipschitz constant computed
        from the data, so gradient descent never diverges whatever the scale
        of the features. Ignored by ``"lbfgs"``.
    momentum : float, default=0.9
        Momentum of ``solver="gd"`` in [0, 1), as in ``MLPClassifier``; 0 gives
        plain gradient descent. Momentum is reset whenever it points uphill
        (adaptive restart). Ignored by ``"lbfgs"``.
    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (gradient at the look-ahead point),
        as in ``MLPClassifier``. Ignored by ``"lbfgs"`` and when
        ``momentum=0``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights, as in
        ``LogisticRegression``. ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))`` (weighted counts).
    warm_start : bool, default=False
        Reuse the previous solution as the starting point of the next fit
        (when the classes and number of features are unchanged).
    verbose : int, default=0
        If > 0, print one line per iteration: iteration, objective and
        largest absolute gradient entry.
    chunk_size : int or None, default=None
        Rows of ``X`` processed at a time by the loss and gradient; bounds the
        extra memory to ``O(chunk_size * n_classes)``. None chooses it from the
        data shape (a working set of about 4 MiB, at least 256 rows). It does
        not change the result beyond rounding.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (n_classes, n_features)
        Weights ``W``; same dtype as the training data (float32 or float64).
    intercept_ : ndarray of shape (n_classes,)
        Intercepts ``b`` (zeros when ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.
    n_iter_ : int
        Number of iterations run by the solver.
    loss_curve_ : list of float
        Objective (mean-scaled: the ``LogisticRegression`` objective divided by
        the sum of sample weights) after each iteration.
    learning_rate_ : float
        Step used by ``solver="gd"`` (None for ``"lbfgs"``).

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same objective, solved by
        scikit-learn's solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sk_softmax import SoftmaxRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegression(C=1.0).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"lbfgs", "gd"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        C=1.0,
        *,
        fit_intercept=True,
        solver="lbfgs",
        max_iter=None,
        tol=1e-4,
        learning_rate="auto",
        momentum=0.9,
        nesterovs_momentum=True,
        class_weight=None,
        warm_start=False,
        verbose=0,
        chunk_size=None,
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.chunk_size = chunk_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------ validation
    def _validate_fit_input(self, X, y, sample_weight):
        """Validated ``(X, y_codes, sample_weight)``; sets ``classes_``."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
        )
        check_classification_targets(y)
        le = LabelEncoder()
        y_codes = le.fit_transform(y)
        self.classes_ = le.classes_
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_[0]!r}"
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
        if self.class_weight is not None:
            cw = compute_class_weight(
                self.class_weight,
                classes=self.classes_,
                y=y,
                sample_weight=sample_weight,
            )
            sample_weight *= cw[y_codes]
            if not np.any(sample_weight > 0):
                raise ValueError(
                    "Sample weights times class weights are all zero: nothing to fit."
                )
        return X, y_codes, sample_weight

    def _initial_params(self, objective, X):
        K, d = objective.n_classes, objective.n_features
        w0 = np.zeros((K, d + int(self.fit_intercept)), dtype=np.float64)
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and self.coef_.shape == (K, d)
            and getattr(self, "_fit_classes", None) is not None
            and np.array_equal(self._fit_classes, self.classes_)
        ):
            w0[:, :d] = self.coef_
            if self.fit_intercept:
                w0[:, -1] = self.intercept_
        return w0.ravel()

    # ----------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimising the penalised cross-entropy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is kept float32 (no float64 copy), as
            are ``coef_`` and ``intercept_``. CSC input is converted to CSR.
        y : array-like of shape (n_samples,)
            Target labels (any hashable, sortable values).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a sample with weight ``k`` counts as ``k``
            copies of it.

        Returns
        -------
        self : SoftmaxRegression
            Fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_softmax import SoftmaxRegression
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
        >>> y = np.array(["a", "b", "b", "a"])
        >>> clf = SoftmaxRegression().fit(X, y)
        >>> clf.classes_
        array(['a', 'b'], dtype='<U1')
        >>> clf.coef_.shape  # one row per class, also for two classes
        (2, 2)

        Sample weights count as repetitions; the trace of the solver is kept:

        >>> clf = SoftmaxRegression().fit(X, y, sample_weight=[1, 2, 1, 1])
        >>> len(clf.loss_curve_) == clf.n_iter_
        True
        """
        X, y_codes, sample_weight = self._validate_fit_input(X, y, sample_weight)
        objective = SoftmaxCrossEntropyL2(
            X,
            y_codes,
            n_classes=self.classes_.shape[0],
            sample_weight=sample_weight,
            C=self.C,
            fit_intercept=self.fit_intercept,
            chunk_size=self.chunk_size,
        )
        w0 = self._initial_params(objective, X)
        max_iter = self.max_iter or _DEFAULT_MAX_ITER[self.solver]
        self.learning_rate_ = None
        if self.solver == "lbfgs":
            result = lbfgs(
                objective.loss_gradient,
                w0,
                tol=self.tol,
                max_iter=max_iter,
                verbose=self.verbose,
            )
        else:
            if self.learning_rate == "auto":
                step = 1.0 / objective.lipschitz_bound()
            else:
                step = float(self.learning_rate)
            self.learning_rate_ = step
            result = gradient_descent(
                objective.loss_gradient,
                w0,
                step=step,
                tol=self.tol,
                max_iter=max_iter,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
                verbose=self.verbose,
            )
        if not result.converged:
            warnings.warn(
                f"SoftmaxRegression(solver={self.solver!r}) did not converge: "
                f"max|gradient| = {result.grad_max:.3g} > tol = {self.tol:g} after "
                f"{result.n_iter} iterations ({result.message}). Increase max_iter, "
                "scale the data (e.g. StandardScaler), use float64 data for a tight "
                "tol, or lower learning_rate.",
                ConvergenceWarning,
                stacklevel=3,  # user code -> _fit_context wrapper -> fit
            )
        coef, intercept = objective.unpack(result.x)
        self.coef_ = np.array(coef, dtype=X.dtype)
        self.intercept_ = np.array(intercept, dtype=X.dtype)
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = list(result.loss_curve)
        self._fit_classes = self.classes_
        return self

    # ------------------------------------------------------------- predict
    def _raw_scores(self, X):
        """Validated ``X`` times ``coef_^T`` plus ``intercept_``: (n, K)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        Z = safe_sparse_dot(X, self.coef_.T, dense_output=True)
        Z += self.intercept_
        return Z

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
        Z = self._raw_scores(X)
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

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
        return self.classes_[np.argmax(self._raw_scores(X), axis=1)]

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
        return softmax(self._raw_scores(X), axis=1)

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
        return log_softmax(self._raw_scores(X), axis=1)
