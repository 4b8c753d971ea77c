"""tools/gvisor.py, the runner behind `tox -e gvisor`: what it runs, when it declines, and that
runsc and its sandbox die with the process group on the time limit."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from selftests.helpers import REPO


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gvisor_tool", REPO / "tools" / "gvisor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gvisor = _tool()


def test_the_suite_runs_under_runsc_without_network_on_ptrace_writing_through() -> None:
    program = gvisor.suite_command("/py", "x86_64", ["-k", "fd_argument"])
    command = gvisor.runsc_command("/runsc", program, write_through=True)
    assert command[:5] == ["/runsc", "--network=none", "--platform=ptrace", "do", "-force-overlay=false"]
    assert command[5:10] == ["/py", "-m", "pytest", "tests", "-p"]
    assert "--anonmap-results=results/anonmap-linux-x86_64-gvisor.json" in command
    assert "--anonmap-label=linux-x86_64-gvisor" in command
    assert command[-2:] == ["-k", "fd_argument"]
    assert "-force-overlay=false" not in gvisor.runsc_command("/runsc", ["true"], write_through=False)


def test_without_runsc_it_declines_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform == "linux":
        assert "apt-get install runsc" in gvisor.unusable(None)
    saved = os.environ["PATH"]
    os.environ["PATH"] = "/nonexistent"
    try:
        assert gvisor.main(["--check"]) == 2
    finally:
        os.environ["PATH"] = saved
    assert capsys.readouterr().err.startswith("gvisor: ")


def _usable() -> str:
    runsc = shutil.which("runsc")
    if runsc is None or os.geteuid() != 0 or sys.platform != "linux":
        return "needs runsc and root (apt-get install runsc)"
    return gvisor.unusable(runsc)  # type: ignore[no-any-return]


def _processes_naming(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def test_runsc_and_its_sandbox_die_with_the_group_on_the_time_limit() -> None:
    reason = _usable()
    if reason:
        pytest.skip(reason)
    runsc = shutil.which("runsc")
    assert runsc is not None
    # runsc do keeps its state under TMPDIR, so every process of this sandbox names it.
    command = gvisor.runsc_command(runsc, ["sleep", "300"], write_through=False)
    with gvisor.state_directory() as state:
        done = gvisor.run(command, 8.0, env=dict(os.environ, TMPDIR=state))
        assert done.timed_out, done
        deadline = time.monotonic() + 10
        while _processes_naming(state) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_naming(state) == []


def test_runsc_gets_a_pipe_of_its_own_and_leaves_dev_null_as_it_was() -> None:
    """runsc gives the file behind its standard input to user nobody: with /dev/null, the
    host's /dev/null changed owner. The tool hands it an empty pipe instead."""
    done = gvisor.run(
        [sys.executable, "-c", "import os, stat; print(stat.S_ISFIFO(os.fstat(0).st_mode))"], 30.0
    )
    assert done.stdout.strip() == "True", done
    reason = _usable()
    if reason:
        pytest.skip(reason)
    before = os.stat("/dev/null")
    assert gvisor.unusable(shutil.which("runsc")) == ""
    after = os.stat("/dev/null")
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid), "runsc gave /dev/null away"
