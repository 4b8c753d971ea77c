"""The command line that runs the portability suite in a fresh Python process."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def command(extra: Sequence[str] = (), launcher: Sequence[str] = ()) -> list[str]:
    """``python [LAUNCHER...] -m pytest tests -q -p no:cacheprovider [EXTRA...]``, to run from the
    repository root. A launcher is a script that Python runs first and that execs the rest."""
    return [sys.executable, *launcher, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", *extra]
