"""Keep numpy's and scipy's BLAS thread pools from competing for the cores.

numpy and scipy wheels each ship their own OpenBLAS. The objective's matrix
products run in numpy's; scipy's L-BFGS-B uses scipy's for its own small
vector work between evaluations. When both pools are sized to all cores their
threads spin against each other, and ``LogisticRegression`` fits have been
measured 1.35-1.9x slower for it. While a solver runs we therefore limit the
BLAS libraries that belong to scipy (and not to numpy) to one thread. Limits
already set by the user (``threadpoolctl.threadpool_limits``, environment
variables) are respected: one thread is never more than the user allowed, and
numpy's pool is left exactly as the user set it.

The dense loss/gradient kernel parallelises itself over row chunks instead of
relying on BLAS threads: the skinny per-chunk products (``K`` columns) scale
poorly over BLAS threads and the element-wise work (``exp``, log-sum-exp) is
single-threaded in numpy. :func:`chunk_workers` returns as many workers as
numpy's BLAS is currently allowed threads (so ``threadpool_limits(1)`` or
``OPENBLAS_NUM_THREADS=1`` make the kernel serial), and
:func:`run_in_threads` runs them with numpy's BLAS at one thread meanwhile,
restoring it afterwards.

:func:`kernel_session` holds numpy's BLAS at one thread for a whole solver run
instead of one evaluation: OpenBLAS's worker threads busy-wait on their core
for a while after every multi-threaded call, so any BLAS call between
evaluations (a solver's dot products, the penalty) left a thread spinning
against the next evaluation's chunk workers. Measured on 50000 x 256, K=200,
2 cores: one evaluation 121 ms (float32) / 204 ms (float64) after a threaded
``ddot`` of the parameters, 78 / 165 ms without it.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = [
    "single_threaded_scipy_blas",
    "scipy_only_blas_paths",
    "numpy_blas_controllers",
    "chunk_workers",
    "run_in_threads",
    "kernel_session",
]


def _owned_by(path, package_dir):
    # A wheel keeps its shared libraries in "<pkg>/" or "<pkg>.libs/".
    path = os.path.realpath(path)
    root = os.path.realpath(package_dir)
    return path.startswith(root + os.sep) or path.startswith(root + ".libs" + os.sep)


def scipy_only_blas_paths(controller):
    """File paths of the BLAS libraries loaded by scipy but not used by numpy.

    Parameters
    ----------
    controller : threadpoolctl.ThreadpoolController
        Controller listing the loaded libraries.

    Returns
    -------
    paths : list of str
        Empty when numpy and scipy share one BLAS (then nothing is limited).
    """
    import scipy

    numpy_dir = os.path.dirname(np.__file__)
    scipy_dir = os.path.dirname(scipy.__file__)
    return [
        lib.filepath
        for lib in controller.lib_controllers
        if lib.user_api == "blas"
        and _owned_by(lib.filepath, scipy_dir)
        and not _owned_by(lib.filepath, numpy_dir)
    ]


@contextlib.contextmanager
def single_threaded_scipy_blas():
    """Context manager limiting scipy's own BLAS pool to one thread.

    Yields
    ------
    None
    """
    controller = ThreadpoolController()
    paths = scipy_only_blas_paths(controller)
    if not paths:
        yield
        return
    with controller.select(filepath=paths).limit(limits=1):
        yield


_state = {"numpy_blas": None, "executor": None, "active": 0, "saved": None}
_lock = threading.Lock()


def numpy_blas_controllers():
    """threadpoolctl controllers of the BLAS libraries that numpy uses.

    Found once per process (the loaded libraries do not change); their thread
    counts are read live, so later ``threadpool_limits`` calls are seen.

    Returns
    -------
    controllers : list
        ``threadpoolctl`` library controllers (empty if none is found).
    """
    if _state["numpy_blas"] is None:
        controller = ThreadpoolController()
        numpy_dir = os.path.dirname(np.__file__)
        libs = [
            lib
            for lib in controller.lib_controllers
            if lib.user_api == "blas" and _owned_by(lib.filepath, numpy_dir)
        ]
        _state["numpy_blas"] = libs
    return _state["numpy_blas"]


def _available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def chunk_workers(n_chunks):
    """Number of threads to process ``n_chunks`` row chunks with.

    The thread count numpy's BLAS currently allows (the user's limit, if
    any), at most the number of usable CPUs and of chunks; 1 when numpy's
    BLAS cannot be found or controlled.

    Parameters
    ----------
    n_chunks : int
        Number of chunks to process.

    Returns
    -------
    n_workers : int
    """
    libs = numpy_blas_controllers()
    if not libs or n_chunks < 2:
        return 1
    with _lock:
        saved = _state["saved"] if _state["active"] else None
    # Inside a session numpy's BLAS is held at 1 thread: the budget is the
    # count it had on entry (the user's limit, if any).
    allowed = min(saved) if saved else min(lib.num_threads for lib in libs)
    return int(max(1, min(allowed, _available_cpus(), n_chunks)))


@contextlib.contextmanager
def kernel_session():
    """Context manager for a solver run: numpy's BLAS held at one thread.

    The chunked kernel keeps the thread budget numpy's BLAS had on entry (see
    :func:`chunk_workers`) and runs its own worker threads; everything else
    in the run (a solver's vector work, user callbacks) sees a single-threaded
    numpy BLAS, so no idle OpenBLAS thread spins against the workers. Nested
    and concurrent sessions (and :func:`run_in_threads`, which enters one per
    evaluation) are reference-counted; the user's setting is restored when
    the last one ends.

    Yields
    ------
    None
    """
    # Reference-counted so that concurrent evaluations from several user
    # threads save and restore the user's setting exactly once.
    libs = numpy_blas_controllers()
    with _lock:
        if _state["active"] == 0:
            _state["saved"] = [lib.num_threads for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _state["active"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["active"] -= 1
            if _state["active"] == 0:
                for lib, n in zip(libs, _state["saved"], strict=True):
                    lib.set_num_threads(n)


def run_in_threads(fn, args):
    """``[fn(*a) for a in args]``, in parallel threads, numpy's BLAS at 1 thread.

    Parameters
    ----------
    fn : callable
        Work function; numpy releases the GIL in its BLAS calls and ufuncs.
    args : list of tuple
        Arguments of each call.

    Returns
    -------
    results : list
        ``fn``'s results in the order of ``args``.
    """
    with _lock:
        if _state["executor"] is None:
            _state["executor"] = ThreadPoolExecutor(
                max_workers=_available_cpus(), thread_name_prefix="sk_softmax"
            )
        executor = _state["executor"]
    with kernel_session():
        futures = [executor.submit(fn, *a) for a in args[1:]]
        first = fn(*args[0])  # the calling thread does the first share
        return [first] + [f.result() for f in futures]
