"""pytest collection rules for docs/: run the doctests of the .rst pages only.

``conf.py`` (which needs the docs extra) and the build outputs (generated
gallery pages, autosummary stubs, the benchmark tables of ``_generated``)
are not collected.
"""

collect_ignore = ["conf.py"]
collect_ignore_glob = [
    "_build/*",
    "_generated/*",
    "auto_examples/*",
    "gen_modules/*",
    "_templates/*",
]

# Pages whose examples compare with scikit-learn API newer than the oldest
# supported release (CI's second pass runs the suite on it): skipped there,
# with the reason, rather than run with a different reference.
_NEEDS_SKLEARN = {
    "user_guide.rst": (
        (1, 9),
        "compares with LogisticRegression(l1_ratio=...) and "
        "LogisticRegressionCV(use_legacy_attributes=...), uses sklearn.callback",
    ),
}


def pytest_collection_modifyitems(config, items):
    """Skip the doctests of :data:`_NEEDS_SKLEARN`'s pages on older versions."""
    import pytest

    from sk_softmax._sklearn_compat import SKLEARN_VERSION

    for item in items:
        need = _NEEDS_SKLEARN.get(item.path.name)
        if need is not None and SKLEARN_VERSION < need[0]:
            version = ".".join(map(str, need[0]))
            item.add_marker(
                pytest.mark.skip(reason=f"needs scikit-learn >= {version}: {need[1]}")
            )
