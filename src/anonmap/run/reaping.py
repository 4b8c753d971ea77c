"""Make sure nothing a check forked outlives it, even a process that left the check's group.

A check runs in a process group of its own, which is killed after it. A descendant that calls
``setsid`` escapes the group; on Linux the runner is a child subreaper (prctl(2),
PR_SET_CHILD_SUBREAPER, Linux 3.4), so such an orphan becomes its child and is killed and
reaped after the check. Every process the suite forks also asks for SIGKILL when its parent dies
(PR_SET_PDEATHSIG), so checks go with a worker that is killed. Elsewhere these are no-ops: the
group kill is what remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_LINUX = sys.platform.startswith("linux")


@functools.cache
def _prctl() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return function


def _call_prctl(option: int, value: int) -> bool:
    function = _prctl() if _LINUX else None
    return function is not None and function(option, value, 0, 0, 0) == 0


@functools.cache
def become_subreaper() -> bool:
    """Once per process: adopt orphaned descendants (Linux); whether that took effect."""
    return _call_prctl(_PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> None:
    """In a freshly forked child: be killed when the process that forked it dies (Linux)."""
    _call_prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def children() -> set[int]:
    """This process's children now (Linux; empty elsewhere)."""
    pids: set[int] = set()
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (task / "children").read_text().split())
    return pids


def reap_orphans(before: set[int]) -> int:
    """Kill and reap every child this process has now that it did not have ``before`` the
    check (orphans it adopted); how many. Bounded: each round kills what it finds."""
    if not become_subreaper():
        return 0
    killed = 0
    for _ in range(16):
        found = children() - before
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            killed += 1
    return killed
