"""Static checks of the package's boundaries (docs/architecture.rst).

Each test walks the package's source with :mod:`ast` (nothing is imported)
and fails with one line per violation, ``file:line: what``:

- no module reads another object's private attributes (``obj._x`` with
  ``obj`` other than ``self`` / ``cls``), nor imports another module's
  private names (``from .x import _y``);
- the solvers import nothing of the objective, its backends, the worker
  threads or the BLAS (nor anything above them);
- the objective and its backends import nothing above them (validation,
  fit, solvers, estimators); validation imports no backend, fit layer,
  solver or estimator; the fit layer imports no estimator;
- no private scipy import anywhere (scipy may change or remove them in any
  release: its private ``_dcsrch`` does not exist in 1.11), and private
  scikit-learn helpers only in ``_sklearn_compat.py`` (where they are
  version-guarded);
- no class over 300 lines of code (docstrings, comments and blank lines
  excluded).
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sk_softmax"
MAX_CLASS_LINES = 300

# Underscore names that are public API of the standard library's types:
# namedtuple's methods and fields, and sys._getframe-like helpers are not
# used; add one here only with a reason.
_PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make"}

# What each layer must never import (module paths relative to the package;
# a prefix matches the module and everything below it).
_SOLVERS = "_solvers"
_SOLVER_FORBIDDEN = (
    "_objective",
    "_blas",
    "_threadpool",
    "_fit",
    "_estimator",
    "_cv",
    "_cv_path",
    "_dask_input",
    "_targets",
    "_validation",
    "_namespaces",
    "_inference",
    "_penalty",
)
_OBJECTIVE = "_objective"
_OBJECTIVE_FORBIDDEN = (
    "_estimator",
    "_classifier",
    "_cv",
    "_cv_path",
    "_fit",
    "_solvers",
    "_targets",
    "_dask_input",
    "_validation",
    "_inference",
    "_callbacks",
    "_params",
    "_lr_compat",
)
_VALIDATION = ("_validation", "_targets", "_dask_input", "_namespaces")
_VALIDATION_FORBIDDEN = (
    "_objective",
    "_fit",
    "_cv_path",
    "_solvers",
    "_inference",
    "_estimator",
    "_classifier",
    "_cv",
    "_base",
)
_FIT = ("_fit", "_cv_path")
_FIT_FORBIDDEN = ("_estimator", "_classifier", "_cv")


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path):
    """``_objective._numpy`` for ``sk_softmax/_objective/_numpy.py``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_private(name):
    """A leading underscore marks a private module or name (not a dunder)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _report(found):
    if found:
        pytest.fail("\n".join(found), pytrace=False)


def _package_violations(check):
    """``path:line: what`` for every violation ``check(tree, module)`` yields."""
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path, tree in _sources()
        for line, what in check(tree, _module_name(path), path.name == "__init__.py")
    ]


def _resolve(node, module, is_package):
    """The package-relative module a ``from`` import names (None if outside)."""
    if node.level == 0:
        name = node.module or ""
        if name == "sk_softmax":
            return ""
        if name.startswith("sk_softmax."):
            return name[len("sk_softmax.") :]
        return None
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _package_imports(tree, module, is_package):
    """``(line, [package-relative modules])`` of each import of our own modules.

    ``from .a import b`` lists ``a`` and ``a.b`` (``b`` may be a submodule).
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sk_softmax."):
                    yield node.lineno, [alias.name[len("sk_softmax.") :]]
        elif isinstance(node, ast.ImportFrom):
            inner = _resolve(node, module, is_package)
            if inner is not None:
                names = [a.name for a in node.names]
                targets = [inner] if inner else []
                targets += [f"{inner}.{n}" if inner else n for n in names]
                yield node.lineno, targets


