"""Make this Linux answer like another platform, then exec Python with the remaining arguments.

    python selftests/emulation/launch.py [--seccomp PROGRAM] [--shim RULE,... --build-dir DIR]
        -- -m pytest tests ...

--seccomp loads one of seccomp.PROGRAMS into this process (inherited by the exec'd one);
--shim builds shim.c with those rules into DIR and preloads it.
"""

from __future__ import annotations

import argparse
import mmap
import os
import platform
import subprocess
import sys
from pathlib import Path

# Run as a script: make the repository importable to reach the persona modules.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from selftests.emulation import seccomp

SHIM_SOURCE = Path(__file__).resolve().parent / "shim.c"


def build_shim(rules: list[str], directory: Path) -> Path:
    """Compile shim.c with -DRULE_<rule> for each rule; the library's path."""
    compiler = os.environ.get("CC", "cc")
    target = directory / f"shim-{'-'.join(sorted(rules)).lower()}.so"
    defines = [f"-DRULE_{rule}" for rule in rules]
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Werror",
            *defines,
            "-o",
            str(target),
            str(SHIM_SOURCE),
        ],
        check=True,
        timeout=120,
    )
    return target


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(
            "usage: launch.py [--seccomp PROGRAM] [--shim RULES --build-dir DIR] -- PYTHON-ARGS",
            file=sys.stderr,
        )
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="launch.py")
    parser.add_argument("--seccomp", choices=sorted(seccomp.PROGRAMS))
    parser.add_argument("--shim", default="", help="comma-separated RULE names from shim.c")
    parser.add_argument("--build-dir", type=Path)
    args = parser.parse_args(argv[:split])
    env = dict(os.environ)
    if args.shim:
        if args.build_dir is None:
            parser.error("--shim needs --build-dir")
        env["LD_PRELOAD"] = str(build_shim(args.shim.split(","), args.build_dir))
    if args.seccomp:
        seccomp.install(seccomp.PROGRAMS[args.seccomp](platform.machine(), mmap.MAP_ANONYMOUS))
    os.execve(sys.executable, [sys.executable, *argv[split + 1 :]], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
