"""Tests of the BLAS thread-pool handling."""

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loads scipy's BLAS)
from threadpoolctl import ThreadpoolController, threadpool_limits

from sk_softmax._threadpool import (
    _available_cpus,
    chunk_workers,
    kernel_session,
    numpy_blas_controllers,
    run_in_threads,
    scipy_only_blas_paths,
    single_threaded_scipy_blas,
)


def blas_threads():
    """{filepath: num_threads} of the loaded BLAS libraries."""
    return {
        lib.filepath: lib.num_threads
        for lib in ThreadpoolController().lib_controllers
        if lib.user_api == "blas"
    }


def test_only_scipy_pool_is_limited():
    controller = ThreadpoolController()
    scipy_paths = scipy_only_blas_paths(controller)
    if not scipy_paths:
        pytest.skip("numpy and scipy share one BLAS: nothing to limit")
    before = blas_threads()
    with single_threaded_scipy_blas():
        inside = blas_threads()
    for path, n in inside.items():
        if path in scipy_paths:
            assert n == 1
        else:
            assert n == before[path]  # numpy's pool unchanged
    assert blas_threads() == before


def test_user_limit_of_one_is_preserved():
    with threadpool_limits(limits=1, user_api="blas"):
        with single_threaded_scipy_blas():
            assert all(n == 1 for n in blas_threads().values())
        assert all(n == 1 for n in blas_threads().values())
        assert chunk_workers(100) == 1


def test_numpy_blas_is_not_scipy_only():
    controller = ThreadpoolController()
    numpy_paths = {lib.filepath for lib in numpy_blas_controllers()}
    assert not numpy_paths & set(scipy_only_blas_paths(controller))


def test_run_in_threads_restores_numpy_pool_and_keeps_order():
    before = blas_threads()
    numpy_paths = {lib.filepath for lib in numpy_blas_controllers()}
    seen = []

    def work(i):
        seen.append({p: n for p, n in blas_threads().items() if p in numpy_paths})
        return i * i

    assert run_in_threads(work, [(i,) for i in range(5)]) == [0, 1, 4, 9, 16]
    assert all(n == 1 for d in seen for n in d.values())  # 1 BLAS thread inside
    assert blas_threads() == before


def test_chunk_workers_bounds():
    assert chunk_workers(1) == 1
    assert 1 <= chunk_workers(1000) <= max(1, len(np.arange(1000)))


def test_kernel_session_holds_numpy_blas_and_keeps_the_budget():
    libs = numpy_blas_controllers()
    if not libs:
        pytest.skip("numpy's BLAS is not controllable here")
    before = blas_threads()
    numpy_paths = {lib.filepath for lib in libs}
    with threadpool_limits(limits=2, user_api="blas"):
        budget = chunk_workers(100)
        assert budget == min(2, _available_cpus())
        with kernel_session():
            inside = blas_threads()
            assert all(inside[p] == 1 for p in numpy_paths)
            assert chunk_workers(100) == budget  # the budget from entry
            with kernel_session():  # nested: still held, same budget
                assert chunk_workers(100) == budget
            assert all(blas_threads()[p] == 1 for p in numpy_paths)
        assert all(blas_threads()[p] == 2 for p in numpy_paths)
    assert blas_threads() == before


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_restores_the_blas_pools():
    from sklearn.datasets import load_iris

    from sk_softmax import SoftmaxRegression

    X, y = load_iris(return_X_y=True)
    before = blas_threads()
    for solver in ["lbfgs", "gd", "sgd"]:
        SoftmaxRegression(solver=solver, max_iter=5).fit(X, y)
        assert blas_threads() == before
