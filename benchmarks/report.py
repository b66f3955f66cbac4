"""Tables and figures of the benchmarks page, generated from the result files.

The docs build runs :func:`build` (``docs/conf.py``), so the page cannot drift
from the JSON-lines files the benchmark scripts append to. By hand::

    python benchmarks/report.py                   # into docs/_generated
    python benchmarks/report.py --out /tmp/report

Every table and figure names the date, the code commit and the load average
of the runs it shows (``"meta"`` of each result line, see ``_meta.py``).
Result lines without ``"meta"`` come from the older files measured before the
scripts recorded it; their provenance is :data:`OLDER` and they are labelled
as older wherever they appear.

Writes ``<out>/<name>.rst`` (one RST fragment per table, to ``.. include::``)
and ``<out>/<name>.png`` (figures, to ``.. image::``).
"""

import argparse
import json
import os
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_OUT = HERE.parent / "docs" / "_generated"

# Provenance of the result files written before the scripts recorded it.
OLDER = {
    "bench_results.jsonl": (
        "older run: 2026-11-24, code before 2026-11-25 (the tol=1e-8 cells "
        "after the Newton-CG finish, the others one to two commits before it)"
    ),
    "sparse_results.jsonl": "older run: 2026-11-25, code of that day",
    "bench_l1_results.jsonl": "older run: 2026-11-25, code of that day",
}


# The shapes of bench_sparse.py shown on the page.
SPARSE_SHAPES = {"large": "csr_50000x200000_K20", "small": "csr_5000x20000_K5"}


# -- reading -----------------------------------------------------------------
def read_jsonl(path):
    path = Path(path)
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _package_commit(commit):
    """Last commit at or before ``commit`` that changed ``sk_softmax/``."""
    base, _, modified = commit.partition("+")
    try:
        out = subprocess.run(
            [
                "git",
                "log",
                "-1",
                "--format=%h",
                "--abbrev=10",
                base,
                "--",
                "../sk_softmax",
            ],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return commit
    found = out.stdout.strip() if out.returncode == 0 else ""
    return (found + ("+" + modified if modified else "")) if found else commit


def provenance(rows, fallback):
    """One line: dates, commits, load range and machine of ``rows``."""
    metas = [r["meta"] for r in rows if "meta" in r]
    if not metas:
        return fallback
    dates = sorted({m["date"][:10] for m in metas})
    times = sorted(m["date"] for m in metas)
    # The package's code: the last commit that changed sk_softmax/ (recorded,
    # or found from the checkout's HEAD of the run where git can).
    commits = sorted(
        {m.get("package_commit") or _package_commit(m["commit"]) for m in metas}
    )
    loads = [m[k] for m in metas for k in ("load_start", "load_end")]
    cpu = metas[0].get("cpu", "")
    cores = metas[0].get("cores", "")
    when = times[0] if len(times) == 1 else f"{times[0]} to {times[-1][11:]}"
    if len(dates) > 1:
        when = f"{times[0]} to {times[-1]}"
    return (
        f"measured {when}, commit {', '.join(commits)}, {cpu} ({cores} cores), "
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f}"
    )


# -- RST ---------------------------------------------------------------------
def list_table(header, lines, widths=None):
    out = [".. list-table::", "   :header-rows: 1"]
    if widths:
        out.append("   :widths: " + " ".join(str(w) for w in widths))
    out.append("")
    for cells in [header, *lines]:
        out.append("   * - " + cells[0])
        out.extend("     - " + c for c in cells[1:])
    return "\n".join(out) + "\n"


def _short(shape):
    kind, rest = shape.split("_", 1)
    dims, k = rest.rsplit("_", 1)
    return f"{kind} {dims.replace('x', ' x ')}, {k[0]}={k[1:]}"


def _data_label(row):
    label = _short(row["shape"])
    if row.get("quick"):
        label += " (quick)"
    return f"{label}, {row['dtype']}"


