"""Sphinx configuration of the sk_softmax documentation.

Build (offline, warnings are errors)::

    pip install -e ".[docs]"
    sphinx-build -W -b html docs docs/_build/html

The example gallery (``examples/plot_*.py``) is executed during the build.
"""

import os
import sys
from pathlib import Path

# The examples fit small models (digits is 1797 x 64): BLAS threads do not make
# them faster, and on a busy or shared machine (CI runners) they can make them
# many times slower (measured up to 25x on 2 busy cores). Unless the caller set
# them, build with single-threaded BLAS, before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sk_softmax  # noqa: E402

# -- Benchmark tables and figures -----------------------------------------------
# Generated from the result files in benchmarks/ at every build (see
# benchmarks/report.py), so the benchmarks page cannot drift from them.
sys.path.insert(0, str(ROOT / "benchmarks"))
import report  # noqa: E402

report.build(ROOT / "docs" / "_generated")

# -- Project ---------------------------------------------------------------
project = "sk_softmax"
author = "the sk_softmax developers"
copyright = "the sk_softmax developers, BSD-3-Clause"
release = sk_softmax.__version__
version = release

# -- General ---------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # Ships MathJax 3 (scripts and fonts), copies it into _static/mathjax of
    # the built site and points mathjax_path there: formulas render without
    # internet (sphinx.ext.mathjax alone loads MathJax from a CDN).
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_generated",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]
root_doc = "index"
default_role = "literal"
# No intersphinx: the build must not touch the network. References to
# scikit-learn, numpy and scipy objects are written as plain literals or links.

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
# The API page lists the methods itself (autosummary template), so numpydoc must
# not add its own member tables (they would point at undocumented inherited
# members and warn).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run the plot_*.py scripts. demo_digits.py is the README's command-line
    # demo (it prints a table, no figures): it stays out of the gallery.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"demo_digits\.py|__init__\.py",
    "doc_module": ("sk_softmax",),
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    # The computation-times page embeds CDN scripts (DataTables): not offline.
    "write_computation_times": False,
    "abort_on_example_error": True,
    "min_reported_time": 0,
    "remove_config_comments": True,
}
# Examples run in this process: make matplotlib non-interactive.
os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_softmax {release}"
html_static_path = ["_static"]
# Wrap long lines of code blocks (the gallery's examples) instead of clipping them.
html_css_files = ["wrap_code.css"]
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # No remote assets or analytics.
    "icon_links": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"], "index": []}
html_show_sourcelink = True
html_copy_source = True
