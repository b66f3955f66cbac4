"""Single-threaded matrix products for the kernel's worker threads.

The dense kernel runs its row chunks in its own Python threads (see
:mod:`sk_softmax._threadpool`); each thread needs matrix products that stay on
its own core. numpy's BLAS cannot give that without changing process-wide
state: its thread count is one global setting that the user, other libraries
and other threads also own. Measured on the project's 2-core machine
(numpy 2.4.6, OpenBLAS 0.3.31, 60000 x 784, K=10, float64, one evaluation):

- chunk threads with numpy's BLAS held at one thread (the earlier design):
  44 ms, but holding it broke the programs around the estimator: after the
  main thread has called ``openblas_set_num_threads``, OpenBLAS 0.3.31 ignores
  the calls of every other thread (a user's ``threadpool_limits`` in a worker
  thread did nothing), concurrent fits restored each other's settings, and
  the executor hung in forked children;
- chunk threads calling numpy's multithreaded BLAS: 110 ms (two thread pools
  oversubscribing two cores);
- one thread, numpy's BLAS threads for the products: 60 ms.

So the worker threads call a private copy of numpy's own OpenBLAS, loaded
from an anonymous in-memory file (``memfd``) as a second, independent
library instance and set to one thread once. Nothing anyone else can see or
set changes: numpy's, scipy's and the user's BLAS settings are never
touched. The copy costs ~25 MB of mapped memory, loaded on the first dense
evaluation with more than one worker.

Where it cannot be loaded (not Linux, numpy built on another BLAS, a seccomp
filter refusing ``memfd_create`` with EPERM or ENOSYS as in hardened
containers, no ``/proc``, an executable memfd refused, a build without the
symbols), :func:`private_openblas` returns None and the kernel runs its chunks in
the calling thread with numpy's products: whatever the cause, it is tried
once per process and the failure remembered (:func:`load_error` says why),
and the models are those of the switched-off path below, exactly.

Switch: ``sk_softmax.set_config(private_blas=False)`` (or
``config_context``, or the environment variable ``SK_SOFTMAX_PRIVATE_BLAS=0``)
makes :func:`private_openblas` return None without loading anything; see
:mod:`sk_softmax._config`.

Visible: once loaded, ``threadpoolctl.threadpool_info()`` lists the copy
(threadpoolctl >= 3.2, which can register a controller; older versions do
not list it), with one thread, ``copy_of`` naming numpy's library file.

Fork: a thread may hold the loader's lock while another forks; the child
gets a fresh lock (``os.register_at_fork``) and loads its own copy if the
parent's was not finished. Every other module-level state of the package is
valid in a child as it is: ``_threadpool`` renews its own lock and executor,
the ``functools`` caches (``_objective._numpy``, ``_params``) hold no lock,
and ``_params``' set of validated parameters is plain data.
"""

import ctypes
import glob
import os
import tempfile
import threading

import numpy as np

from ._config import private_blas_enabled

__all__ = ["load_error", "private_openblas"]

# cblas enums (cblas.h)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# The copy's name: of its memfd (/proc/self/maps shows "/memfd:<name>
# (deleted)") and of the link the dynamic loader opens it by; where a
# process's open files are.
_LIBRARY_NAME = "libsk_softmax_private_openblas.so"
_STEM = _LIBRARY_NAME.split(".")[0]
_PROC_FD = "/proc/self/fd/{}"

# OpenBLAS's symbols, decorated as numpy's scipy-openblas64 wheels do or not.
_SET_NUM_THREADS = [
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
]
_GET_NUM_THREADS = [
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
]
_GET_CONFIG = ["scipy_openblas_get_config64_", "openblas_get_config64_"]
_GET_CONFIG += ["openblas_get_config"]
_GET_PARALLEL = ["scipy_openblas_get_parallel64_", "openblas_get_parallel64_"]
_GET_PARALLEL += ["openblas_get_parallel"]
_GET_CORENAME = ["scipy_openblas_get_corename64_", "openblas_get_corename64_"]
_GET_CORENAME += ["openblas_get_corename"]

