"""Package-wide settings: set_config, get_config and config_context.

One setting so far, ``private_blas``: whether the dense kernel's worker
threads may use the private single-threaded copy of numpy's OpenBLAS
(:mod:`sk_softmax._blas`). It is read at each use, so a change applies from
the next evaluation on; it never unloads a copy already loaded.

The settings are process-wide, not per thread as scikit-learn's are: the
private copy and the kernel's worker threads are shared by every thread of
the process, and a fit launched by joblib's threading backend (e.g.
``GridSearchCV(n_jobs=2)``) runs in a thread that would not see a per-thread
setting of the thread that entered :func:`config_context`.
"""

import os
from contextlib import contextmanager

import numpy as np

__all__ = ["config_context", "get_config", "set_config"]

ENV_PRIVATE_BLAS = "SK_SOFTMAX_PRIVATE_BLAS"
_ON = {"1", "true", "on", "yes"}
_OFF = {"0", "false", "off", "no"}

# None: not set by set_config / config_context; the environment decides.
_config = {"private_blas": None}


def _env_private_blas():
    value = os.environ.get(ENV_PRIVATE_BLAS, "").strip().lower()
    if value in _ON or value == "":
        return True
    if value in _OFF:
        return False
    raise ValueError(
        f"The environment variable {ENV_PRIVATE_BLAS} must be one of "
        f"{sorted(_ON | _OFF)} (case-insensitive) or empty; got "
        f"{os.environ[ENV_PRIVATE_BLAS]!r}."
    )


def private_blas_enabled():
    """Whether the private single-threaded BLAS may be used now.

    Returns
    -------
    enabled : bool
        The value given to :func:`set_config` / :func:`config_context` if
        any, else that of the environment variable ``SK_SOFTMAX_PRIVATE_BLAS``
        read now (on when unset).
    """
    value = _config["private_blas"]
    return _env_private_blas() if value is None else value


def get_config():
    """Current values of the package's settings.

    Returns
    -------
    config : dict
        ``{"private_blas": bool}``; see :func:`set_config`.

    See Also
    --------
    set_config : Set the package's settings.
    config_context : Set them within a ``with`` block.
    """
    return {"private_blas": private_blas_enabled()}


def set_config(private_blas=None):
    """Set the package's settings, process-wide.

    Parameters
    ----------
    private_blas : bool, default=None
        Whether the dense kernel's worker threads may run their matrix
        products in a private single-threaded copy of numpy's OpenBLAS
        (Linux; loaded on the first dense fit that runs threads). With
        ``False`` the copy is never loaded: dense evaluations run in the
        calling thread with numpy's BLAS (its thread pool as you set it),
        with the model of a fit that runs no worker threads. When never set,
        the environment variable ``SK_SOFTMAX_PRIVATE_BLAS`` decides (``0``,
        ``false``, ``off`` or ``no`` turn it off; read at each use), and it
        is on by default. None leaves the setting unchanged. A copy already
        loaded stays loaded (unused while off).

    See Also
    --------
    get_config : The current settings.
    config_context : Set them within a ``with`` block.

    Notes
    -----
    The settings are process-wide, not per thread as scikit-learn's
    ``set_config``: the private copy and the kernel's worker threads are
    shared by every thread of the process, and fits that joblib runs in its
    own threads see them too.

    Examples
    --------
    >>> import sk_softmax
    >>> with sk_softmax.config_context():  # restores the settings on exit
    ...     sk_softmax.set_config(private_blas=False)
    ...     sk_softmax.get_config()
    {'private_blas': False}
    """
    if private_blas is not None:
        if not isinstance(private_blas, (bool, np.bool_)):
            raise TypeError(
                f"private_blas must be a bool or None; got {private_blas!r}."
            )
        _config["private_blas"] = bool(private_blas)


@contextmanager
def config_context(*, private_blas=None):
    """Set the package's settings within a ``with`` block, then restore them.

    Parameters
    ----------
    private_blas : bool, default=None
        See :func:`set_config`. None leaves the setting unchanged.

    Yields
    ------
    None

    See Also
    --------
    set_config : Set the package's settings.
    get_config : The current settings.

    Notes
    -----
    Process-wide (see :func:`set_config`): contexts entered concurrently in
    several threads restore each other's values in the order they exit.

    Examples
    --------
    >>> import numpy as np
    >>> import sk_softmax
    >>> from sk_softmax import SoftmaxRegression
    >>> X = np.random.RandomState(0).randn(60, 3)
    >>> y = np.arange(60) % 3
    >>> with sk_softmax.config_context(private_blas=False):
    ...     model = SoftmaxRegression().fit(X, y)
    """
    previous = dict(_config)
    set_config(private_blas=private_blas)
    try:
        yield
    finally:
        _config.update(previous)