def _iters(est):
    return f"{est['n_iter']}{'*' if est['warned'] else ''}"


# -- bench_vs_logreg ---------------------------------------------------------
def vs_logreg_tables(rows):
    time_header = [
        "data",
        "tol",
        "ours (s)",
        "LR (s)",
        "ours / LR",
        "ours / LR1",
        "n_iter ours / LR",
    ]
    quality_header = [
        "data",
        "tol",
        "objective (ours - LR) / LR",
        "accuracy ours / LR",
        "peak extra memory ours / LR (MiB)",
        "memory ratio",
    ]
    t_lines, q_lines = [], []
    for r in rows:
        o, lr, lr1 = r["ours"], r["lr"], r["lr1"]
        label, tol = _data_label(r), f"{r['tol']:g}"
        t_lines.append(
            [
                label,
                tol,
                f"{o['time']:.2f}",
                f"{lr['time']:.2f}",
                f"{o['time'] / lr['time']:.2f}",
                f"{o['time'] / lr1['time']:.2f}",
                f"{_iters(o)} / {_iters(lr)}",
            ]
        )
        mem = ratio = "not run"
        if "mem" in o:
            mem = f"{o['mem'] / 2**20:.0f} / {lr['mem'] / 2**20:.0f}"
            ratio = f"{o['mem'] / lr['mem']:.2f}"
        q_lines.append(
            [
                label,
                tol,
                f"{(o['obj'] - lr['obj']) / abs(lr['obj']):+.1e}",
                f"{o['acc']:.3f} / {lr['acc']:.3f}",
                mem,
                ratio,
            ]
        )
    return (
        list_table(time_header, t_lines, [30, 8, 10, 10, 10, 10, 14]),
        list_table(quality_header, q_lines, [30, 8, 16, 16, 18, 10]),
    )


