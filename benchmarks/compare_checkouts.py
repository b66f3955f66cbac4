"""Two checkouts of the package, one benchmark, interleaved in one run.

Before/after comparisons of a change: the same benchmark script runs
``--rounds`` times on each checkout, alternating (before, after, then
after, before, ...), each run a fresh process whose ``sk_softmax`` is
imported from that checkout (``PYTHONPATH``). The machine's load thus hits
both alike. For every cell the script reports (data set and setting,
shape / dtype / tol, or library and setting), the median over rounds of its
measures on each side, and after / before.

Usage, from the repository root (``--before`` / ``--after``: folders whose
``sk_softmax/`` is the package to import, e.g. a ``git worktree`` of the old
commit; the benchmark scripts themselves come from this checkout)::

    python benchmarks/compare_checkouts.py --before ../old --after . \\
        --rounds 5 -- bench_small.py --repeats 20 --budget 4
    python benchmarks/compare_checkouts.py --before ../old --after . \\
        --rounds 3 -- bench_vs_logreg.py --quick --tols 1e-4 --repeats 1

The per-round result lines and the summary are appended to ``--out``
(default ``benchmarks/results/before_after.jsonl``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from _meta import run_meta

HERE = os.path.dirname(os.path.abspath(__file__))


def _small(line):
    key = (line["dataset"], line["setting"])
    return key, {
        "ours_ms": line["ours_ms"],
        "ours_cpu_ms": line["ours_cpu_ms"],
        "ratio_to_lr": line["ratio"],
        "cpu_ratio_to_lr": line["cpu_ratio"],
    }


def _vs_logreg(line):
    key = (line["shape"], line["dtype"], f"tol={line['tol']:g}")
    ours, lr = line["ours"], line["lr"]
    measures = {"ours_s": ours["time"], "ratio_to_lr": ours["time"] / lr["time"]}
    if ours.get("mem") and lr.get("mem"):
        measures["ours_mem"] = ours["mem"]
    return key, measures


def _sparse(line):
    for row in line.get("rows", []):
        if row["library"].startswith("SoftmaxRegression"):
            key = (row["shape"], row["library"], row["setting"])
            yield key, {"ours_s": row["time"], "ours_cpu_s": sum(row["cpu"])}


EXTRACT = {
    "bench_small.py": lambda line: [_small(line)],
    "bench_vs_logreg.py": lambda line: [_vs_logreg(line)],
    "bench_sparse.py": lambda line: list(_sparse(line)),
}


def _run(root, script, args):
    """One run of ``script`` on the package in ``root``: its result lines."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.jsonl")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(root), HERE])
        cmd = [sys.executable, os.path.join(HERE, script), *args, "--out", out]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return [json.loads(s) for s in f if s.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default=os.path.join(HERE, "results", "before_after.jsonl"))
    p.add_argument("script", choices=sorted(EXTRACT))
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    sides = {"before": a.before, "after": a.after}
    cells = {}
    for r in range(a.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for side in order:
            for line in _run(sides[side], a.script, a.args):
                for key, measures in EXTRACT[a.script](line):
                    cell = cells.setdefault(key, {"before": [], "after": []})
                    cell[side].append(measures)
            print(f"round {r + 1}/{a.rounds}: {side} done", file=sys.stderr)
    summary = []
    for key, cell in cells.items():
        row = {"cell": list(key), "rounds": len(cell["after"])}
        for name in cell["after"][0]:
            b = statistics.median(m[name] for m in cell["before"])
            f = statistics.median(m[name] for m in cell["after"])
            row[name] = {"before": b, "after": f, "after/before": f / b}
        summary.append(row)
        print(
            " / ".join(map(str, key)),
            "  ".join(
                f"{n}: {v['before']:.4g} -> {v['after']:.4g} ({v['after/before']:.3f})"
                for n, v in row.items()
                if isinstance(v, dict)
            ),
        )
    record = {
        "script": a.script,
        "args": a.args,
        "before": os.path.abspath(a.before),
        "after": os.path.abspath(a.after),
        "summary": summary,
        "meta": run_meta(),
    }
    with open(a.out, "a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