# Loaded once per process (a fork child keeps the parent's): "gemm" is the
# _PrivateOpenBLAS, or None once loading failed ("error": why).
_lock = threading.Lock()
_cache = {}
_MISSING = object()
_registered = []  # the threadpoolctl controller class, once registered


def _numpy_openblas_path():
    """File of the OpenBLAS that numpy's wheel ships, or None."""
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    found = sorted(glob.glob(os.path.join(libs_dir, "lib*openblas*.so*")))
    return found[0] if found else None


def _symbol(lib, names):
    for name in names:
        try:
            return getattr(lib, name), name
        except AttributeError:
            continue
    return None, None


class _PrivateOpenBLAS:
    """``C = A @ op(B) (+ C)`` and a Cholesky solve (:meth:`posv`) through a
    private, single-threaded OpenBLAS.

    Parameters
    ----------
    lib : ctypes.CDLL
        The private library instance.
    prefix, suffix : str
        Symbol decoration of the build (``scipy_``/``64_`` for numpy's
        scipy-openblas64 wheels).
    index_type : ctypes type
        Integer type of the dimensions (64-bit for ILP64 builds).
    """

    def __init__(self, lib, prefix, suffix, index_type):
        self.lib = lib  # keeps the library loaded
        self._fn = {}
        i, p, c_int = index_type, ctypes.c_void_p, ctypes.c_int
        for dtype, letter, scalar in [
            (np.float64, "d", ctypes.c_double),
            (np.float32, "s", ctypes.c_float),
        ]:
            fn = getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}")
            fn.restype = None
            fn.argtypes = [c_int, c_int, c_int, i, i, i, scalar, p, i, p, i]
            fn.argtypes += [scalar, p, i]
            self._fn[np.dtype(dtype)] = fn
        # LAPACKE_dposv(layout, uplo, n, nrhs, a, lda, b, ldb) -> info; None
        # if the build has no LAPACKE.
        self._posv = getattr(lib, f"{prefix}LAPACKE_dposv{suffix}", None)
        if self._posv is not None:
            self._posv.restype = i
            self._posv.argtypes = [c_int, ctypes.c_char, i, i, p, i, p, i]

    def __call__(self, A, B, out, *, trans_b=False, accumulate=False):
        """``out = A @ B`` (``A @ B.T`` if ``trans_b``), or ``out += ...``.

        All three arrays: one dtype (float32 or float64), C-contiguous rows
        (a row slice of a C-contiguous array is fine), no aliasing.
        """
        fn = self._fn[A.dtype]
        m, k = A.shape
        n = B.shape[0] if trans_b else B.shape[1]
        fn(
            _ROW_MAJOR,
            _NO_TRANS,
            _TRANS if trans_b else _NO_TRANS,
            m,
            n,
            k,
            1.0,
            A.ctypes.data,
            A.strides[0] // A.itemsize,
            B.ctypes.data,
            B.strides[0] // B.itemsize,
            1.0 if accumulate else 0.0,
            out.ctypes.data,
            out.strides[0] // out.itemsize,
        )
        return out

    def posv(self, A, b):
        """Solve ``A x = b`` in place by Cholesky (``A`` symmetric), one thread.

        ``A`` (n, n) C-contiguous float64 is overwritten by its factor, ``b``
        (n,) float64 by ``x``. Returns LAPACK's ``info`` (0: solved; > 0:
        ``A`` is not positive definite), or None without LAPACKE.
        """
        if self._posv is None:
            return None
        n = A.shape[0]
        return int(
            self._posv(_ROW_MAJOR, b"L", n, 1, A.ctypes.data, n, b.ctypes.data, 1)
        )