def vs_logreg_figure(rows, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{_data_label(r)}, tol={r['tol']:g}" for r in rows]
    lr = [r["ours"]["time"] / r["lr"]["time"] for r in rows]
    lr1 = [r["ours"]["time"] / r["lr1"]["time"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    ax.barh(y - 0.2, lr, height=0.4, label="ours / LogisticRegression (as shipped)")
    ax.barh(y + 0.2, lr1, height=0.4, label="ours / LogisticRegression, 1 BLAS thread")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("fit time ratio (log scale; < 1: SoftmaxRegression faster)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- bench_small -------------------------------------------------------------
def small_table(rows):
    header = [
        "data (n x d, K)",
        "setting",
        "n_iter ours / LR",
        "ours (ms)",
        "LR (ms)",
        "wall ratio",
        "CPU ratio",
    ]
    lines = [
        [
            f"{r['dataset']} ({r['shape'][0]} x {r['shape'][1]}, {r['n_classes']})",
            "1 BLAS thread" if r["setting"] == "1 thread" else "as shipped",
            f"{r['n_iter_ours']} / {r['n_iter_lr']}",
            f"{r['ours_ms']:.2f}",
            f"{r['lr_ms']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['cpu_ratio']:.2f}",
        ]
        for r in rows
    ]
    return list_table(header, lines, [26, 14, 12, 10, 10, 10, 10])


def small_figure(rows, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = ["1 thread", "shipped"]
    names = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, setting in zip(axes, settings, strict=True):
        sel = {r["dataset"]: r for r in rows if r["setting"] == setting}
        x = np.arange(len(names))
        ours = [sel[n]["ours_ms"] if n in sel else np.nan for n in names]
        lr = [sel[n]["lr_ms"] if n in sel else np.nan for n in names]
        ax.bar(x - 0.2, ours, width=0.4, label="SoftmaxRegression")
        ax.bar(x + 0.2, lr, width=0.4, label="LogisticRegression")
        for xi, o, b in zip(x, ours, lr, strict=True):
            if np.isfinite(o) and np.isfinite(b):
                ax.annotate(
                    f"{o / b:.2g}x",
                    (xi, max(o, b)),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        ax.set_yscale("log")
        ax.set_xticks(x, names, fontsize=8)
        ax.set_title(
            "1 BLAS thread" if setting == "1 thread" else "as shipped", fontsize=9
        )
    axes[0].set_ylabel("median fit time [ms] (log scale)")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- bench_sparse ------------------------------------------------------------
def _cpu(r):
    return float(np.median(r["cpu"])) if r.get("cpu") else np.nan


def sparse_targets(rows, key="time"):
    """Loose and tight targets and each library's time to them.

    The rules of ``bench_sparse.py``: loose = the objective of L-BFGS at
    ``tol=1e-4`` (ours, or LogisticRegression's where ours was skipped),
    tight = within 1e-7 relative of the best objective; a library's time to a
    target is the median time of its fastest setting that reaches it.
    """
    targets = {}
    for lib in ("SoftmaxRegression (lbfgs)", "LogisticRegression (lbfgs)"):
        for r in rows:
            if r["library"] == lib and r["setting"] in ("tol=0.0001", "tol=1e-4"):
                targets.setdefault("loose", r["objective"])
    best = min(r["objective"] for r in rows)
    targets["tight"] = best * (1 + 1e-7)
    time_to = {}
    for name, target in targets.items():
        per = {}
        for r in rows:
            t = r["time"] if key == "time" else _cpu(r)
            if r["objective"] <= target and (
                r["library"] not in per or t < per[r["library"]][0]
            ):
                per[r["library"]] = (t, r["setting"])
        time_to[name] = per
    return targets, best, time_to


def sparse_table(rec):
    header = ["estimator", "setting", "fit time (median)", "CPU time", "objective"]
    lines = []
    for r in rec["rows"]:
        cpu = f"{np.median(r['cpu']):.2f} s" if r.get("cpu") else "-"
        lines.append(
            [
                f"{r['library']} ({r['info']})",
                r["setting"],
                f"{r['time']:.2f} s ({len(r['times'])} runs)",
                cpu,
                f"{r['objective']:.7f}",
            ]
        )
    libs = sorted({r["library"] for r in rec["rows"]})
    items = []
    keys = ["time"] + (["cpu"] if all(r.get("cpu") for r in rec["rows"]) else [])
    for key in keys:
        targets, _, time_to = sparse_targets(rec["rows"], key)
        for name, target in targets.items():
            per = time_to[name]
            reached = sorted(per.items(), key=lambda kv: kv[1][0])
            text = "; ".join(f"{lib} {t:.3g} s ({s})" for lib, (t, s) in reached)
            missed = [lib for lib in libs if lib not in per]
            if missed:
                text += "; not reached by " + ", ".join(missed)
            what = "wall" if key == "time" else "CPU"
            items.append(f"* **{name}** target {target:.4f}, {what} time: {text}")
    return (
        list_table(header, lines, [34, 14, 16, 10, 16])
        + "\nTime to each target (the fastest setting that reaches it):\n\n"
        + "\n".join(items)
        + "\n"
    )


def sparse_figure(rec, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rec["rows"]
    targets, best, _ = sparse_targets(rows)
    libs = list(dict.fromkeys(r["library"] for r in rows))
    markers = "osD^v<>"
    keys = ["time"] + (["cpu"] if all(r.get("cpu") for r in rows) else [])
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4.4))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, keys, strict=True):
        for i, lib in enumerate(libs):
            sel = [r for r in rows if r["library"] == lib]
            xs = [r["time"] if key == "time" else _cpu(r) for r in sel]
            ys = [max(r["objective"] / best - 1, 1e-10) for r in sel]
            ax.plot(xs, ys, marker=markers[i % len(markers)], ls="-", label=lib)
            for r, x, y in zip(sel, xs, ys, strict=True):
                ax.annotate(
                    r["setting"].split("=")[1],
                    (x, y),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=6,
                )
        for j, (name, target) in enumerate(targets.items()):
            ax.axhline(
                max(target / best - 1, 1e-10),
                color="0.4",
                ls=["--", ":"][j % 2],
                lw=1,
                label=f"{name} target",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(
            "fit time [s] (wall, median, log scale)"
            if key == "time"
            else "process CPU time [s] (all threads, median, log scale)"
        )
        ax.set_ylabel("objective above the best, relative (log)")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- bench_tol ---------------------------------------------------------------
def _tol_groups(rows):
    groups = {}
    for r in rows:
        if r["reference"] is None:  # objectives only: tol_objectives_table
            continue
        key = (r["shape"], r["quick"], r["dtype"])
        groups.setdefault(key, []).append(r)
    return groups


def _gaps(rows, estimator, tol):
    return [
        f["gap"]
        for r in rows
        for f in r["fits"]
        if f["estimator"] == estimator
        and np.isclose(f["tol"], tol)
        and f["gap"] is not None
    ]


def tol_table(rows):
    header = [
        "data (seeds)",
        "ours tol=1e-4",
        "LR tol=1e-4",
        "ours tol=1e-5",
        "ours tol=1e-6",
        "LR tol=1e-6",
        "predictions as the optimum's (ours 1e-4, worst)",
    ]
    lines = []

    def span(g):
        if not g:
            return "-"
        return f"{np.median(g):.1e} ({max(g):.1e})"

    for (shape, quick, dtype), grp in _tol_groups(rows).items():
        same = [
            f["same_predictions"]
            for r in grp
            for f in r["fits"]
            if f["estimator"] == "SoftmaxRegression" and np.isclose(f["tol"], 1e-4)
        ]
        lines.append(
            [
                _data_label({"shape": shape, "quick": quick, "dtype": dtype})
                + f" ({len(grp)})",
                span(_gaps(grp, "SoftmaxRegression", 1e-4)),
                span(_gaps(grp, "LogisticRegression", 1e-4)),
                span(_gaps(grp, "SoftmaxRegression", 1e-5)),
                span(_gaps(grp, "SoftmaxRegression", 1e-6)),
                span(_gaps(grp, "LogisticRegression", 1e-6)),
                f"{min(same):.4f}" if same else "-",
            ]
        )
    return list_table(header, lines, [28, 12, 12, 12, 12, 12, 14])


def tol_objectives_table(rows):
    """The runs without a reference: both estimators' objectives at tol."""
    header = [
        "data, seed",
        "tol",
        "ours: objective (n_iter)",
        "LR: objective (n_iter)",
        "(ours - LR) / LR",
    ]
    lines = []
    for r in rows:
        if r["reference"] is not None:
            continue
        n = r["n_samples"]
        for tol in sorted({f["tol"] for f in r["fits"]}):
            pair = {f["estimator"]: f for f in r["fits"] if np.isclose(f["tol"], tol)}
            if len(pair) < 2:
                continue
            o, lr = pair["SoftmaxRegression"], pair["LogisticRegression"]
            lines.append(
                [
                    _data_label(r) + f", seed {r['seed']}",
                    f"{tol:g}",
                    f"{n * o['objective']:.2f} ({_iters(o)})",
                    f"{n * lr['objective']:.2f} ({_iters(lr)})",
                    f"{(o['objective'] - lr['objective']) / lr['objective']:+.1e}",
                ]
            )
    if not lines:
        return ""
    return list_table(header, lines, [30, 8, 20, 20, 12])


def tol_figure(rows, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(_tol_groups(rows).items())
    series = [
        ("SoftmaxRegression", 1e-4, "o", "C0"),
        ("LogisticRegression", 1e-4, "s", "C1"),
        ("SoftmaxRegression", 1e-5, "^", "C2"),
        ("SoftmaxRegression", 1e-6, "v", "C3"),
        ("LogisticRegression", 1e-6, "D", "C4"),
    ]
    fig, ax = plt.subplots(figsize=(9, 4))
    offsets = np.linspace(-0.3, 0.3, len(series))
    for (est, tol, marker, color), off in zip(series, offsets, strict=True):
        xs, ys = [], []
        for i, (_, grp) in enumerate(groups):
            g = _gaps(grp, est, tol)
            xs += [i + off] * len(g)
            ys += g
        name = "ours" if est == "SoftmaxRegression" else "LogisticRegression"
        ax.scatter(
            xs,
            np.maximum(ys, 1e-12),
            marker=marker,
            color=color,
            s=18,
            label=f"{name}, tol={tol:g}",
        )
    ax.set_yscale("log")
    ax.set_xticks(
        range(len(groups)),
        [
            _data_label({"shape": s, "quick": q, "dtype": d}).replace(", f", "\nf")
            for (s, q, d), _ in groups
        ],
        fontsize=7,
    )
    ax.set_ylabel("objective above the optimum, relative\n(log scale; 1e-12 = reached)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- bench_l1 ------------------------------------------------------------------
def l1_figure(rows, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.get("lbfgs", {}).get("reached")]
    labels = [
        f"{_short(r['shape'])}{' (quick)' if r['quick'] else ''}, "
        f"l1_ratio={r['l1_ratio']:g}, saga {r['saga_epochs']} epochs"
        for r in rows
    ]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    ax.barh(y - 0.2, [r["saga"]["time"] for r in rows], height=0.4, label="saga")
    ax.barh(
        y + 0.2,
        [r["lbfgs"]["time"] for r in rows],
        height=0.4,
        label="SoftmaxRegression (OWL-QN) to saga's objective",
    )
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds to the same objective (log scale)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- summaries (one generated paragraph per section) --------------------------
def _range(values, fmt="{:.2f}"):
    lo, hi = min(values), max(values)
    if fmt == "{:.2f}" and 0 < lo < 0.095:
        fmt = "{:.3f}"
    return (
        fmt.format(lo)
        if fmt.format(lo) == fmt.format(hi)
        else (f"{fmt.format(lo)}-{fmt.format(hi)}")
    )


def vs_logreg_summary(rows, what, prov):
    if not rows:
        return ""
    o = [r["ours"] for r in rows]
    t_lr = [r["ours"]["time"] / r["lr"]["time"] for r in rows]
    t_lr1 = [r["ours"]["time"] / r["lr1"]["time"] for r in rows]
    rel = [(r["ours"]["obj"] - r["lr"]["obj"]) / abs(r["lr"]["obj"]) for r in rows]
    text = (
        f"On the {len(rows)} {what} cells ({prov}), at tol="
        f"{_range([r['tol'] for r in rows], '{:g}')}, ``SoftmaxRegression`` took "
        f"**{_range(t_lr)}** of ``LogisticRegression``'s fit time as shipped and "
        f"**{_range(t_lr1)}** of its time with one BLAS thread (LR1); its final "
        f"objective was {_range(rel, '{:+.1e}')} relative to LR's (negative: "
        "lower)"
    )
    mem = [
        x["mem"] / r["lr"]["mem"] for x, r in zip(o, rows, strict=True) if "mem" in x
    ]
    if mem:
        text += f", and it needed {_range(mem)} of LR's peak extra memory"
    return text + ".\n"


def tol_summary(rows, prov):
    if not rows:
        return ""
    parts = []
    for est, tol in (
        ("SoftmaxRegression", 1e-4),
        ("LogisticRegression", 1e-4),
        ("SoftmaxRegression", 1e-5),
        ("SoftmaxRegression", 1e-6),
        ("LogisticRegression", 1e-6),
    ):
        g = _gaps(rows, est, tol)
        if g:
            name = "ours" if est == "SoftmaxRegression" else "LR"
            parts.append(
                f"{name} at tol={tol:g}: median {np.median(g):.1e}, "
                f"largest {max(g):.1e}"
            )
    lower = sum(
        ours["objective"] < lr["objective"]
        for r in rows
        for ours in r["fits"]
        for lr in r["fits"]
        if ours["estimator"] == "SoftmaxRegression"
        and lr["estimator"] == "LogisticRegression"
        and np.isclose(ours["tol"], 1e-4)
        and np.isclose(lr["tol"], 1e-4)
    )
    return (
        f"Over {len(rows)} data sets and seeds ({prov}), the objective above the "
        "optimum, relative: " + "; ".join(parts) + f". At tol=1e-4 ours ended "
        f"lower than LR on {lower} of the {len(rows)}.\n"
    )


def sparse_summary(rec, prov):
    text = _sparse_summary(rec, "time", "wall time")
    if all(r.get("cpu") for r in rec["rows"]):
        text += "; by CPU time: " + _sparse_summary(rec, "cpu", "CPU time")
    return f"In this run ({prov}), by wall time: {text}.\n"


def _sparse_summary(rec, key, what):
    targets, _, time_to = sparse_targets(rec["rows"], key)
    ours = "SoftmaxRegression (auto)"
    out = []
    for name in targets:
        per = time_to[name]
        if ours not in per:
            out.append(f"ours did not reach the {name} target")
            continue
        others = {k: v for k, v in per.items() if not k.startswith("SoftmaxReg")}
        text = f"to the {name} target ours took {per[ours][0]:.3g} s"
        if others:
            best = min(others, key=lambda k: others[k][0])
            text += (
                f", {per[ours][0] / others[best][0]:.2f}x the {what} of the fastest "
                f"other library reaching it ({best}, {others[best][0]:.3g} s)"
            )
        out.append(text)
    return "; ".join(out)


def small_summary(rows, prov):
    one = [r for r in rows if r["setting"] == "1 thread"]
    shipped = [r for r in rows if r["setting"] != "1 thread"]
    text = f"In this run ({prov}): "
    if one:
        text += (
            f"with one BLAS thread ``SoftmaxRegression`` took "
            f"**{_range([r['ratio'] for r in one])}** of ``LogisticRegression``'s "
            f"wall time per fit (CPU time {_range([r['cpu_ratio'] for r in one])})"
        )
    if shipped:
        text += (
            f"; as shipped {_range([r['ratio'] for r in shipped])} (wall), "
            "where LR's threaded BLAS calls wait for busy cores"
        )
    return text + ".\n"


def placeholder_figure(path, text):
    """A figure saying that its results are missing (the page still builds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- driver ------------------------------------------------------------------
def _write(out, name, text):
    (out / f"{name}.rst").write_text(text)


def _caption(text):
    return f"*{text}.*\n"


def build(out=DEFAULT_OUT, results=RESULTS):
    """Write every table (``.rst``) and figure (``.png``) into ``out``.

    A table or figure whose result file is missing or empty is replaced by a
    sentence saying so, so that the page builds from any checkout.
    """
    out = Path(out)
    results = Path(results)
    out.mkdir(parents=True, exist_ok=True)

    # bench_vs_logreg: the new runs (tol=1e-4), full shapes apart from quick.
    summaries = []
    new = read_jsonl(results / "vs_logreg.jsonl")
    old = read_jsonl(HERE / "bench_results.jsonl")
    for part, sel in (
        ("full", [r for r in new if not r["quick"]]),
        ("quick", [r for r in new if r["quick"]]),
    ):
        prov = provenance(sel, "not run")
        if sel:
            t, q = vs_logreg_tables(sel)
            _write(out, f"vs_logreg_{part}_time", _caption(prov) + "\n" + t)
            _write(out, f"vs_logreg_{part}_quality", _caption(prov) + "\n" + q)
            vs_logreg_figure(sel, prov, out / f"vs_logreg_{part}.png")
            summaries.append(vs_logreg_summary(sel, f"{part}-size", prov))
        else:
            for name in ("time", "quality"):
                _write(out, f"vs_logreg_{part}_{name}", "(no results yet)\n")
            placeholder_figure(out / f"vs_logreg_{part}.png", "no results yet")
    # The older cells the new runs did not repeat (tol=1e-8, and the full
    # shapes not re-run), labelled as older.
    done = {(r["shape"], r["dtype"], r["tol"]) for r in new if not r["quick"]}
    older = [r for r in old if (r["shape"], r["dtype"], r["tol"]) not in done]
    t, q = vs_logreg_tables(older)
    fallback = OLDER["bench_results.jsonl"]
    _write(out, "vs_logreg_older_time", _caption(fallback) + "\n" + t)
    _write(out, "vs_logreg_older_quality", _caption(fallback) + "\n" + q)
    _write(out, "summary_vs_logreg", "\n".join(summaries) or "(no results yet)\n")

    small = read_jsonl(results / "small.jsonl")
    if small:
        # The latest run of each data set and setting.
        latest = {(r["dataset"], r["setting"]): r for r in small}
        sel = list(latest.values())
        prov = provenance(sel, "")
        _write(out, "small", _caption(prov) + "\n" + small_table(sel))
        small_figure(sel, prov, out / "small.png")
        _write(out, "summary_small", small_summary(sel, prov))
    else:
        _write(out, "small", "(no results yet)\n")
        _write(out, "summary_small", "")
        placeholder_figure(out / "small.png", "no results yet")

    # bench_sparse: per shape, the latest new run, else the older run with
    # the most libraries.
    sparse_new = read_jsonl(results / "sparse.jsonl")
    sparse_old = read_jsonl(HERE / "sparse_results.jsonl")
    for name, shape in SPARSE_SHAPES.items():
        new_recs = [r for r in sparse_new if r["summary"]["shape"] == shape]
        old_recs = [r for r in sparse_old if r["summary"]["shape"] == shape]
        if new_recs:
            rec = new_recs[-1]
            prov = provenance([rec], "")
        elif old_recs:
            rec = max(old_recs, key=lambda r: len({x["library"] for x in r["rows"]}))
            prov = OLDER["sparse_results.jsonl"]
        else:
            _write(out, f"sparse_{name}", "(no results yet)\n")
            _write(out, f"summary_sparse_{name}", "")
            placeholder_figure(out / f"sparse_{name}.png", "no results yet")
            continue
        _write(out, f"sparse_{name}", _caption(prov) + "\n" + sparse_table(rec))
        _write(out, f"summary_sparse_{name}", sparse_summary(rec, prov))
        sparse_figure(rec, f"{_short(shape)}, C=1; {prov}", out / f"sparse_{name}.png")

    all_tol = read_jsonl(results / "tol.jsonl")
    tol_rows = [r for r in all_tol if r["reference"] is not None]
    if tol_rows:
        prov = provenance(tol_rows, "")
        _write(out, "tol", _caption(prov) + "\n" + tol_table(tol_rows))
        tol_figure(tol_rows, prov, out / "tol.png")
        _write(out, "summary_tol", tol_summary(tol_rows, prov))
    else:
        _write(out, "tol", "(no results yet)\n")
        _write(out, "summary_tol", "")
        placeholder_figure(out / "tol.png", "no results yet")
    noref = [r for r in all_tol if r["reference"] is None]
    text = tol_objectives_table(noref)
    if text:
        text = _caption(provenance(noref, "")) + "\n" + text
    _write(out, "tol_objectives", text or "(no results yet)\n")

    l1 = read_jsonl(HERE / "bench_l1_results.jsonl")
    l1_figure(l1, OLDER["bench_l1_results.jsonl"], out / "l1.png")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.fspath(DEFAULT_OUT))
    p.add_argument("--results", default=os.fspath(RESULTS))
    args = p.parse_args(argv)
    out = build(args.out, args.results)
    for path in sorted(out.iterdir()):
        print(path)


if __name__ == "__main__":
    main()
