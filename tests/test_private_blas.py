"""The private single-threaded BLAS (``sk_softmax._blas``): a loader that
cannot load falls back to the serial path once, a fork while it loads does
not hang the child, threadpoolctl lists the copy, and a switch turns it off.

Every scenario that changes process-wide state (a seccomp filter, a fork, a
loaded library) runs in a fresh interpreter with a timeout; each script
prints ``OK`` last.
"""

import os
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sk_softmax
from sk_softmax import _blas, _fit
from sk_softmax._config import ENV_PRIVATE_BLAS
from sk_softmax._solvers import cholesky_direction
from sk_softmax._threadpool import chunk_workers

needs_private_blas = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _blas._numpy_openblas_path() is None,
    reason="the private BLAS exists only on Linux with numpy's OpenBLAS wheel",
)

# Dense data whose evaluations run on the kernel's worker threads (two row
# chunks of 3000, not the small-data path), 123 parameters (Newton-Cholesky's
# systems go to the private Cholesky from 96).
PRELUDE = """
import os, sys, threading, warnings
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
import sk_softmax
from sk_softmax import SoftmaxRegression, _blas, _threadpool
warnings.simplefilter("ignore")

if len(os.sched_getaffinity(0)) < 2:  # one usable CPU: two workers anyway,
    _threadpool.available_cpus = lambda: 2  # so that fits use the copy
    threadpool_limits(limits=2, user_api="blas")  # (kept for the script)

def pools():
    return {(i["filepath"], i["user_api"]): i["num_threads"] for i in threadpool_info()}

def private_entries():
    return [i for i in threadpool_info() if i["filepath"].find("sk_softmax") >= 0]

def memfd_mapped():
    with open("/proc/self/maps") as f:
        return "libsk_softmax_private_openblas" in f.read()

X = np.random.RandomState(0).randn(6000, 40)
y = np.arange(6000) % 3
SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "gd"]

def fit(solver, **kw):
    return SoftmaxRegression(solver=solver, max_iter=30, **kw).fit(X, y)
"""


