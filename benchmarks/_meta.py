"""Where a benchmark result comes from: date, code version, machine, load.

Every result line the benchmark scripts append carries ``run_meta()`` under
the key ``"meta"``, so that the tables and figures of the docs
(``benchmarks/report.py``) can say when, on which commit and under which
load each number was measured.
"""

import datetime
import os
import platform
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def _git(*args):
    try:
        out = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version():
    """Short commit of the checkout, ``+modified`` if ``sk_softmax/`` differs."""
    commit = _git("rev-parse", "--short=10", "HEAD")
    if commit is None:
        return "unknown"
    if _git("status", "--porcelain", "--", "../sk_softmax"):
        commit += "+modified"
    return commit


def package_version():
    """Last commit that changed ``sk_softmax/`` (the code measured)."""
    commit = _git("log", "-1", "--format=%h", "--abbrev=10", "--", "../sk_softmax")
    return commit or "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_meta(load_start=None):
    """Date (UTC), commits, CPU, cores and 1-minute load averages of a run.

    ``commit`` is the checkout's HEAD, ``package_commit`` the last commit
    that changed the package (the code measured).

    ``load_start``: the load average recorded when the run began (the one at
    the end is taken now).
    """
    load_end = os.getloadavg()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "commit": code_version(),
        "package_commit": package_version(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_start": load_end if load_start is None else load_start,
        "load_end": load_end,
    }
