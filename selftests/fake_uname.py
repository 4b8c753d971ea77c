"""Run Python with os.uname() answering as another platform: for the harness's own tests of
the probe and of profile selection off Linux, never for a behaviour (the kernel is this one).

    python selftests/fake_uname.py SYSNAME RELEASE VERSION MACHINE -- -m pytest tests ...
"""

from __future__ import annotations

import os
import runpy
import sys


def main(argv: list[str]) -> None:
    split = argv.index("--")
    sysname, release, version, machine = argv[:split]
    python_args = argv[split + 1 :]
    if python_args[:2] != ["-m", "pytest"]:
        raise SystemExit("fake_uname.py: expected '-- -m pytest ...' after the uname fields")
    fields = (sysname, os.uname().nodename, release, version, machine)
    os.uname = lambda: os.uname_result(fields)
    sys.argv = ["pytest", *python_args[2:]]
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
