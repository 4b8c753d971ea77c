"""Run a check in a forked child with a time limit; whatever happens, come back with an outcome.

The child's result travels through a pipe. A fault comes back as the signal's name, a hang as
``timeout``, a broken check as an ``Isolated`` whose ``harness_error`` says what broke, and a
check that finds the environment lacking (``calls.Unsupported``) as ``unsupported``. The child
leads its own process group, so grandchildren a check forks die with it; it is killed and
reaped however ``run`` is left, an interrupt included (see ``reaping`` for the rest).
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import fcntl
import os
import selectors
import signal
import time
import traceback
import warnings
from collections.abc import Callable

from anonmap.host import processes
from anonmap.run import reaping
from anonmap.run.ending import EndsWith, Unsupported

DEFAULT_TIME_LIMIT = 10.0


@dataclasses.dataclass(frozen=True)
class Isolated:
    outcome: str
    """The outcome word, or '' when the harness broke (see ``harness_error``)."""
    detail: str = ""
    harness_error: str = ""
    unsupported: str = ""
    """Why the environment did not let the check run to an outcome, or ''."""


class ForkUnavailable(Exception):
    """The environment refused fork: the check cannot run here."""


def _child(check: Callable[[], str], write_end: int, mask: set[int | signal.Signals]) -> None:
    # Never returns: the child must not run pytest's teardown or atexit handlers.
    status = 0
    try:
        os.setpgid(0, 0)
        reaping.die_with_parent()
        if write_end <= 2:  # the runner started without standard streams: keep the pipe clear of them
            write_end = fcntl.fcntl(write_end, fcntl.F_DUPFD, 3)
        _detach_from_output()
        # A fault here is an outcome, not something to dump a traceback for.
        faulthandler.disable()
        for signum in (signal.SIGSEGV, signal.SIGBUS):
            signal.signal(signum, signal.SIG_DFL)
        for signum in processes.INTERRUPTS:
            signal.signal(signum, signal.SIG_DFL)
        # An interrupt held back over the fork now ends the child by default, check and all.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            message = "outcome\n" + check()
        except Unsupported as unsupported:
            message = f"unsupported\n{unsupported}"
        except EndsWith as ended:
            message = f"outcome\n{ended.outcome}\n{ended}"
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


def _detach_from_output() -> None:
    """Point the child's standard streams at /dev/null: whatever it leaves running must not
    hold the runner's output open (tox and CI wait for it to close)."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        null = -1
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if null >= 0:
                os.dup2(null, fd)
            else:
                os.close(fd)
    if null > 2:
        os.close(null)


def run(check: Callable[[], str], time_limit: float = DEFAULT_TIME_LIMIT) -> Isolated:
    """Run ``check`` in a child; it returns an outcome word or raises ``EndsWith``."""
    reaping.become_subreaper()
    before = reaping.children()
    read_end, write_end = os.pipe()
    try:
        with warnings.catch_warnings():
            # The child only runs the check and exits; it takes no lock another thread holds.
            warnings.simplefilter("ignore", DeprecationWarning)
            # An interrupt held back over the fork is raised below, once the child can be killed.
            pid, mask = processes.fork_holding_interrupts()
    except OSError as error:
        os.close(read_end)
        os.close(write_end)
        raise ForkUnavailable(f"fork() failed: {error.strerror}") from error
    if pid == 0:
        os.close(read_end)
        _child(check, write_end, mask)
    os.close(write_end)
    with contextlib.suppress(OSError):  # the child already did it, or has already exited
        os.setpgid(pid, pid)
    deadline = time.monotonic() + time_limit
    status: int | None = None
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        received, timed_out = _read_until(read_end, deadline)
        if not received and not timed_out:
            # The pipe closed with no message: let the child finish dying, so its status
            # (a signal, an exit code) says why, rather than the kill below.
            status = _wait_until(pid, deadline)
            timed_out = status is None
    finally:
        os.close(read_end)
        # Whatever the check left running goes with it, on an interrupt too; then reap.
        processes.kill_group(pid)
        if status is None:
            _, status = os.waitpid(pid, 0)
        reaping.reap_orphans(before)
    if timed_out:
        return Isolated("timeout", f"no result within {time_limit:g} s")
    # A complete message means the check finished; the group kill may still have caught the
    # child on its way out, so its exit status only counts when no message came.
    if not received and os.WIFSIGNALED(status) and os.WTERMSIG(status) in processes.INTERRUPTS:
        # No platform answers a memory call with an interrupt: somebody stopped the check.
        return Isolated(
            "",
            unsupported=f"the check's child was ended by {processes.signal_name(os.WTERMSIG(status))} "
            "from outside the run before it sent a result",
        )
    if not received and os.WIFSIGNALED(status):
        return Isolated(processes.signal_name(os.WTERMSIG(status)), "the child was killed by a signal")
    kind, _, rest = received.decode(errors="replace").partition("\n")
    if kind == "outcome":
        outcome, _, detail = rest.partition("\n")
        return Isolated(outcome, detail)
    if kind == "unsupported":
        return Isolated("", unsupported=rest)
    if kind == "harness":
        return Isolated("", harness_error=rest)
    return Isolated(
        "",
        harness_error=f"the check's child exited with status {os.waitstatus_to_exitcode(status)} "
        "and sent no result (did the check close its descriptors?)",
    )


def _wait_until(pid: int, deadline: float) -> int | None:
    """The child's wait status once it exits, or None if it is still running at ``deadline``."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


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
