"""Static checks of the package's boundaries (issue 21).

Each check reads the source of every module of ``sk_softmax`` with
:mod:`ast` (nothing is imported or run) and reports its violations as
``path:line: what``. To add a check: write a function ``check(tree)`` that
yields ``(line, what)`` for each violation in one module's syntax tree, a
test that runs it over the package with :func:`violations`, and a test of
the check itself on small snippets (so that a check that can never fire is
caught).

Checks so far:

* no import of a private scipy module or name (``scipy.x._y``,
  ``from scipy.x import _y``): scipy may change or remove them in any
  release (its private ``_dcsrch`` does not exist in 1.11).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sk_softmax"


def _modules():
    """``(relative path, syntax tree)`` of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def violations(check, allowed=()):
    """``path:line: what`` for every violation of ``check`` in the package,
    except the ``(path, what)`` pairs in ``allowed``."""
    allowed = set(allowed)
    return [
        f"sk_softmax/{rel}:{line}: {what}"
        for rel, tree in _modules()
        for line, what in check(tree)
        if (rel, what) not in allowed
    ]


# ----------------------------------------------------- private scipy imports
def _is_private(name):
    """A leading underscore marks a private module or name (not a dunder)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_scipy_module(dotted):
    parts = dotted.split(".")
    return parts[0] == "scipy" and any(_is_private(p) for p in parts[1:])


def private_scipy_imports(tree):
    """Imports of private scipy modules or names in a module's syntax tree.

    Flags ``import scipy.x._y``, ``from scipy.x._y import z``,
    ``from scipy.x import _y`` and ``importlib.import_module("scipy.x._y")``
    (or ``__import__``) with a literal name, anywhere in the module
    (``try`` blocks and functions included). Yields ``(line, dotted name)``.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _private_scipy_module(alias.name):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:  # relative: our own modules
                continue
            if _private_scipy_module(node.module):
                yield node.lineno, node.module
            elif node.module.split(".")[0] == "scipy":
                for alias in node.names:
                    if _is_private(alias.name):
                        yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
            arg = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and _private_scipy_module(arg.value)
            ):
                yield node.lineno, arg.value


# Known private imports, each with the reason it stays, to be removed from
# this list (and the test below then enforces it) when its import goes.
KNOWN_PRIVATE_SCIPY = {}


def test_no_private_scipy_import():
    found = violations(private_scipy_imports, allowed=KNOWN_PRIVATE_SCIPY)
    assert not found, "private scipy imports:\n" + "\n".join(found)


def test_known_private_scipy_imports_are_still_there():
    # an entry whose import has gone must leave the list, so that the
    # import cannot come back unnoticed
    found = {
        (rel, what)
        for rel, tree in _modules()
        for _, what in private_scipy_imports(tree)
    }
    stale = set(KNOWN_PRIVATE_SCIPY) - found
    assert not stale, f"remove from KNOWN_PRIVATE_SCIPY: {sorted(stale)}"


def test_the_package_is_read():
    names = {rel for rel, _ in _modules()}
    assert {"_lbfgs.py", "_line_search.py", "_objective/_csr.py"} <= names
    assert len(names) > 20


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import scipy.optimize._dcsrch", ["scipy.optimize._dcsrch"]),
        ("import scipy._lib._util as u", ["scipy._lib._util"]),
        ("from scipy.optimize._dcsrch import DCSRCH", ["scipy.optimize._dcsrch"]),
        ("from scipy.sparse import _sparsetools", ["scipy.sparse._sparsetools"]),
        (
            "from scipy.optimize import minimize, _linesearch as ls",
            ["scipy.optimize._linesearch"],
        ),
        (
            "try:\n    from scipy.optimize._dcsrch import DCSRCH\n"
            "except ImportError:\n    DCSRCH = None",
            ["scipy.optimize._dcsrch"],
        ),
        ("def f():\n    import scipy.special._ufuncs", ["scipy.special._ufuncs"]),
        (
            "import importlib\nimportlib.import_module('scipy.optimize._dcsrch')",
            ["scipy.optimize._dcsrch"],
        ),
        ("__import__('scipy.sparse._sputils')", ["scipy.sparse._sputils"]),
        # public names, other libraries, our own private modules: fine
        ("import scipy.sparse as sp", []),
        ("from scipy.linalg.lapack import dtrtrs", []),
        ("from scipy import __version__", []),
        ("from scipy.special import expit, log_softmax", []),
        ("from ._line_search import dcsrch", []),
        ("from .._lbfgs import _History", []),
        ("from sklearn.utils._array_api import get_namespace", []),
        ("import scipyish._private", []),
    ],
)
def test_private_scipy_import_check_itself(source, expected):
    assert [what for _, what in private_scipy_imports(ast.parse(source))] == expected
