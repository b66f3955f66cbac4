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
evaluation with more than one worker; where it cannot be loaded (not Linux,
numpy built on another BLAS, no ``memfd``), :func:`private_gemm` returns None
and the kernel runs its chunks in the calling thread with numpy's products.
"""

import ctypes
import glob
import os
import threading

import numpy as np

__all__ = ["private_gemm"]

# cblas enums (cblas.h)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

_lock = threading.Lock()
_cache = {}


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


class _PrivateGemm:
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
        self._lib = lib  # keeps the library loaded
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


def _load():
    path = _numpy_openblas_path()
    if path is None or not hasattr(os, "memfd_create"):
        return None
    fd = os.memfd_create("sk_softmax_private_blas")
    try:
        with open(path, "rb") as src:  # kernel-side copy: no 25 MB bytes object
            size, offset = os.fstat(src.fileno()).st_size, 0
            while offset < size:
                offset += os.sendfile(fd, src.fileno(), offset, size - offset)
        # RTLD_LOCAL: its symbols do not interpose anyone else's; its
        # dependencies (libgfortran) are the ones numpy already loaded.
        lib = ctypes.CDLL(f"/proc/self/fd/{fd}", mode=os.RTLD_LOCAL | os.RTLD_NOW)
    except OSError:
        return None
    finally:
        os.close(fd)  # the mapping keeps the library alive
    set_threads, name = _symbol(
        lib,
        [
            "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ],
    )
    if set_threads is None:
        return None
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
    try:
        return _PrivateGemm(lib, prefix, suffix, index_type)
    except AttributeError:
        return None


def private_gemm():
    """The process's single-threaded GEMM, loaded once; None if unavailable.

    Returns
    -------
    gemm : callable or None
        ``gemm(A, B, out, trans_b=False, accumulate=False)``.
    """
    with _lock:
        if "gemm" not in _cache:
            _cache["gemm"] = _load()
        return _cache["gemm"]
