"""Fork from inside a check: run one side in a child and learn what it saw.

Used only inside an isolated check (see ``isolate``), so a child that hangs is bounded by the
check's time limit and killed with the check's process group.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from anonmap.apis import fdkinds
from anonmap.apis.region import Region
from anonmap.expect import shared_values
from anonmap.expect.shared_values import AFTER_FORK as _AFTER
from anonmap.expect.shared_values import BEFORE_FORK as _BEFORE
from anonmap.expect.shared_values import SAW_AFTER as _SAW_AFTER
from anonmap.expect.shared_values import SAW_BEFORE as _SAW_BEFORE
from anonmap.expect.shared_values import SAW_OTHER as _SAW_OTHER
from anonmap.expect.shared_values import SAW_ZERO as _SAW_ZERO
from anonmap.run import reaping
from anonmap.run.ending import EndsWith, Unsupported


def in_child(action: Callable[[], int], wait_for: int | None = None) -> int:
    """Fork a child that runs ``action`` and exits with its return value; return its pid.

    With ``wait_for`` (a pipe's read end) the child first waits until the parent writes a byte.
    """
    try:
        pid = os.fork()
    except OSError as error:
        # A process limit (RLIMIT_NPROC, a pids cgroup) can allow the check but not its child.
        raise Unsupported(f"{shared_values.NO_FORK}: {error.strerror} (a process limit?)") from error
    if pid == 0:
        status = 70
        try:
            reaping.die_with_parent()
            if wait_for is not None:
                os.read(wait_for, 1)
            status = action()
        finally:
            os._exit(status)
    return pid


def wait_child(pid: int) -> int:
    """The child's exit status; a child killed by a signal ends the check with its name."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise EndsWith(name, shared_values.CHILD_SIGNALLED)
    return os.waitstatus_to_exitcode(status)


def _classify(seen: bytes) -> int:
    return {_AFTER: _SAW_AFTER, _BEFORE: _SAW_BEFORE}.get(seen, _SAW_OTHER)


def sharing(region: Region, direction: str) -> str:
    """'shared' when a write after fork on one side is seen on the other, else 'private'."""
    region.write(0, _BEFORE)
    if direction == "child-to-parent":

        def write_after() -> int:
            region.write(0, _AFTER)
            return 0

        wait_child(in_child(write_after))
        seen = _classify(region.read(0, len(_AFTER)))
    elif direction == "parent-to-child":
        read_end, write_end = os.pipe()
        pid = in_child(lambda: _classify(region.read(0, len(_AFTER))), wait_for=read_end)
        region.write(0, _AFTER)
        os.write(write_end, b"!")
        seen = wait_child(pid)
        os.close(read_end)
        os.close(write_end)
    else:
        raise ValueError(f"unknown direction {direction!r}")
    return {_SAW_AFTER: "shared", _SAW_BEFORE: "private"}.get(seen, "nonzero")


def inherited(region: Region) -> str:
    """'inherited' when a child reads what the parent wrote before fork."""
    region.write(0, _BEFORE)
    seen = wait_child(in_child(lambda: _classify(region.read(0, len(_BEFORE)))))
    return "inherited" if seen == _SAW_BEFORE else "not-inherited"


def seen_after_fork(region: Region) -> str:
    """What a child makes of a region holding data: 'zero' when it reads zeros, 'shared' or
    'private' when it reads the parent's data (by whether its own write comes back to the
    parent), or the name of the signal its read raised (a mapping it was not given)."""
    region.write(0, _BEFORE)

    def read_then_write() -> int:
        seen = region.read(0, len(_BEFORE))
        if seen == bytes(len(_BEFORE)):
            return _SAW_ZERO
        if seen != _BEFORE:
            return _SAW_OTHER
        region.write(0, _AFTER)
        return _SAW_BEFORE

    seen = wait_child(in_child(read_then_write))
    if seen == _SAW_ZERO:
        return "zero"
    if seen == _SAW_BEFORE:
        return {_AFTER: "shared", _BEFORE: "private"}.get(region.read(0, len(_AFTER)), "nonzero")
    return "nonzero"


def kept_by_parent(region: Region) -> str:
    """What the parent's own copy of a region holding data reads once a child has read and
    written its one: 'preserved' when the parent's data is intact, 'shared' when the child's
    write shows through, else what it reads ('zero' for a copy wiped on the parent's side)."""
    region.write(0, _BEFORE)

    def read_then_write() -> int:
        region.read(0, len(_BEFORE))
        region.write(0, _AFTER)
        return 0

    wait_child(in_child(read_then_write))
    seen = region.read(0, len(_BEFORE))
    return {_BEFORE: "preserved", _AFTER: "shared"}.get(seen) or fdkinds.content(seen)
