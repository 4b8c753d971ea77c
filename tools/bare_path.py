"""Print a PATH as a bare machine has it: this one's, less the optional tools.

    PATH="$(python3 tools/bare_path.py DIR)" python3 -m tox -e selftest,lint

DIR is filled with links to every program on PATH except clang, lld, musl-gcc, Chromium, qemu and runsc,
so the README's commands can be tried, on a machine that has those, as on one with only
Python, pip and gcc. Whatever the project does without them must be skipped with the reason,
never failed.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path

#: The optional tools, by the names they are found under.
OPTIONAL = (
    "clang",
    "clang-*",
    "clang++*",
    "*lld",
    "*lld-*",
    "ld64.lld*",
    "musl-gcc",
    "chromium*",
    "chromedriver",
    "qemu-*",
    "runsc",
    "node",
    "nodejs",
    "emcc",
    "em++",
)


def is_optional(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in OPTIONAL)


def bare(directory: Path, path: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for entry in path.split(os.pathsep):
        folder = Path(entry)
        if not folder.is_dir():
            continue
        for program in sorted(folder.iterdir()):
            link = directory / program.name
            if is_optional(program.name) or link.exists() or link.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                link.symlink_to(program.resolve())
    return str(directory)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: bare_path.py DIR", file=sys.stderr)
        return 2
    print(bare(Path(argv[0]), os.environ.get("PATH", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
