"""Install a seccomp persona, then exec Python with the remaining arguments.

python selftests/emulation/run_filtered.py fd-must-be-minus-one -- -m pytest tests ...
"""

from __future__ import annotations

import mmap
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

# Run as a script: make the repository importable to reach the persona module.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from selftests.emulation import seccomp

PERSONAS: dict[str, Callable[[str], list[seccomp.Insn]]] = {
    "fd-must-be-minus-one": lambda machine: seccomp.anonymous_fd_must_be_minus_one(
        machine, mmap.MAP_ANONYMOUS
    ),
    "fork-blocked": seccomp.fork_blocked,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in PERSONAS or "--" not in argv:
        print(f"usage: run_filtered.py {{{','.join(PERSONAS)}}} -- PYTHON-ARGS...", file=sys.stderr)
        return 2
    persona, rest = argv[0], argv[argv.index("--") + 1 :]
    seccomp.install(PERSONAS[persona](platform.machine()))
    os.execv(sys.executable, [sys.executable, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
