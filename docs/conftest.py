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
