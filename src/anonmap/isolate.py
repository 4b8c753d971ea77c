"""Run a check in a forked child with a time limit; whatever happens, come back with an outcome.

The child's result travels through a pipe. A fault comes back as the signal's name, a hang as
``timeout``, a broken check as an ``Isolated`` whose ``harness_error`` says what broke. The
child leads its own process group, so grandchildren a check forks die with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import os
import selectors
import signal
import time
import traceback
import warnings
from collections.abc import Callable

from anonmap.calls import Observed

DEFAULT_TIME_LIMIT = 10.0


@dataclasses.dataclass(frozen=True)
class Isolated:
    outcome: str
    """The outcome word, or '' when the harness broke (see ``harness_error``)."""
    detail: str = ""
    harness_error: str = ""


class ForkUnavailable(Exception):
    """The environment refused fork: the check cannot run here."""


def _child(check: Callable[[], str], write_end: int) -> None:
    # Never returns: the child must not run pytest's teardown or atexit handlers.
    status = 0
    try:
        os.setpgid(0, 0)
        # A fault here is an outcome, not something to dump a traceback for.
        faulthandler.disable()
        for signum in (signal.SIGSEGV, signal.SIGBUS):
            signal.signal(signum, signal.SIG_DFL)
        try:
            message = "outcome\n" + check()
        except Observed as observed:
            message = f"outcome\n{observed.outcome}\n{observed}"
        except BaseException:  # noqa: BLE001 - report any breakage of the check itself
            message = "harness\n" + traceback.format_exc()
        body = message.encode()
        # Length-prefixed, so the parent need not wait for EOF, which a lingering
        # grandchild holding the pipe open would delay until the time limit.
        data = b"%d\n" % len(body) + body
        while data:
            data = data[os.write(write_end, data) :]
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        status = 70
    finally:
        os._exit(status)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run(check: Callable[[], str], time_limit: float = DEFAULT_TIME_LIMIT) -> Isolated:
    """Run ``check`` in a child; it returns an outcome word or raises ``Observed``."""
    read_end, write_end = os.pipe()
    try:
        with warnings.catch_warnings():
            # The child only runs the check and exits; it takes no lock another thread holds.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError as error:
        os.close(read_end)
        os.close(write_end)
        raise ForkUnavailable(f"fork() failed: {error.strerror}") from error
    if pid == 0:
        os.close(read_end)
        _child(check, write_end)
    os.close(write_end)
    with contextlib.suppress(OSError):  # the child already did it, or has already exited
        os.setpgid(pid, pid)
    try:
        received, timed_out = _read_until(read_end, time.monotonic() + time_limit)
    finally:
        os.close(read_end)
    # Whatever the check left running goes with it; then reap the child.
    _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return Isolated("timeout", f"no result within {time_limit:g} s")
    # A complete message means the check finished; the group kill may still have caught the
    # child on its way out, so its exit status only counts when no message came.
    if not received and os.WIFSIGNALED(status):
        return Isolated(_signal_name(os.WTERMSIG(status)), "the child was killed by a signal")
    kind, _, rest = received.decode(errors="replace").partition("\n")
    if kind == "outcome":
        outcome, _, detail = rest.partition("\n")
        return Isolated(outcome, detail)
    if kind == "harness":
        return Isolated("", harness_error=rest)
    return Isolated(
        "", harness_error=f"the child exited with status {os.waitstatus_to_exitcode(status)} and no result"
    )


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """The child's message (empty if it sent none), and whether the deadline came first."""
    received = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            header, newline, body = received.partition(b"\n")
            if newline and header.isdigit() and len(body) >= int(header):
                return body[: int(header)], False
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return b"", True
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"", False
            received += chunk
