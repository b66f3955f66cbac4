"""Static checks of the package's boundaries (docs/architecture.rst).

Each test walks the package's source with :mod:`ast` (nothing is imported)
and fails with one line per violation, ``file:line: what``:

- no module reads another object's private attributes (``obj._x`` with
  ``obj`` other than ``self`` / ``cls``), nor imports another module's
  private names (``from .x import _y``);
- the solvers import nothing of the objective, its backends, the worker
  threads or the BLAS (nor anything above them);
- the objective and its backends import nothing above them (validation,
  fit, solvers, estimators);
- no private scipy import anywhere, and private scikit-learn helpers only
  in ``_sklearn_compat.py`` (where they are version-guarded);
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
_FIT = ("_fit", "_cv_path")
_FIT_FORBIDDEN = ("_estimator", "_classifier", "_cv")


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _module_name(path):
    """``_objective._numpy`` for ``sk_softmax/_objective/_numpy.py``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _where(path, node):
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(path, node):
    """The package-relative module a ``from`` import names (None if outside)."""
    if node.level == 0:
        mod = node.module or ""
        if mod == "sk_softmax" or mod.startswith("sk_softmax."):
            return mod[len("sk_softmax.") :] if "." in mod else ""
        return None
    base = _module_name(path).split(".") if _module_name(path) else []
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path, tree):
    """``(node, package-relative module or None, absolute module, names)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                inner = None
                if alias.name.startswith("sk_softmax."):
                    inner = alias.name[len("sk_softmax.") :]
                yield node, inner, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            inner = _resolve(path, node)
            names = [a.name for a in node.names]
            absolute = node.module or ""
            yield node, inner, absolute, names


def _matches(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _report(violations):
    if violations:
        pytest.fail("\n".join(violations), pytrace=False)


def test_no_private_attribute_of_another_object():
    violations = []
    for path, tree in _sources():
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
                violations.append(
                    f"{_where(path, node)}: reads {ast.unparse(node)} "
                    "(a private attribute of another object)"
                )
        for node, inner, _, names in _imports(path, tree):
            if inner is None:
                continue
            private = [n for n in names if _is_private(n)]
            if private:
                violations.append(
                    f"{_where(path, node)}: imports private name(s) "
                    f"{', '.join(private)} from .{inner}"
                )
    _report(violations)


def _layer_violations(layer_prefixes, forbidden, what):
    violations = []
    for path, tree in _sources():
        if not _matches(_module_name(path), layer_prefixes):
            continue
        for node, inner, _, names in _imports(path, tree):
            if inner is None:
                continue
            # ``from . import _x`` names modules in ``names``.
            targets = {inner} if inner else set()
            targets |= {f"{inner}.{n}" if inner else n for n in names}
            for target in sorted(targets):
                if _matches(target, forbidden) and not _matches(target, layer_prefixes):
                    violations.append(f"{_where(path, node)}: {what} imports .{target}")
                    break
    return violations


def test_solvers_import_nothing_of_objective_threads_or_blas():
    assert (PACKAGE / _SOLVERS).is_dir(), "the solvers package sk_softmax/_solvers/"
    _report(_layer_violations((_SOLVERS,), _SOLVER_FORBIDDEN, "a solver"))


def test_objective_imports_nothing_above_it():
    _report(_layer_violations((_OBJECTIVE,), _OBJECTIVE_FORBIDDEN, "the objective"))


def test_fit_layer_imports_no_estimator():
    _report(_layer_violations(_FIT, _FIT_FORBIDDEN, "the fit layer"))


def test_no_private_scipy_or_sklearn_import():
    violations = []
    for path, tree in _sources():
        compat = path.name == "_sklearn_compat.py"
        for node, inner, absolute, names in _imports(path, tree):
            if inner is not None:
                continue
            root = absolute.split(".")[0]
            if root not in ("scipy", "sklearn"):
                continue
            private = [p for p in absolute.split(".")[1:] if _is_private(p)]
            private += [n for n in names if _is_private(n)]
            if not private:
                continue
            if root == "sklearn" and compat:
                continue
            violations.append(
                f"{_where(path, node)}: private {root} import "
                f"({absolute}: {', '.join(private)})"
                + ("" if root == "scipy" else "; go through _sklearn_compat")
            )
        for node in ast.walk(tree):
            # ``scipy.sparse._sparsetools`` reached as an attribute.
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                text = ast.unparse(node)
                if text.startswith(("scipy.", "sp.", "sparse.")):
                    violations.append(f"{_where(path, node)}: private scipy {text}")
    _report(violations)


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