def run_script(body, *, before="", env=None, timeout=180):
    """Run ``before`` (ahead of every import), PRELUDE and ``body`` in a new
    interpreter; fail on error or timeout; return its stdout."""
    code = textwrap.dedent(before) + PRELUDE + textwrap.dedent(body)
    # Without the thread limits that distributed's nanny writes into
    # os.environ (all 1, after the Dask tests: the fits would not thread).
    drop = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    full_env = {
        k: v for k, v in os.environ.items() if k not in drop + (ENV_PRIVATE_BLAS,)
    }
    full_env.update(env or {})
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung for {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    out = proc.stdout.strip().splitlines()
    if out and out[-1].startswith("SKIP"):
        pytest.skip(out[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out and out[-1] == "OK", proc.stdout + proc.stderr
    return proc.stdout


# A seccomp filter that refuses memfd_create with ERRNO, as hardened
# containers do, installed with prctl through ctypes before anything else
# (so that every thread started later inherits it).
SECCOMP = """
import ctypes, errno, os, platform

def refuse_memfd_create(err):
    arch, nr = {
        "x86_64": (0xC000003E, 319),  # AUDIT_ARCH_X86_64, __NR_memfd_create
        "aarch64": (0xC00000B7, 279),
    }[platform.machine()]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                    ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    LD, JEQ, RET = 0x20, 0x15, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_RET|K
    prog = (Filter * 6)(
        Filter(LD, 0, 0, 4),  # seccomp_data.arch
        Filter(JEQ, 0, 3, arch),
        Filter(LD, 0, 0, 0),  # seccomp_data.nr
        Filter(JEQ, 0, 1, nr),
        Filter(RET, 0, 0, 0x00050000 | err),  # SECCOMP_RET_ERRNO
        Filter(RET, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
    )
    libc = ctypes.CDLL(None, use_errno=True)
    fprog = Prog(len(prog), prog)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(  # PR_SET_NO_NEW_PRIVS
        22, 2, ctypes.byref(fprog), 0, 0  # PR_SET_SECCOMP, MODE_FILTER
    ) != 0:
        print("SKIP: seccomp filters refused here:", os.strerror(ctypes.get_errno()))
        raise SystemExit(0)
    try:
        os.memfd_create("probe")
    except OSError as exc:
        assert exc.errno == err, exc
    else:
        raise AssertionError("the filter let memfd_create through")

refuse_memfd_create(errno.{errno})
"""

# Failures injected after the imports: a /proc without the file descriptors,
# a copy that is no library (dlopen fails), a library without OpenBLAS's
# symbols.
INJECT = {
    "seccomp-EPERM": "",
    "seccomp-ENOSYS": "",
    "no-proc": '_blas._PROC_FD = "/nonexistent/{}"',
    "not-a-library": "_blas._numpy_openblas_path = lambda: os.__file__",
    "missing-symbol": (
        "import _ctypes; _blas._numpy_openblas_path = lambda: _ctypes.__file__"
    ),
}
EXPECTED_ERROR = {
    "seccomp-EPERM": "PermissionError",
    "seccomp-ENOSYS": "OSError: [Errno 38]",
    "no-proc": "OSError",
    "not-a-library": "OSError",
    "missing-symbol": "AttributeError",
}


@needs_private_blas
@pytest.mark.parametrize("failure", list(INJECT))
def test_a_loader_failure_falls_back_once_to_the_serial_model(failure):
    # Every threaded dense solver fits, with the model of the serial path
    # (the private BLAS switched off), and the loader is tried only once.
    before = ""
    if failure.startswith("seccomp"):
        if platform.machine() not in ("x86_64", "aarch64"):
            pytest.skip("seccomp test written for x86_64 and aarch64")
        before = SECCOMP.replace("{errno}", failure.split("-")[1])
    out = run_script(
        f"""
        tries = []
        real_memfd_create = os.memfd_create

        def counted(*args, **kwargs):
            tries.append(args)
            return real_memfd_create(*args, **kwargs)

        os.memfd_create = counted
        {INJECT[failure]}
        info_before = pools()
        fallback = {{s: fit(s) for s in SOLVERS}}
        assert _blas._cache["gemm"] is None, _blas._cache
        print("error:", _blas.load_error())
        assert _blas.load_error().startswith({EXPECTED_ERROR[failure]!r})
        assert len(tries) == 1, tries
        fit("lbfgs")
        assert len(tries) == 1, tries  # remembered: never retried
        # only a library without the symbols was mapped
        assert memfd_mapped() == ({failure!r} == "missing-symbol")
        assert pools() == info_before  # nothing listed, nothing changed
        with sk_softmax.config_context(private_blas=False):
            for s in SOLVERS:
                serial = fit(s)
                np.testing.assert_array_equal(fallback[s].coef_, serial.coef_)
                np.testing.assert_array_equal(
                    fallback[s].intercept_, serial.intercept_)
                assert fallback[s].n_iter_ == serial.n_iter_
        print("OK")
        """,
        before=before,
    )
    assert "error:" in out


@needs_private_blas
def test_fork_while_another_thread_loads_the_private_blas():
    # A thread starts the process's first threaded fit and is held inside the
    # loader (holding the loader's lock) while the main thread forks: the
    # child's first threaded fit must load its own copy, not wait forever
    # for a lock whose holder does not exist in the child.
    run_script(
        """
        import signal
        real_load = _blas._load
        parent = os.getpid()
        loading, release = threading.Event(), threading.Event()

        def held_load():
            if os.getpid() == parent:
                loading.set()
                assert release.wait(120)
            return real_load()

        _blas._load = held_load
        result = {}
        t = threading.Thread(target=lambda: result.update(coef=fit("lbfgs").coef_))
        t.start()
        assert loading.wait(120)
        assert _blas._lock.locked()  # the thread is inside the loader now
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            signal.alarm(120)  # a hang ends the child (SIGALRM's default)
            code = 1
            try:
                os.close(r)
                coef = fit("lbfgs").coef_
                assert _blas._cache["gemm"] is not None
                # Listed where threadpoolctl can register it (>= 3.2).
                import threadpoolctl
                listed = 1 if hasattr(threadpoolctl, "register") else 0
                assert len(private_entries()) == listed
                os.write(w, coef.tobytes())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        data = b""
        while chunk := os.read(r, 1 << 16):
            data += chunk
        _, status = os.waitpid(pid, 0)
        release.set()
        t.join()
        assert os.waitstatus_to_exitcode(status) == 0, (
            "child failed" if os.WIFEXITED(status) else "child hung (SIGALRM)")
        child = np.frombuffer(data).reshape(result["coef"].shape)
        np.testing.assert_array_equal(child, result["coef"])
        print("OK")
        """
    )


@needs_private_blas
def test_threadpoolctl_lists_the_private_copy():
    pytest.importorskip("threadpoolctl", minversion="3.2")
    run_script(
        """
        before = pools()
        assert private_entries() == []
        fit("lbfgs")
        (entry,) = private_entries()
        assert entry["user_api"] == "blas" and entry["internal_api"] == "openblas"
        assert entry["num_threads"] == 1
        assert entry["copy_of"] == _blas._numpy_openblas_path()
        assert entry["version"] is not None
        after = pools()
        del after[(entry["filepath"], "blas")]
        assert after == before  # the other pools as found
        with threadpool_limits(limits=3):  # not changed: one thread always
            (entry,) = private_entries()
            assert entry["num_threads"] == 1
        # Listed also where threadpoolctl finds libraries with dl_iterate_phdr
        # (before 3.8 on Linux; a private method of threadpoolctl, if any).
        from threadpoolctl import ThreadpoolController
        ctl = ThreadpoolController.__new__(ThreadpoolController)
        ctl.lib_controllers = []
        finder = getattr(ctl, "_find_libraries_with_dl_iterate_phdr", None)
        if finder is not None:
            finder()
            (lib,) = [c for c in ctl.lib_controllers if "sk_softmax" in c.filepath]
            assert lib.num_threads == 1 and lib.filepath.endswith(
                "/libsk_softmax_private_openblas.so")
            print("dl_iterate_phdr: listed")
        print("OK")
        """
    )


@needs_private_blas
def test_switched_off_the_private_blas_is_never_loaded():
    # Off by the environment variable: no loader call, no mapping, nothing
    # new in threadpool_info; the models of the threaded fits (to rounding).
    out = run_script(
        """
        import json
        tries = []
        os.memfd_create = lambda *a, **k: tries.append(a)
        info_before = pools()
        assert sk_softmax.get_config() == {"private_blas": False}
        coefs = {s: fit(s, tol=1e-8).coef_.tolist() for s in SOLVERS}
        assert tries == [] and _blas._cache == {} and not memfd_mapped()
        assert pools() == info_before
        print(json.dumps(coefs))
        print("OK")
        """,
        env={ENV_PRIVATE_BLAS: "0"},
    )
    coefs = __import__("json").loads(out.strip().splitlines()[-2])
    rng = np.random.RandomState(0)
    X, y = rng.randn(6000, 40), np.arange(6000) % 3
    for solver, coef in coefs.items():
        threaded = sk_softmax.SoftmaxRegression(solver=solver, max_iter=30, tol=1e-8)
        threaded.fit(X, y)
        np.testing.assert_allclose(coef, threaded.coef_, rtol=1e-9, atol=1e-12)


def test_config_switch(monkeypatch):
    monkeypatch.delenv(ENV_PRIVATE_BLAS, raising=False)
    assert sk_softmax.get_config() == {"private_blas": True}
    with sk_softmax.config_context(private_blas=False):
        assert sk_softmax.get_config() == {"private_blas": False}
        assert _blas.private_openblas() is None
        assert chunk_workers(100) == 1
        with sk_softmax.config_context(private_blas=True):
            assert sk_softmax.get_config() == {"private_blas": True}
        assert sk_softmax.get_config() == {"private_blas": False}
    assert sk_softmax.get_config() == {"private_blas": True}
    with sk_softmax.config_context():  # restores what set_config sets
        sk_softmax.set_config(private_blas=np.False_)
        assert sk_softmax.get_config() == {"private_blas": False}
        sk_softmax.set_config()  # None: unchanged
        assert sk_softmax.get_config() == {"private_blas": False}
    assert sk_softmax.get_config() == {"private_blas": True}
    with pytest.raises(TypeError, match="private_blas must be a bool"):
        sk_softmax.set_config(private_blas="no")


def test_environment_switch_is_read_at_use(monkeypatch):
    for value, expected in [("0", False), ("OFF", False), ("1", True), ("", True)]:
        monkeypatch.setenv(ENV_PRIVATE_BLAS, value)
        assert sk_softmax.get_config() == {"private_blas": expected}
    monkeypatch.setenv(ENV_PRIVATE_BLAS, "0")
    assert _blas.private_openblas() is None
    with sk_softmax.config_context(private_blas=True):  # set_config wins
        assert sk_softmax.get_config() == {"private_blas": True}
    monkeypatch.setenv(ENV_PRIVATE_BLAS, "maybe")
    with pytest.raises(ValueError, match=f"{ENV_PRIVATE_BLAS} must be one of"):
        sk_softmax.get_config()


def test_cholesky_switched_off_between_checks_uses_scipy(monkeypatch):
    # The worker count allowed the private Cholesky, then the switch turned
    # off (another thread): scipy's solve, not an AttributeError on None.
    rng = np.random.default_rng(7)
    A = rng.normal(size=(130, 400))
    H, g = A @ A.T / 400, rng.normal(size=130)
    monkeypatch.setattr(_fit, "chunk_workers", lambda n: 2)
    solve = _fit.ExecutionPlan.decide(large_solves=True).cholesky_solve
    assert solve is _fit.private_posv
    monkeypatch.setattr(_fit, "private_openblas", lambda: None)
    p, _ = cholesky_direction(H, g, None, solve)
    np.testing.assert_allclose(H @ p, -g, rtol=1e-9, atol=1e-10)
