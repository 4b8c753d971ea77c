"""The command line that runs the portability suite in a fresh Python process: from the
repository (``command``), or wherever anonmap is installed (``run_installed``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from anonmap.host import installation, processes

#: How long a whole installed run may take before its process group is killed: each check has
#: its own limit (``--anonmap-time-limit``); this bounds what no check's limit covers.
WHOLE_RUN_LIMIT = 2 * 3600.0
#: How long pytest has to write its results after an interrupt before it is killed.
INTERRUPT_GRACE = 30.0


def command(extra: Sequence[str] = (), launcher: Sequence[str] = ()) -> list[str]:
    """``python [LAUNCHER...] -m pytest tests -q -p no:cacheprovider [EXTRA...]``, to run from the
    repository root. A launcher is a script that Python runs first and that execs the rest."""
    return [sys.executable, *launcher, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", *extra]


def installed_command(config: Path, results: str, extra: Sequence[str] = ()) -> list[str]:
    """pytest over the checks shipped with this anonmap, rooted where they stand so test ids
    read ``tests/test_...`` as from the repository, configured by ``config`` alone (not by
    whatever pytest.ini or pyproject.toml the current directory holds)."""
    checks = installation.checks()
    return [
        sys.executable,
        "-m",
        "pytest",
        str(checks),
        "-c",
        str(config),
        f"--rootdir={checks.parent}",
        "-p",
        "anonmap.plugin",
        "-p",
        "no:cacheprovider",
        "--dist",
        "loadgroup",
        f"--anonmap-results={results}",
        *extra,
    ]


def run_installed(results: str, extra: Sequence[str] = ()) -> int:
    """Run the whole suite on this machine from the installed package; pytest's exit status."""
    with tempfile.TemporaryDirectory(prefix="anonmap-run-") as scratch:
        config = Path(scratch) / "pytest.ini"
        config.write_text("[pytest]\n", encoding="ascii")
        # Its own process group, so that nothing it leaves behind outlives the run; an
        # interrupt reaches it from here, and it writes its results before it goes.
        child = subprocess.Popen(installed_command(config, results, extra), start_new_session=True)
        try:
            return _within(
                child, WHOLE_RUN_LIMIT, 3, f"the suite ran past {WHOLE_RUN_LIMIT:.0f} s and was killed"
            )
        except KeyboardInterrupt:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)
            return _within(child, INTERRUPT_GRACE, 2, "")


def _within(child: subprocess.Popen[bytes], limit: float, status: int, why: str) -> int:
    """The child's exit status, or ``status`` once its group is killed after ``limit`` seconds
    (and ``why`` said, where there is something to say)."""
    try:
        return child.wait(limit)
    except subprocess.TimeoutExpired:
        processes.kill_group(child.pid)
        child.wait()
        if why:
            print(f"anonmap: {why}", file=sys.stderr)
        return status


def judge(observations: Path, judging: Sequence[str], time_limit: float, cwd: Path) -> processes.Finished:
    """What an observer printed (``observations``), judged by the suite run from the repository
    at ``cwd`` with ``judging`` (results, label, pytest's own options) and a time limit."""
    return processes.run(
        command([f"--anonmap-observations={observations}", *judging]), time_limit, cwd=str(cwd)
    )
