"""Bridge from solver iterations to scikit-learn's callback API.

scikit-learn 1.9 ships ``sklearn.callback`` (``ProgressBar``,
``ScoringMonitor``, ...) with ``CallbackSupportMixin`` for third-party
estimators: an estimator opens a root "fit" task and one subtask per
iteration, and calls the callbacks' begin/end hooks around each. With an older
scikit-learn the module is absent; then :data:`CallbackSupportMixin` is a
stand-in whose ``set_callbacks`` raises a ``NotImplementedError`` naming the
version needed, and ``verbose`` remains the way to watch a long fit.
"""

import sklearn

from ._sklearn_compat import SKLEARN_VERSION

if SKLEARN_VERSION >= (1, 9):
    from sklearn.callback import CallbackSupportMixin

    HAS_SKLEARN_CALLBACKS = True
else:

    class CallbackSupportMixin:
        """Stand-in when ``sklearn.callback`` is not available (< 1.9)."""

        def set_callbacks(self, *callbacks):
            """Unavailable: callbacks need scikit-learn >= 1.9.

            Parameters
            ----------
            *callbacks : callback instances
                The callbacks scikit-learn >= 1.9 would set.

            Raises
            ------
            NotImplementedError
                Always, naming the installed scikit-learn.
            """
            raise NotImplementedError(
                f"{type(self).__name__}.set_callbacks needs scikit-learn >= 1.9 "
                f"(sklearn.callback); scikit-learn {sklearn.__version__} is "
                "installed. Upgrade scikit-learn, or follow the fit with verbose."
            )

    HAS_SKLEARN_CALLBACKS = False

__all__ = ["CallbackSupportMixin", "HAS_SKLEARN_CALLBACKS", "IterationCallbacks"]


class IterationCallbacks:
    """Open the fit task, report every solver iteration, close the fit task.

    Call it as the solvers' ``callback(w, loss, grad_max) -> bool``; it
    returns True when a callback asks to stop.

    Parameters
    ----------
    ctx : CallbackContext or None
        The fit's callback context, opened by the estimator with one subtask
        per iteration plus one (see
        :meth:`~sk_softmax._base.BaseSoftmaxRegression._callback_context`);
        None without callbacks: then nothing is called.
    estimator : SoftmaxRegression
        The estimator being fitted (``classes_`` already set).
    X, y : array-like
        Training data and targets, passed to the callbacks.
    metadata : dict or None
        Training metadata (e.g. ``sample_weight``).
    attributes : callable
        ``attributes(w) -> dict`` of fitted attributes (``coef_``,
        ``intercept_``) at parameters ``w``.
    w0 : ndarray
        Starting parameters.
    """

    def __init__(self, ctx, estimator, X, y, metadata, attributes, w0):
        self.estimator, self.X, self.y, self.metadata = estimator, X, y, metadata
        self.attributes = attributes
        self.ctx = ctx
        if ctx is None:
            return
        self.ctx.call_on_fit_task_begin(
            estimator=estimator, X=X, y=y, metadata=metadata
        )
        self._iter_ctx = self._begin(w0)

    def _hook_kwargs(self, w):
        return dict(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            # Lazy: built only if a callback asks for ``fitted_estimator``.
            reconstruction_attributes=lambda: self.attributes(w),
        )

    def _begin(self, w):
        ctx = self.ctx.subcontext(task_name="iteration")
        ctx.call_on_fit_task_begin(**self._hook_kwargs(w))
        return ctx

    def __call__(self, w, loss, grad_max):
        """End the iteration that just ran and begin the next; True stops."""
        if self.ctx is None:
            return False
        # ``w`` may be a solver's work buffer (see _lbfgs), reused after this
        # call: scikit-learn's context builds ``fitted_estimator`` (copies of
        # the coefficients) during the hook, so nothing keeps a view of it
        # (tested in tests/test_callbacks.py).
        stop = self._iter_ctx.call_on_fit_task_end(**self._hook_kwargs(w))
        self._iter_ctx = self._begin(w)
        return bool(stop)

    def close(self, w):
        """End the left-over (empty) iteration and the fit task."""
        if self.ctx is None:
            return
        self._iter_ctx.call_on_fit_task_end(estimator=self.estimator)
        self.ctx.call_on_fit_task_end(**self._hook_kwargs(w))