def _dlopen(fd):
    """``ctypes.CDLL`` of the library in the memfd ``fd``.

    Opened through a symbolic link named like the memfd in a private
    temporary folder (removed at once): the dynamic loader keeps that name,
    which threadpoolctl versions that list libraries with
    ``dl_iterate_phdr`` recognise (:func:`_register`), where the
    ``/proc/self/fd`` path is no name at all once ``fd`` is closed. Without a
    writable temporary folder, the ``/proc`` path is opened directly.
    """
    target = _PROC_FD.format(fd)
    # RTLD_LOCAL: its symbols do not interpose anyone else's; its
    # dependencies (libgfortran) are the ones numpy already loaded.
    mode = os.RTLD_LOCAL | os.RTLD_NOW
    folder = _link_folder()
    if folder is None:
        return ctypes.CDLL(target, mode=mode)
    link = os.path.join(folder, _LIBRARY_NAME)
    try:
        try:
            os.symlink(target, link)
        except OSError:
            return ctypes.CDLL(target, mode=mode)
        return ctypes.CDLL(link, mode=mode)
    finally:
        if os.path.lexists(link):
            os.unlink(link)
        os.rmdir(folder)


def _link_folder():
    """A new private folder, in ``/dev/shm`` if possible (tmpfs: creating and
    removing the link there took 0.02 ms against 3.8 ms, up to 18 ms, in the
    ext4 ``/tmp`` of the busy 2-core machine), else in the default temporary
    folder; None if neither is writable."""
    for base in ("/dev/shm", None):
        try:
            return os.path.realpath(tempfile.mkdtemp(prefix="sk_softmax_", dir=base))
        except OSError:
            continue
    return None


def _load():
    """The private copy, loaded now; raises whatever stops the loading."""
    path = _numpy_openblas_path()
    if path is None:
        raise OSError("numpy ships no OpenBLAS library file")
    if not hasattr(os, "memfd_create"):
        raise OSError("os.memfd_create is not available (not Linux)")
    fd = os.memfd_create(_LIBRARY_NAME)
    try:
        with open(path, "rb") as src:  # kernel-side copy: no 25 MB bytes object
            size, offset = os.fstat(src.fileno()).st_size, 0
            while offset < size:
                offset += os.sendfile(fd, src.fileno(), offset, size - offset)
        lib = _dlopen(fd)
    finally:
        os.close(fd)  # the mapping keeps the library alive
    set_threads, name = _symbol(lib, _SET_NUM_THREADS)
    if set_threads is None:
        raise AttributeError("no openblas_set_num_threads in the copy")
    set_threads.argtypes = [ctypes.c_int]
    set_threads.restype = None
    set_threads(1)
    # The copy started its own idle thread pool when loaded (one thread per
    # core but one); at one thread it never uses it: end those threads.
    shutdown, _ = _symbol(lib, ["blas_thread_shutdown_"])
    if shutdown is not None:
        shutdown.restype = ctypes.c_int
        shutdown()
    prefix = "scipy_" if name.startswith("scipy_") else ""
    suffix = "64_" if "64_" in name else ""
    index_type = ctypes.c_int64 if suffix else ctypes.c_int
    return _PrivateOpenBLAS(lib, prefix, suffix, index_type)


def _library():
    """The process's private copy, loaded on the first call; None if it
    cannot be loaded. A failure is remembered (never retried), its reason
    kept in ``_cache["error"]``."""
    gemm = _cache.get("gemm", _MISSING)
    if gemm is not _MISSING:
        return gemm
    with _lock:
        if "gemm" not in _cache:
            try:
                gemm = _load()
            except Exception as exc:  # memfd, /proc, dlopen, symbols...
                # Any failure means one thing: the serial path, for good.
                _cache["error"] = f"{type(exc).__name__}: {exc}"
                gemm = None
            if gemm is not None:
                _register()
            _cache["gemm"] = gemm
        return _cache["gemm"]


def private_openblas():
    """The process's private single-threaded OpenBLAS; None if unavailable
    or switched off.

    Loaded once, on the first call while the ``private_blas`` setting is on
    (see :func:`sk_softmax.set_config`); while it is off, the copy is not
    loaded and None is returned. A copy that cannot be loaded (see the module
    docstring) gives None for the rest of the process, after one try.

    Returns
    -------
    blas : callable or None
        ``blas(A, B, out, trans_b=False, accumulate=False)`` (GEMM), and
        ``blas.posv(A, b)`` (a Cholesky solve).
    """
    if not private_blas_enabled():
        return None
    return _library()


