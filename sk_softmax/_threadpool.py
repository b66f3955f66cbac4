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
"""

import contextlib
import os

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_scipy_blas", "scipy_only_blas_paths"]


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
