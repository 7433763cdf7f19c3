"""meetbridge's tests. Run before any of them imports the product: a parallel test worker
(pytest-xdist) starts with COLUMNS=80 in its environment, and the CLI's consoles (rich) fix
their width from it at import, so the CLI tests' own COLUMNS would be ignored and tables
clipped."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
