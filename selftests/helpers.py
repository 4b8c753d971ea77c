"""Helpers shared by the project's own tests."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anonmap import suite
from anonmap.expect.catalogue import behaviours
from anonmap.files.tomlread import loads
from anonmap.host.probe import Capability, CapabilityState, RunInfo, probe
from anonmap.results.records import Record, document, write_atomically
from anonmap.results.verdicts import Verdict

REPO = Path(__file__).resolve().parent.parent


def run_info(**changes: Any) -> RunInfo:
    """A RunInfo for condition and selection tests: this host's, with ``changes``."""
    return dataclasses.replace(probe(), **changes)


def without(capability: Capability, info: RunInfo) -> RunInfo:
    caps = dict(info.capabilities)
    caps[capability] = CapabilityState(False, f"withheld by the test: {capability.value}")
    return dataclasses.replace(info, capabilities=caps)


def complete_profile(extra: str = "", os_name: str = "testos") -> str:
    """A valid profile text: every behaviour 'unknown', then ``extra`` entries."""
    lines = ["[platform]", f'os = ["{os_name}"]', 'title = "Test OS"', ""]
    for behaviour in behaviours():
        lines += ["[[expect]]", f'behaviour = "{behaviour}"', 'outcome = "unknown"', 'cite = ["test"]', ""]
    return "\n".join(lines) + extra


@dataclasses.dataclass
class SuiteRun:
    returncode: int
    output: str
    results: dict[str, Any] | None

    def verdicts(self) -> dict[str, str]:
        assert self.results is not None, self.output
        return {f"{r['behaviour']}[{r['case']}]": r["verdict"] for r in self.results["records"]}


#: A launcher (``suite.command``'s) that starts the suite with the signal state of a program run
#: in the foreground from a terminal, whatever this process inherited: SIGINT and SIGTERM at
#: their default dispositions and unblocked. A supervisor may start the selftests with SIGINT
#: blocked or ignored, and every child inherits that across fork and exec; a test of what an
#: interrupt does would then find the suite deaf to it.
AS_FROM_A_TERMINAL = (
    "-c",
    "import os, signal, sys\n"
    "for signum in (signal.SIGINT, signal.SIGTERM):\n"
    "    signal.signal(signum, signal.SIG_DFL)\n"
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
)


def run_suite(
    tmp_path: Path, args: Sequence[str] = (), launcher: Sequence[str] = (), path: str | None = None
) -> SuiteRun:
    """Run the portability suite in a fresh process, as a user would, and read its results.

    ``launcher`` is a script (and its arguments) that Python runs first and that execs
    ``python -m pytest ...`` itself, such as the seccomp persona launcher; ``path`` replaces
    PATH for the run.
    """
    results = tmp_path / "results.json"
    command = suite.command([f"--anonmap-results={results}", *args], launcher)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if path is not None:
        env["PATH"] = path
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    data = json.loads(results.read_text()) if results.exists() else None
    return SuiteRun(done.returncode, done.stdout + done.stderr, data)


def write_results(path: Path, os_name: str, outcomes: dict[str, str]) -> Path:
    """A results file of fd-argument records for ``os_name``: each case observed as given."""
    records = [
        Record(
            f"tests/test_x.py::test_fd_argument[{case}]",
            "fd-argument",
            case,
            {"api": "libc", "sharing": "private", "fd": case.rsplit("=", 1)[1]},
            "zero",
            observed,
            Verdict.PASS if observed == "zero" else Verdict.DEVIATION,
            (f"man: mmap(2) on {os_name}",),
            "",
            "",
            f"platforms/{os_name}.toml:9",
        )
        for case, observed in outcomes.items()
    ]
    info = {"os": os_name, "release": "1.0", "arch": "x86_64"}
    content = document(
        info,
        {"name": os_name, "title": os_name.title(), "path": f"platforms/{os_name}.toml"},
        records,
        "2026-11-27T00:00:00+00:00",
    )
    write_atomically(path, content)
    return path


#: The script that makes this Linux answer like another platform, then execs Python.
LAUNCH = str(REPO / "selftests" / "emulation" / "launch.py")


def seccomp_launcher(program: str) -> list[str]:
    """The launcher command that loads one of ``selftests.emulation.seccomp.PROGRAMS``."""
    return [LAUNCH, "--seccomp", program, "--"]


def persona_launcher(manifest: Path, build_dir: Path) -> list[str]:
    """The launcher command that makes this Linux answer like the persona's platform (its
    [launch] table: a seccomp program, shim rules built into ``build_dir``)."""
    launch = loads(manifest.read_text())["launch"]
    command = [LAUNCH]
    if "seccomp" in launch:
        command += ["--seccomp", launch["seccomp"]]
    if launch.get("shim"):
        command += ["--shim", ",".join(launch["shim"]), "--build-dir", str(build_dir)]
    return [*command, "--"]


def captured(
    command: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120, **extra: Any
) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end within ``timeout``, its output kept as text, whatever its status."""
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False, **extra
    )


def anonmap_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The ``anonmap`` command in a fresh process, as a user runs it, with a time limit."""
    return captured([sys.executable, "-m", "anonmap", *args], cwd)


#: A shell line that binds a regular file of zeros over /dev/zero: it reads as the zero device
#: does, and only its being a file tells it apart (run it in ``in_private_mounts``).
ZEROS_OVER_DEV_ZERO = (
    "head -c 65536 /dev/zero > /run/anonmap-zeros && mount --bind /run/anonmap-zeros /dev/zero"
)


def in_private_mounts(script: str, *args: str) -> list[str]:
    """``sh -c script args...`` in a mount namespace of its own: what it mounts is seen by it
    and its children alone (needs root and unshare(1))."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, *args]


#: The scripts the CI jobs run.
SCRIPTS = REPO / ".github" / "scripts"


def ci_script(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One of the CI jobs' scripts, run with sh as the jobs run it."""
    return captured(["sh", str(SCRIPTS / script), *args], cwd, env)
