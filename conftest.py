"""Root pytest configuration: scipy's and scikit-learn's array API support.

scikit-learn's array API estimator checks (``tests/test_common.py``, for
torch and array-api-strict input) need ``SCIPY_ARRAY_API=1``, which scipy
reads once, when it is first imported, and ``sklearn.set_config`` checks.
This file is the first one pytest imports from the project (before any test
module, docstring or docs page imports scipy), so setting it here makes
``python -m pytest`` run those checks without any export. A value set by
the caller is kept.
"""

import os
import sys

if "scipy" in sys.modules and os.environ.get("SCIPY_ARRAY_API") != "1":
    raise RuntimeError(
        "scipy was imported before conftest.py could set SCIPY_ARRAY_API=1: "
        "export SCIPY_ARRAY_API=1 to run the array API tests."
    )
os.environ.setdefault("SCIPY_ARRAY_API", "1")
