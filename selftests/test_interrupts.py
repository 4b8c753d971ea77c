"""A run interrupted mid-check (SIGINT, SIGTERM), serial and with xdist: it stops promptly,
leaves no process behind, keeps the last complete results, and says it was interrupted.

The hang is real: a preloaded shim (``RULE_HANG_ORPHANING``) makes one mmap call spin after
leaving a grandchild that escapes the check's process group with setsid.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anonmap import suite
from selftests.emulation.launch import build_shim
from selftests.helpers import AS_FROM_A_TERMINAL, REPO

pytestmark = [
    pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: the shim preloads on Linux"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="unsupported: no cc to build the shim"),
]


def _marked(token: str) -> list[int]:
    """Processes (other than this one) whose environment carries ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if token.encode() in environ:
            found.append(int(entry.name))
    return found


def _survivors(token: str, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _marked(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.fixture
def token() -> Iterator[str]:
    """An environment variable that marks every process a test's run starts. Whatever of them
    is left when the test ends, failed or not, is killed: a run that missed its interrupt
    leaves the shim's setsid grandchild, which waits for ever."""
    marker = f"ANONMAP_SELFTEST_{uuid.uuid4().hex}"
    yield marker
    for pid in _marked(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shim(["HANG_ORPHANING"], tmp_path_factory.mktemp("shim"))


def _tox_timeouts() -> tuple[float, float]:
    """tox.ini's [testenv] interrupt_timeout and terminate_timeout."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "tox.ini")
    return parser.getfloat("testenv", "interrupt_timeout"), parser.getfloat("testenv", "terminate_timeout")


def _stop_as_tox_does(run: subprocess.Popen[bytes]) -> None:
    """Ctrl-C under tox 4: the terminal's SIGINT reaches the whole group, then tox sends SIGTERM
    after interrupt_timeout and SIGKILL after terminate_timeout (LocalSubProcessExecuteStatus
    interrupt() in tox/execute/local_sub_process/__init__.py)."""
    interrupt, terminate = _tox_timeouts()
    os.killpg(run.pid, signal.SIGINT)
    for then, wait in ((run.terminate, interrupt), (run.kill, terminate)):
        try:
            run.wait(wait)
            return
        except subprocess.TimeoutExpired:
            then()


@pytest.mark.parametrize(
    ("workers", "how"),
    [
        ("0", "SIGINT to the group"),
        ("0", "SIGTERM"),
        ("2", "SIGINT to the group"),
        ("2", "SIGTERM"),
        ("2", "Ctrl-C under tox"),
    ],
)
def test_an_interrupted_run_stops_cleanly_and_keeps_the_complete_results(
    tmp_path: Path, shim: Path, token: str, workers: str, how: str
) -> None:
    results = tmp_path / "results.json"
    complete = '{"schema": "anonmap-results/1", "complete": true, "records": []}\n'
    results.write_text(complete)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"LD_PRELOAD": str(shim), token: "1"})
    command = suite.command(
        [f"--anonmap-results={results}", "-n", workers, "-k", "zero_fill", "--anonmap-time-limit=120"],
        AS_FROM_A_TERMINAL,
    )
    started = time.monotonic()
    run = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # The spinning check is reached within a second or two; wait until it has forked its
        # setsid grandchild, so the signal lands mid-check.
        while len(_marked(token)) < 3 + int(workers) and time.monotonic() - started < 60:
            time.sleep(0.05)
        time.sleep(0.3)
        if how == "SIGTERM":
            run.send_signal(signal.SIGTERM)
        elif how == "Ctrl-C under tox":
            _stop_as_tox_does(run)
        else:
            os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    text = output.decode(errors="replace")
    assert time.monotonic() - started < 60, text
    assert run.returncode == pytest.ExitCode.INTERRUPTED, text
    assert _survivors(token, within=5) == [], f"processes outlived the interrupted run:\n{text}"
    assert results.read_text() == complete, "an interrupted run replaced the complete results"
    interrupted = json.loads((tmp_path / "results.interrupted.json").read_text())
    assert interrupted["complete"] is False
    assert "interrupted" in interrupted["incomplete_reason"]
    assert "INCOMPLETE" in text


@pytest.mark.parametrize("rule", ["INTERRUPT_PARENT_AT_FORK", "INTERRUPT_CHILD_AT_FORK"])
def test_an_interrupt_as_a_check_forks_is_never_lost_nor_blamed_on_the_platform(
    tmp_path: Path, token: str, rule: str
) -> None:
    """A preloaded fork() sends SIGINT the moment one check's fork returns. In the runner, the
    next code is Python's at-fork callbacks, where an interrupt is printed as unraisable and
    dropped: the run must still stop as interrupted. In the check's child, nobody but the
    sender is interrupted: the run goes on, and that case is unsupported, not a deviation."""
    shim = build_shim([rule], tmp_path)
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"LD_PRELOAD": str(shim), token: "1"})
    command = suite.command(
        [f"--anonmap-results={results}", "-n", "0", "-k", "zero_fill"], AS_FROM_A_TERMINAL
    )
    run = subprocess.run(
        command,
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    text = run.stdout + run.stderr
    written = json.loads(results.read_text())
    if rule == "INTERRUPT_PARENT_AT_FORK":
        assert run.returncode == pytest.ExitCode.INTERRUPTED, (
            f"a SIGINT as a check forked was dropped:\n{text}"
        )
        assert written["complete"] is False and "interrupted" in written["incomplete_reason"], written
        assert written["records"], "the interrupt came before any check forked: the shim missed the isolate"
        return
    assert written["complete"] is True, text
    ended = [record for record in written["records"] if record["verdict"] != "pass"]
    assert len(ended) == 1 and ended[0]["verdict"] == "unsupported", ended
    assert "SIGINT from outside the run" in json.dumps(ended[0]), ended