def private_reads(tree, module="", is_package=False):
    """Reads of another object's private attributes, and imports of another
    module's private names. Yields ``(line, what)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            if node.attr in _PUBLIC_UNDERSCORE:
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            ):
                continue
            yield node.lineno, f"reads {ast.unparse(node)} (another object's private)"
        elif isinstance(node, ast.ImportFrom):
            inner = _resolve(node, module, is_package)
            if inner is None:
                continue  # other libraries: see the scipy / sklearn checks
            # ``from ._objective import _numpy`` imports a module, which is
            # not a private name of another module
            private = [
                a.name
                for a in node.names
                if _is_private(a.name) and not _is_module(inner, a.name)
            ]
            if private:
                yield (
                    node.lineno,
                    (f"imports private {', '.join(private)} from {node.module or '.'}"),
                )


def _is_module(package, name):
    folder = PACKAGE.joinpath(*package.split(".")) if package else PACKAGE
    return (folder / f"{name}.py").is_file() or (folder / name).is_dir()


def _matches(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer_imports(layer, forbidden):
    """A check: modules of ``layer`` (prefixes) importing one of ``forbidden``."""

    def check(tree, module, is_package):
        if not _matches(module, layer):
            return
        for line, targets in _package_imports(tree, module, is_package):
            bad = [
                t for t in targets if _matches(t, forbidden) and not _matches(t, layer)
            ]
            if bad:
                yield line, f"{module} imports {bad[0]}"

    return check


def test_no_private_attribute_of_another_object():
    _report(_package_violations(private_reads))


def test_solvers_import_nothing_of_objective_threads_or_blas():
    assert (PACKAGE / _SOLVERS).is_dir(), "the solvers package sk_softmax/_solvers/"
    _report(_package_violations(layer_imports((_SOLVERS,), _SOLVER_FORBIDDEN)))


def test_objective_imports_nothing_above_it():
    _report(_package_violations(layer_imports((_OBJECTIVE,), _OBJECTIVE_FORBIDDEN)))


def test_validation_imports_no_backend_nor_anything_above():
    _report(_package_violations(layer_imports(_VALIDATION, _VALIDATION_FORBIDDEN)))


def test_fit_layer_imports_no_estimator():
    _report(_package_violations(layer_imports(_FIT, _FIT_FORBIDDEN)))


def test_no_private_scipy_import():
    _report(
        _package_violations(lambda tree, *_: private_scipy_imports(tree)),
    )


def private_sklearn_imports(tree, module="", is_package=False):
    """Imports of private scikit-learn modules or names outside
    ``_sklearn_compat``. Yields ``(line, what)``."""
    if module == "_sklearn_compat":
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            pairs = [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            pairs = [(node.module, [a.name for a in node.names])]
        else:
            continue
        for absolute, names in pairs:
            if absolute.split(".")[0] != "sklearn":
                continue
            private = [p for p in absolute.split(".")[1:] if _is_private(p)]
            private += [n for n in names if _is_private(n)]
            if private:
                yield (
                    node.lineno,
                    (
                        f"private scikit-learn import ({absolute}: "
                        f"{', '.join(private)}); go through _sklearn_compat"
                    ),
                )


def test_private_sklearn_imports_only_in_sklearn_compat():
    _report(_package_violations(private_sklearn_imports))


def test_the_package_is_read():
    names = {_module_name(path) for path, _ in _sources()}
    assert {"_estimator", "_objective", "_line_search"} <= names or len(names) > 20
    assert len(names) > 20


@pytest.mark.parametrize(
    "source, module, expected",
    [
        ("x = obj._private", "_fit", ["reads obj._private (another object's private)"]),
        ("x = self._a + cls._b + super()._c + t._replace()", "_fit", []),
        ("x = obj.__class__", "_fit", []),
        (
            "from ._lbfgs import _History",
            "_fit",
            ["imports private _History from _lbfgs"],
        ),
        ("from .. import _config", "_objective._dask", []),  # a module
        ("from numpy import _core", "_fit", []),
    ],
)
def test_private_reads_check_itself(source, module, expected):
    found = [what for _, what in private_reads(ast.parse(source), module)]
    assert found == expected


@pytest.mark.parametrize(
    "source, module, is_package, expected",
    [
        ("from .._objective import make_objective", "_solvers.lbfgs", False, 1),
        ("from .._blas import private_openblas", "_solvers.newton", False, 1),
        ("from sk_softmax._threadpool import run", "_solvers.sgd", False, 1),
        ("from .. import _threadpool", "_solvers.sgd", False, 1),
        ("from . import _threadpool", "_solvers", True, 0),  # its own submodule
        ("from .line_search import dcsrch", "_solvers.lbfgs", False, 0),
        ("from .._vector import dot", "_solvers.lbfgs", False, 0),
        ("import numpy as np", "_solvers.lbfgs", False, 0),
        ("from .._objective import x", "_fit", False, 0),  # not a solver
    ],
)
def test_layer_check_itself(source, module, is_package, expected):
    check = layer_imports((_SOLVERS,), _SOLVER_FORBIDDEN)
    assert len(list(check(ast.parse(source), module, is_package))) == expected


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


def _docstring_lines(tree):
    """Line numbers of every docstring (module, class, function)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _code_lines(source):
    """Line numbers holding a token other than comments and newlines."""
    lines = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
    skip |= {tokenize.DEDENT, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def class_code_lines(source, tree=None):
    """``{class name: (first line, code lines)}`` of every class in ``source``."""
    tree = tree or ast.parse(source)
    code = _code_lines(source) - _docstring_lines(tree)
    return {
        node.name: (
            node.lineno,
            len([n for n in code if node.lineno <= n <= node.end_lineno]),
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


def test_class_code_line_counter():
    # A hand-counted case: 4 code lines (class line, assignment, def, return).
    source = '''
class A:
    """Doc
    string."""

    x = 1  # comment
    # comment only

    def f(self):
        """Doc."""
        return 1
'''
    assert class_code_lines(source) == {"A": (2, 4)}


def test_no_class_over_300_code_lines():
    violations = []
    for path, tree in _sources():
        counts = class_code_lines(path.read_text(), tree)
        for name, (lineno, n) in counts.items():
            if n > MAX_CLASS_LINES:
                violations.append(
                    f"{path.relative_to(PACKAGE.parent)}:{lineno}: class {name} "
                    f"has {n} code lines (> {MAX_CLASS_LINES})"
                )
    _report(violations)


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
