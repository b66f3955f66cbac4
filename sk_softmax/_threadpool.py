"""Worker threads of the dense kernel, without touching any BLAS setting.

The dense loss/gradient kernel parallelises itself over row chunks instead of
relying on BLAS threads: the skinny per-chunk products (``K`` rows) scale
poorly over BLAS threads and the element-wise work (``exp``, log-sum-exp) is
single-threaded in numpy. Each worker thread runs its products through the
private single-threaded BLAS of :mod:`sk_softmax._blas`, so that no thread
count of numpy's, scipy's or anyone's BLAS is ever changed: a library that
sets a process-wide setting cannot give it back correctly while other
threads (the user's, a concurrent fit's) set it too, and OpenBLAS 0.3.31
ignores the settings of every thread but the main one once the main thread
has set it (measured; see :mod:`sk_softmax._blas`).

The thread budget is read, not set: :func:`chunk_workers` returns as many
workers as numpy's BLAS currently allows threads (so the user's
``threadpool_limits(1)``, in whichever thread it is entered, or
``OPENBLAS_NUM_THREADS=1`` make the kernel serial), at most the usable CPUs
and the chunks.

Fork safety: the executor's threads do not survive ``fork``; a forked child
(multiprocessing's "fork" start method, gunicorn ``--preload``, Celery
prefork) starts with no executor and creates its own on first use
(``os.register_at_fork``), where a copied executor would wait forever for
threads that do not exist; the lock of :mod:`sk_softmax._blas`'s loader is
renewed likewise.

:func:`chunk_workers` is 1 (the serial path) while the private BLAS is
switched off (``sk_softmax.set_config(private_blas=False)`` or
``SK_SOFTMAX_PRIVATE_BLAS=0``) or cannot be loaded.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ._blas import private_openblas

__all__ = ["numpy_blas_controllers", "chunk_workers", "run_in_threads"]

# "busy": threads now running evaluations, in all threads of the process.
_state = {"numpy_blas": None, "executor": None, "busy": 0}
_lock = threading.Lock()


def _after_fork_in_child():
    # The parent's executor (and a lock held by one of its threads) were
    # copied without their threads: start afresh.
    global _lock
    _lock = threading.Lock()
    _state["executor"] = None
    _state["busy"] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _owned_by(path, package_dir):
    # A wheel keeps its shared libraries in "<pkg>/" or "<pkg>.libs/".
    path = os.path.realpath(path)
    root = os.path.realpath(package_dir)
    return path.startswith(root + os.sep) or path.startswith(root + ".libs" + os.sep)


def numpy_blas_controllers():
    """threadpoolctl controllers of the BLAS libraries that numpy uses.

    Found once per process (the loaded libraries do not change; listing them
    costs ~2 ms); their thread counts are read live, so later
    ``threadpool_limits`` calls are seen. Only read, never set.

    Returns
    -------
    controllers : list
        ``threadpoolctl`` library controllers (empty if none is found).
    """
    if _state["numpy_blas"] is None:
        from threadpoolctl import ThreadpoolController

        numpy_dir = os.path.dirname(np.__file__)
        _state["numpy_blas"] = [
            lib
            for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas" and _owned_by(lib.filepath, numpy_dir)
        ]
    return _state["numpy_blas"]


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def chunk_workers(n_chunks):
    """Number of threads to process ``n_chunks`` dense row chunks with.

    The thread count numpy's BLAS currently allows (the user's limit, if
    any), at most the number of usable CPUs and of chunks; 1 when numpy's
    BLAS cannot be found, or when the private single-threaded BLAS of
    :func:`~sk_softmax._blas.private_openblas` is switched off or cannot be
    loaded.

    Parameters
    ----------
    n_chunks : int
        Number of chunks to process.

    Returns
    -------
    n_workers : int
    """
    if n_chunks < 2:
        return 1
    libs = numpy_blas_controllers()
    if not libs:
        return 1
    allowed = min(lib.num_threads for lib in libs)
    workers = int(max(1, min(allowed, available_cpus(), n_chunks)))
    if workers > 1 and private_openblas() is None:
        return 1
    return workers


def _run_share(fn, args, runner, n_runners):
    """Results of the calls ``runner, runner + n_runners, ...`` of ``args``."""
    return [fn(*a) for a in args[runner::n_runners]]


def run_in_threads(fn, args):
    """``[fn(*a) for a in args]``, in parallel threads.

    The calls are shared between at most ``len(args)`` threads: the calling
    thread and threads of a process-wide executor (created on first use, and
    anew in a forked child). Threads already running other evaluations
    (concurrent fits, e.g. ``GridSearchCV`` with joblib's threading backend)
    count against the usable CPUs, so that concurrent fits share the cores
    instead of oversubscribing them; a thread then runs several calls in
    turn. Which thread runs a call never changes its arguments or the order
    of the results, so results do not depend on the concurrency. Work
    functions must not submit work themselves.

    Parameters
    ----------
    fn : callable
        Work function; numpy releases the GIL in its ufuncs and the private
        BLAS calls release it too (ctypes).
    args : list of tuple
        Arguments of each call; calls must be independent (their own
        buffers).

    Returns
    -------
    results : list
        ``fn``'s results in the order of ``args``.
    """
    with _lock:
        if _state["executor"] is None:
            _state["executor"] = ThreadPoolExecutor(
                max_workers=available_cpus(), thread_name_prefix="sk_softmax"
            )
        executor = _state["executor"]
        free = available_cpus() - _state["busy"]
        n_runners = max(1, min(len(args), free))
        _state["busy"] += n_runners
    try:
        futures = [
            executor.submit(_run_share, fn, args, r, n_runners)
            for r in range(1, n_runners)
        ]
        try:
            shares = [_run_share(fn, args, 0, n_runners)]
        finally:
            # Never return (or raise) while workers still use the caller's
            # buffers: wait for all of them, then raise the first error.
            wait(futures)
        shares += [f.result() for f in futures]
    finally:
        with _lock:
            _state["busy"] -= n_runners
    results = [None] * len(args)
    for r, share in enumerate(shares):
        results[r::n_runners] = share
    return results
