"""Thread pools: the kernel's workers, BLAS settings, threads and fork.

The library never changes a BLAS setting. Every scenario that could hang
(threads, fork) runs in a fresh Python process with a timeout, so that a hang
fails the test instead of blocking the suite; each script prints ``OK`` last.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sk_softmax._threadpool import chunk_workers, run_in_threads

# Shared by the scripts: data with several chunks (two workers on two cores),
# and the BLAS settings of every loaded library.
PRELUDE = """
import os, signal, threading, warnings
import numpy as np
import scipy.linalg  # loads scipy's BLAS
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits
from sk_softmax import SoftmaxRegression, _objective
from sk_softmax._blas import private_openblas
warnings.simplefilter("ignore")

# Loaded (and listed by threadpoolctl) from here on, as after a first fit:
# the pools compared below are the same libraries before and after.
private_openblas()

def pools():
    return {(i["filepath"], i["user_api"]): i["num_threads"] for i in threadpool_info()}

X = np.random.RandomState(0).randn(20000, 60)
y = np.arange(20000) % 4

# Hooks inside fits: while `local.hook` is set in a thread, it is called
# with the number of that fit's evaluations so far at each evaluation.
local = threading.local()
_original = _objective.ChunkedSoftmaxCrossEntropy.data_loss_gradient

def _spy(self, *args, **kwargs):
    hook = getattr(local, "hook", None)
    if hook is not None:
        local.count += 1
        hook(local.count)
    return _original(self, *args, **kwargs)

_objective.ChunkedSoftmaxCrossEntropy.data_loss_gradient = _spy

def fit_with(hook, **params):
    local.hook, local.count = hook, 0
    try:
        return SoftmaxRegression(**params).fit(X, y)
    finally:
        local.hook = None
"""


# Thread limits that distributed's nanny writes into os.environ of the
# process that starts a LocalCluster ("pre-spawn-environ", all set to 1):
# after the Dask tests, a script inheriting them would run every fit serially.
LEAKED_THREAD_LIMITS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def script_env(**extra):
    """os.environ without LEAKED_THREAD_LIMITS, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKED_THREAD_LIMITS}
    env.update(extra)
    return env