def load_error():
    """Why the private copy could not be loaded (str); None if it loaded or
    was never tried."""
    return _cache.get("error")


def _after_fork_in_child():
    # A thread of the parent may have held the lock (loading the copy) at
    # the fork; it does not exist in the child. The cache is consistent
    # either way: a copy loaded in the parent is mapped in the child too;
    # one being loaded was not cached yet, and the child loads its own.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _register():
    """List the copy in ``threadpoolctl.threadpool_info()`` (threadpoolctl >=
    3.2, which has ``register``; older ones do not list it).

    Its entry: ``user_api`` ``"blas"``, ``internal_api`` ``"openblas"``,
    ``num_threads`` 1 (always: ``threadpool_limits`` does not change it, the
    parallelism is that of the kernel's threads, which follow numpy's BLAS
    limit), ``filepath`` ``/memfd:libsk_softmax_private_openblas.so
    (deleted)`` (threadpoolctl 3.8 lists libraries from ``/proc/self/maps``)
    or the removed link it was loaded through (earlier versions use
    ``dl_iterate_phdr``), and ``copy_of`` numpy's library file. Registering
    costs ~0.1 ms; a failure here leaves the copy in use, unlisted.
    """
    if _registered:  # once per process (a forked child keeps it)
        return True
    try:
        import threadpoolctl

        register = threadpoolctl.register
        controller = _controller_class(threadpoolctl.LibController)
        register(controller)
    except Exception:  # pragma: no cover (threadpoolctl < 3.2)
        return False
    _registered.append(controller)
    return True


def _controller_class(base):
    """The threadpoolctl controller class of the private copy."""

    class PrivateOpenBLASController(base):
        user_api = "blas"
        internal_api = "openblas"
        # As listed from /proc/self/maps (threadpoolctl >= 3.8 on Linux) or
        # by dl_iterate_phdr (the link's name).
        filename_prefixes = ("memfd:" + _STEM, _STEM)
        check_symbols = tuple(_GET_NUM_THREADS)

        def __init__(self, *, filepath=None, prefix=None, parent=None):
            # LibController's __init__ opens `filepath` with RTLD_NOLOAD,
            # which fails for "/memfd:... (deleted)" (not the name the
            # loader knows): use the handle of the copy instead.
            self.parent = parent
            self.prefix = prefix
            self.filepath = filepath
            gemm = _cache.get("gemm")
            if gemm is not None:
                self.dynlib = gemm.lib
            else:  # the copy of a load interrupted by a fork (OSError if so)
                self.dynlib = ctypes.CDLL(filepath, mode=os.RTLD_NOLOAD)
            self.version = self.get_version()
            self.set_additional_attributes()

        def get_num_threads(self):
            fn, _ = _symbol(self.dynlib, _GET_NUM_THREADS)
            return None if fn is None else int(fn())

        def set_num_threads(self, num_threads):
            # Always one thread: the kernel's workers are the parallelism.
            pass

        def get_version(self):
            fn, _ = _symbol(self.dynlib, _GET_CONFIG)
            if fn is None:
                return None
            fn.restype = ctypes.c_char_p
            words = fn().decode("utf-8", "replace").split()
            return words[1] if len(words) > 1 and words[0] == "OpenBLAS" else None

        def set_additional_attributes(self):
            fn, _ = _symbol(self.dynlib, _GET_PARALLEL)
            layer = None if fn is None else int(fn())
            self.threading_layer = {0: "disabled", 1: "pthreads", 2: "openmp"}.get(
                layer, "unknown"
            )
            fn, _ = _symbol(self.dynlib, _GET_CORENAME)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                self.architecture = fn().decode("utf-8", "replace")
            else:
                self.architecture = None
            self.copy_of = _numpy_openblas_path()

    return PrivateOpenBLASController
