"""Run the suite under gVisor: runsc's sentry, not the host kernel, answers every system call.

    python tools/gvisor.py [PYTEST-ARGS...]
    python tools/gvisor.py --check          # can runsc run here? exit 0, or say why not

It needs Debian's runsc (apt-get install runsc) and root. The suite runs as
`runsc --network=none --platform=ptrace do -force-overlay=false PYTHON -m pytest tests ...`:
`runsc do` starts a sandbox whose root is the host's /, so this environment's Python, the
package and the compilers are all there, and without the overlay the results file reaches
the host's results/anonmap-linux-<arch>-gvisor.json. The ptrace platform needs no KVM.

Four things runsc does that the runner answers for:
- `runsc do` keeps its bundle and state in a directory under TMPDIR and leaves it behind when
  killed: the runner gives it a directory of its own and removes it afterwards (the suite
  inside sees the same TMPDIR, so its temporary files go too). The sandbox's control socket
  lies in that directory, and a unix socket's path has room for 107 bytes: the directory is
  made directly under /tmp, whatever TMPDIR says.
- A sandboxed program writing to a regular file given as its stdout writes from offset 0,
  over what the host wrote before: the runner reads runsc's output through a pipe and prints
  it itself, so a CI log that is a file stays whole.
- runsc gives the file behind its standard input to user nobody, whom the sandbox runs as:
  with /dev/null there, the host's /dev/null stayed nobody's after the run. The runner gives
  it an empty pipe of its own instead (``run``).
- The sandbox process runs in a session of its own, outside runsc's process group, but
  `runsc do` starts it attached (it dies with runsc): killing the group on the time limit
  ends everything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The package's stdlib-only modules are read from the tree, as tools/qemu_user.py does.
sys.path.insert(0, str(REPO / "src"))
from anonmap.host import processes  # noqa: E402

#: runsc's global flags: no network (none is needed, and none to set up), and the ptrace
#: platform, which needs no /dev/kvm.
RUNSC_FLAGS = ("--network=none", "--platform=ptrace")
#: Starting a sandbox and running `true` in it: a few seconds here.
CHECK_TIME_LIMIT = 120.0
#: The whole suite under runsc: about 25 s on this 2-core machine (bench/FIGURES.md).
SUITE_TIME_LIMIT = 1200.0


def results_name(machine: str) -> str:
    """The results file's name for a run under gVisor on ``machine`` (uname -m)."""
    return f"anonmap-linux-{machine}-gvisor.json"


def runsc_command(runsc: str, program: Sequence[str], write_through: bool) -> list[str]:
    """``program`` under ``runsc do``; ``write_through`` lets its writes reach the host."""
    overlay = ["-force-overlay=false"] if write_through else []
    return [runsc, *RUNSC_FLAGS, "do", *overlay, *program]


def suite_command(python: str, machine: str, pytest_args: Sequence[str]) -> list[str]:
    return [
        python,
        "-m",
        "pytest",
        "tests",
        "-p",
        "no:cacheprovider",
        f"--anonmap-results=results/{results_name(machine)}",
        f"--anonmap-label=linux-{machine}-gvisor",
        *pytest_args,
    ]


def state_directory() -> tempfile.TemporaryDirectory[str]:
    """A directory of runsc's own, with a path short enough for the sandbox's socket."""
    return tempfile.TemporaryDirectory(prefix="agv-", dir="/tmp" if os.path.isdir("/tmp") else None)


def run(
    command: Sequence[str], time_limit: float, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> processes.Finished:
    """``command`` with processes.run, its standard input an empty pipe of its own.

    runsc hands its sandbox, which runs as user nobody, its standard input by giving the file
    behind it to nobody: run with /dev/null, it left the host's /dev/null owned by nobody
    (Debian's runsc 0.0~20221219.0, as measured here; a file given as standard input became
    nobody's too). A pipe is nobody's business once the run is over."""
    return processes.run(command, time_limit, cwd=cwd, env=env, stdin=subprocess.PIPE)


def unusable(runsc: str | None) -> str:
    """Why runsc cannot run a sandbox here, or '' when it can (it has just run `true`)."""
    if sys.platform != "linux":
        return f"gVisor runs on Linux only, not {sys.platform}"
    if runsc is None:
        return "no runsc on PATH: install Debian's runsc (apt-get install runsc)"
    if os.geteuid() != 0:
        return "runsc do needs root here (it creates the sandbox's namespaces and mounts)"
    with state_directory() as state:
        done = run(
            runsc_command(runsc, ["true"], write_through=False),
            CHECK_TIME_LIMIT,
            env=dict(os.environ, TMPDIR=state),
        )
    if not done.ok:
        return f"runsc could not run a program ({done.failure()})"
    return ""


def relay(done: processes.Finished) -> None:
    sys.stdout.write(done.stdout)
    sys.stdout.flush()
    sys.stderr.write(done.stderr)
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the suite under gVisor (runsc).")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only say whether runsc can run here (exit 0) or why not (exit 2)",
    )
    # Everything else goes to pytest, as tox passes it: `tox -e gvisor -- -k fd_argument`.
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    runsc = shutil.which("runsc")
    reason = unusable(runsc)
    if reason:
        print(f"gvisor: {reason}", file=sys.stderr)
        return 2
    if args.check:
        print(f"gvisor: {runsc} runs a sandbox here")
        return 0
    assert runsc is not None
    (REPO / "results").mkdir(exist_ok=True)
    program = suite_command(sys.executable, os.uname().machine, pytest_args)
    with state_directory() as state:
        done = run(
            runsc_command(runsc, program, write_through=True),
            SUITE_TIME_LIMIT,
            cwd=str(REPO),
            env=dict(os.environ, TMPDIR=state),
        )
    relay(done)
    return done.exit_status("gvisor.py: the suite under runsc")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