def run_script(body, timeout=120):
    """Run PRELUDE + body in a new interpreter; fail on error or timeout."""
    code = PRELUDE + textwrap.dedent(body)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=script_env(),
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung for {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "OK", proc.stdout + proc.stderr
    return proc.stdout


def test_fit_in_forked_child_after_a_fit_in_the_parent():
    # The reproducer: the parent's executor must not be inherited.
    run_script(
        """
        import multiprocessing as mp

        def child(_):
            return SoftmaxRegression().fit(X, y).coef_

        parent = SoftmaxRegression().fit(X, y).coef_
        with mp.get_context("fork").Pool(2) as pool:
            coefs = pool.map_async(child, [0, 1]).get(timeout=60)
        for coef in coefs:
            np.testing.assert_array_equal(coef, parent)
        print("OK")
        """
    )


def test_user_limit_in_another_thread_is_honoured_after_a_fit():
    run_script(
        """
        before = pools()
        SoftmaxRegression().fit(X, y)
        assert pools() == before
        seen = {}

        def other():
            with threadpool_limits(1):
                seen["inside"] = pools()
            seen["after"] = pools()

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert all(n == 1 for n in seen["inside"].values()), seen["inside"]
        assert seen["after"] == before
        print("OK")
        """
    )


def test_concurrent_fits_leave_every_pool_as_found():
    # 10 rounds of 4 fits held together at their first evaluation (all four
    # inside a fit at once), then two overlapping fits of different lengths,
    # ordered by events: the short one runs while the long one is inside its
    # fit, and ends while the long one is still inside it.
    run_script(
        """
        before = pools()
        errors = []

        def fit(hook, **params):
            try:
                fit_with(hook, **params)
            except Exception as exc:  # reported below
                errors.append(exc)

        for _ in range(10):
            barrier = threading.Barrier(4, timeout=120)

            def together(count):
                if count == 1:
                    barrier.wait()  # BrokenBarrierError after 120 s

            threads = [threading.Thread(target=fit, args=(together,))
                       for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
        long_in, short_done = threading.Event(), threading.Event()
        seen = {}

        def long_hook(count):
            if count == 1:
                long_in.set()
            elif count == 2:  # held mid-fit until the short fit has ended
                seen["short_ended"] = short_done.wait(120)
                seen["long_mid_fit"] = pools()

        def short_hook(count):
            if count == 1:  # starts only once the long fit is inside its fit
                seen["long_started"] = long_in.wait(120)

        w = threading.Thread(
            target=fit, args=(long_hook,), kwargs=dict(solver="gd", max_iter=300, tol=0)
        )
        w.start()
        fit(short_hook, solver="gd", max_iter=150, tol=0)
        seen["after_short"] = pools()
        short_done.set()
        w.join()
        assert not errors, errors
        assert seen["long_started"] and seen["short_ended"], seen
        assert seen["after_short"] == before, seen
        assert seen["long_mid_fit"] == before, seen
        assert pools() == before, (before, pools())
        print("OK")
        """,
        timeout=300,
    )


def test_fork_while_another_thread_is_inside_a_fit():
    # A thread is inside a fit (its evaluations on the worker threads,
    # the executor busy) when the main thread forks: the child's fits run on
    # their own workers and leave every pool as found, and so do the
    # parent's.
    run_script(
        """
        before = pools()
        inside, release = threading.Event(), threading.Event()

        def hold(count):
            if count == 2:
                inside.set()
                assert release.wait(120)

        result = {}
        t = threading.Thread(
            target=lambda: result.update(model=fit_with(hold, max_iter=20)))
        t.start()
        assert inside.wait(120)
        pid = os.fork()
        if pid == 0:
            signal.alarm(120)  # a hang ends the child (SIGALRM's default)
            code = 1
            try:
                for _ in range(2):
                    SoftmaxRegression(max_iter=20).fit(X, y)
                if pools() == before:
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        release.set()
        t.join()
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert np.max(result["model"].n_iter_) >= 2
        assert pools() == before
        print("OK")
        """
    )


def test_fits_see_the_users_blas_settings_and_interrupted_fits_restore_nothing():
    # During a fit (seen from each evaluation of the objective) every pool is
    # as the user set it, with or without the user's limits; a fit
    # interrupted by an exception leaves them so too.
    run_script(
        """
        from sk_softmax import _objective

        before = pools()
        seen = []
        original = _objective.ChunkedSoftmaxCrossEntropy.loss_gradient

        class Boom(Exception):
            pass

        def fit_and_look(raise_after=None):
            def spy(self, w, need_gradient=True):
                seen.append(pools())
                if raise_after is not None and len(seen) >= raise_after:
                    raise Boom()
                return original(self, w, need_gradient)

            _objective.ChunkedSoftmaxCrossEntropy.loss_gradient = spy
            try:
                return SoftmaxRegression(max_iter=20).fit(X, y)
            finally:
                _objective.ChunkedSoftmaxCrossEntropy.loss_gradient = original

        fit_and_look()
        assert seen and all(s == before for s in seen)
        seen.clear()
        try:
            fit_and_look(raise_after=2)
        except Boom:
            pass
        else:
            raise AssertionError("the exception did not propagate")
        assert pools() == before
        seen.clear()
        with threadpool_limits(1):
            limited = pools()
            fit_and_look()
            assert pools() == limited
        assert seen and all(s == limited for s in seen)
        assert pools() == before
        print("OK")
        """
    )


def test_threads_of_a_fit_are_its_own_and_finish_with_it():
    # After any fit, no worker is busy and no BLAS thread of ours spins:
    # the process's thread count settles back to the executor's idle threads.
    run_script(
        """
        import os
        SoftmaxRegression().fit(X, y)
        n_after_first = threading.active_count()
        for _ in range(3):
            SoftmaxRegression().fit(X, y)
        assert threading.active_count() == n_after_first
        print("OK")
        """
    )


def test_user_blas_limit_makes_the_kernel_serial():
    with threadpool_limits(limits=1, user_api="blas"):
        assert chunk_workers(100) == 1
    assert chunk_workers(1) == 1


def test_run_in_threads_keeps_order_and_waits_for_all_workers():
    assert run_in_threads(lambda i: i * i, [(i,) for i in range(5)]) == [
        0,
        1,
        4,
        9,
        16,
    ]
    finished = []

    def work(i):
        # call 1 runs on another thread than calls 0 and 2 whatever the
        # number of threads (calls r, r + n, ... share a thread)
        if i == 2:
            raise ValueError("a share failed")
        if i == 1:
            import time

            time.sleep(0.1)
            finished.append(i)
        return i

    with pytest.raises(ValueError, match="a share failed"):
        run_in_threads(work, [(i,) for i in range(3)])
    # the exception was raised only after the other thread's call finished
    assert finished == [1]


def test_results_do_not_depend_on_concurrent_evaluations():
    # Concurrent evaluations share the cores (fewer threads each), but the
    # chunk groups and the order of their sums are fixed: identical results.
    import threading

    from sk_softmax._objective import ChunkedSoftmaxCrossEntropy

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 30))
    y = rng.integers(0, 3, size=4000)
    obj = ChunkedSoftmaxCrossEntropy(X, y, 3, chunk_size=256)
    w = rng.standard_normal(obj.n_params)
    alone = obj.loss_gradient(w)
    results = []

    def evaluate():
        other = ChunkedSoftmaxCrossEntropy(X, y, 3, chunk_size=256)
        for _ in range(5):
            results.append(other.loss_gradient(w))

    threads = [threading.Thread(target=evaluate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 15
    for loss, grad in results:
        assert loss == alone[0]
        np.testing.assert_array_equal(grad, alone[1])


def test_private_openblas_matches_numpy(private_blas):
    gemm = private_blas
    rng = np.random.default_rng(0)
    for dtype, rtol in [(np.float64, 1e-13), (np.float32, 1e-5)]:
        W = rng.standard_normal((7, 33)).astype(dtype)
        X = rng.standard_normal((50, 33)).astype(dtype)
        Xc = X[5:45]  # a row slice, as the kernel passes chunks
        out = np.empty((7, 40), dtype=dtype)
        gemm(W, Xc, out, trans_b=True)
        np.testing.assert_allclose(out, W @ Xc.T, rtol=rtol, atol=rtol)
        G = rng.standard_normal((7, 40)).astype(dtype)
        acc = rng.standard_normal((7, 33)).astype(dtype)
        expected = acc + G @ Xc
        gemm(G, Xc, acc, accumulate=True)
        np.testing.assert_allclose(acc, expected, rtol=rtol, atol=rtol)
