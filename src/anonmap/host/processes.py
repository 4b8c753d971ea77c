"""Run a program with a time limit, in a process group of its own that dies with it.

Every program the suite starts (compilers, preprocessors, the seed demo, qemu in the tools)
goes through ``run``: on expiry, or when the suite itself is interrupted, the whole group is
killed, so nothing a tool forked outlives the call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

#: The signals that end a run (the suite raises KeyboardInterrupt for SIGTERM too).
INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


def fork_holding_interrupts() -> tuple[int, set[int | signal.Signals]]:
    """os.fork() with SIGINT and SIGTERM held back, and the signal mask to restore.

    os.fork() runs Python's at-fork callbacks (logging's lock release), and an interrupt raised
    inside one is printed as "unraisable" and dropped: a run would go on as if never
    interrupted. Held back, it is raised once the caller restores the mask, in the parent when
    the child can be dealt with, in the child once it no longer runs the runner's handlers.
    Raises OSError as os.fork() does, with the mask restored."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        return os.fork(), mask
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    """The exit status, or minus the signal number that killed it (as subprocess reports)."""
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: str = ""
    """Why the program could not be started at all (no such file, fork refused), or ''."""

    @property
    def ok(self) -> bool:
        return not (self.timed_out or self.start_error) and self.returncode == 0

    def exit_status(self, what: str) -> int:
        """The status a tool that ran this program exits with: the program's own, or 1 when it
        timed out or could not start, which is said on stderr after ``what``."""
        if self.timed_out or self.start_error:
            print(f"{what} {self.failure()}", file=sys.stderr)
            return 1
        return self.returncode

    def failure(self) -> str:
        """One line saying how the run went wrong ('' when it did not)."""
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.timed_out:
            return "timed out (its process group was killed)"
        if self.returncode < 0:
            return f"killed by {signal_name(-self.returncode)}"
        if self.returncode != 0:
            last = self.stderr.strip().splitlines()[-1:] or [""]
            return f"exit status {self.returncode}" + (f": {last[0]}" if last[0] else "")
        return ""


def signal_name(signum: int) -> str:
    """The signal's name as an outcome word (SIGSEGV), also for a number Python has no name for."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    time_limit: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    stdin: int = subprocess.DEVNULL,
) -> Finished:
    """Run ``argv`` to completion or to ``time_limit`` seconds, whichever comes first, its
    standard input ``stdin`` (/dev/null, or subprocess.PIPE for an empty pipe of its own)."""
    output = subprocess.PIPE if capture else None
    try:
        child = subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=output,
            stderr=output,
            cwd=cwd,
            env=None if env is None else dict(env),
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        return Finished(-1, "", "", start_error=f"{argv[0]}: {error.strerror or error}")
    timed_out = False
    try:
        stdout, stderr = child.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(child.pid)
        stdout, stderr = child.communicate()
    finally:
        # Reached on an interrupt too: whatever the program forked goes with it.
        kill_group(child.pid)
        if child.poll() is None:
            child.kill()
            child.wait()
    return Finished(child.returncode, stdout or "", stderr or "", timed_out=timed_out)
