"""Run the product from the tree this benchmark lives in, whatever the venv has installed.

Imported by the benchmark's modules before any product module: an export of a
commit or a second checkout measures its own code, not the editable install's.
``centralino serve`` gets the same tree through ``PYTHONPATH``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path[:1] != [str(ROOT)]:
    sys.path.insert(0, str(ROOT))
