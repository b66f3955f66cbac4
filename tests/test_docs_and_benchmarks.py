"""The docs extra, the benchmark report and the main demo.

* The ``docs`` extra of ``pyproject.toml`` must install every package the
  gallery's examples import (the docs build executes them): the imports are
  read from the examples' source, the distributions from the installed
  metadata.
* ``benchmarks/report.py`` renders the benchmark tables from the result
  files: every table says where its numbers come from, stays narrow enough
  for the page, and shows the numbers of the files.
* ``benchmarks/bench_tol.py`` measures distances to an optimum that must be
  the lowest objective of all its fits.
* ``examples/demo_digits.py`` shows the one-thread times beside the as-shipped
  ones and leaves the BLAS thread limits as it found them.
"""

import ast
import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))


def _required_imports(source):
    """Top-level module names imported outside ``try: ... except ImportError``."""
    tree = ast.parse(source)
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type)
            for h in node.handlers
        ):
            for inner in node.body:
                optional.update(id(n) for n in ast.walk(inner))
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _requirement_name(spec):
    return re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower().replace("_", "-")


def test_docs_extra_installs_what_the_examples_import():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    declared |= {_requirement_name(r) for r in project["optional-dependencies"]["docs"]}
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for example in sorted((ROOT / "examples").glob("*.py")):
        for module in _required_imports(example.read_text()):
            if module in sys.stdlib_module_names or module == "sk_softmax":
                continue
            dists = {
                d.lower().replace("_", "-") for d in distributions.get(module, [module])
            }
            if not dists & declared:
                missing.setdefault(example.name, []).append(module)
    assert not missing, f"imports not installed by the docs extra: {missing}"


def test_required_imports_skip_optional_ones():
    source = (
        "import numpy as np\nfrom dask import array\n"
        "try:\n    import dask_ml\nexcept ImportError:\n    dask_ml = None\n"
    )
    assert _required_imports(source) == {"numpy", "dask"}


def _list_tables(rst):
    """Rows (lists of cells) of each ``list-table`` in ``rst``."""
    tables = []
    for block in rst.split(".. list-table::")[1:]:
        rows = []
        for line in block.splitlines():
            if line.startswith("   * - "):
                rows.append([line[7:]])
            elif line.startswith("     - ") and rows:
                rows[-1].append(line[7:])
            elif line and not line.startswith("   ") and rows:
                break
        tables.append(rows)
    return tables


def test_report_tables_are_narrow_sourced_and_match_the_files(tmp_path, bench_path):
    pytest.importorskip("matplotlib")
    report = _load(BENCH / "report.py", "report")
    out = report.build(tmp_path)
    rst_files = sorted(out.glob("*.rst"))
    assert {p.stem for p in rst_files} >= {
        "small",
        "sparse_large",
        "vs_logreg_older_time",
    }
    for path in rst_files:
        text = path.read_text()
        if not text.strip() or text.startswith("(no results yet)"):
            continue
        # Each table names its source: a dated, loaded, committed run, or an
        # older one labelled as such.
        first = text.splitlines()[0]
        assert re.search(
            r"measured \d{4}-\d\d-\d\d .*commit .*load average", first
        ) or ("older run" in first), (path.name, first)
        for rows in _list_tables(text):
            assert rows and len(rows[0]) <= 7, (path.name, rows[0])
            assert all(len(r) == len(rows[0]) for r in rows), path.name
    for png in ("sparse_large.png", "l1.png"):
        assert (out / png).stat().st_size > 1000

    # The numbers are those of the result files: the wall ratios of the
    # small-data table, recomputed from the file's latest lines.
    lines = report.read_jsonl(BENCH / "results" / "small.jsonl")
    if lines:
        latest = {(r["dataset"], r["setting"]): r for r in lines}
        rows = _list_tables((out / "small.rst").read_text())[0][1:]
        assert len(rows) == len(latest)
        for row, r in zip(rows, latest.values(), strict=True):
            assert row[0].startswith(r["dataset"])
            assert float(row[5]) == pytest.approx(r["ours_ms"] / r["lr_ms"], abs=0.006)


def test_report_labels_lines_without_meta_as_older(tmp_path, bench_path):
    report = _load(BENCH / "report.py", "report")
    row = {"meta": {"date": "2026-12-01 10:00 UTC", "commit": "abc"}}
    row["meta"].update(cpu="cpu", cores=2, load_start=1.0, load_end=3.5)
    assert report.provenance([row], "older") == (
        "measured 2026-12-01 10:00 UTC, commit abc, cpu (2 cores), "
        "1-minute load average 1.0-3.5"
    )
    assert report.provenance([{"x": 1}], "older run: then") == "older run: then"


def test_bench_tol_distances_to_the_lowest_objective(bench_path):
    bench_tol = _load(BENCH / "bench_tol.py", "bench_tol")
    bench_vs_logreg = _load(BENCH / "bench_vs_logreg.py", "bench_vs_logreg")
    row = bench_tol.run_case(
        "csr_5000x20000_K5", "float64", 0, True, [1e-2, 1e-6], [1e-2], 1e-10
    )
    json.dumps(row)  # a JSON line
    ref = row["reference"]
    assert ref["lowest"] and not ref["warned"]
    for fit in row["fits"]:
        # The gap is the fit's independent objective above the reference's.
        assert fit["gap"] == pytest.approx(
            (fit["objective"] - ref["objective"]) / ref["objective"], rel=1e-12
        )
        assert fit["gap"] >= -1e-12
        assert 0.0 <= fit["same_predictions"] <= 1.0
    loose, tight, lr = row["fits"]
    # tol=1e-2 stops visibly above the optimum, tol=1e-6 all but on it.
    assert loose["gap"] > 100 * max(tight["gap"], 1e-14)
    assert tight["max_proba_diff"] < 1e-3
    # The objective of the script is LogisticRegression's (an independent
    # float64 function), here checked on the reference against the data.
    datasets = _load(BENCH / "datasets.py", "datasets")
    X, y = datasets.make_data("csr_5000x20000_K5", quick=True, seed=0)
    assert X.shape[0] == row["n_samples"]
    assert np.isfinite(bench_vs_logreg.objective(X, y, np.zeros((5, X.shape[1])), 0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_demo_shows_one_thread_times_and_restores_limits(capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from sklearn.linear_model import LogisticRegression

    from sk_softmax import SoftmaxRegression

    def pools():
        # The package's private OpenBLAS copy joins the listing when the
        # process's first threaded fit loads it (by design, and only once),
        # so it is not a limit the demo changed: the other pools must be
        # exactly as they were (run alone, this test is that first fit).
        return [
            p
            for p in threadpoolctl.threadpool_info()
            if "libsk_softmax_private_openblas" not in p["filepath"]
        ]

    demo = _load(ROOT / "examples" / "demo_digits.py", "demo_digits")
    before = pools()
    demo.main(
        {
            "ours": SoftmaxRegression(max_iter=5),
            "LR": LogisticRegression(max_iter=5),
        }
    )
    assert pools() == before
    out = capsys.readouterr().out
    assert "1 thread" in out
    assert re.search(r"machine: \d+ cores, load average \(1, 5, 15 min\): ", out)
    for name in ("ours", "LR"):
        (line,) = [x for x in out.splitlines() if x.startswith(name + " ")]
        # accuracy, first fit, later fits, one thread, n_iter
        assert len(line.split()) == 6, line
    assert "max |proba difference| ours vs LR" in out
