"""A check that faults, hangs, breaks or leaves children behind never takes the runner with it."""

from __future__ import annotations

import ctypes
import os
import signal
import time

from anonmap.apis.libc import munmap
from anonmap.apis.region import PAGE
from anonmap.run import isolate
from anonmap.run.ending import CallRefused, EndsWith, Unsupported


def _segfault() -> str:
    ctypes.string_at(8, 1)  # address 8 is never mapped
    return "ok"


def test_a_fault_comes_back_as_the_signal_name() -> None:
    assert isolate.run(_segfault).outcome == "SIGSEGV"


def test_a_hang_comes_back_as_timeout_within_the_limit() -> None:
    started = time.monotonic()

    def hang() -> str:
        time.sleep(60)
        return "ok"

    result = isolate.run(hang, time_limit=0.3)
    assert result.outcome == "timeout"
    assert time.monotonic() - started < 5


def test_no_grandchild_outlives_its_check() -> None:
    read_end, write_end = os.pipe()

    def leave_a_sleeper() -> str:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        os.write(write_end, str(pid).encode())
        return "ok"

    assert isolate.run(leave_a_sleeper).outcome == "ok"
    sleeper = int(os.read(read_end, 32))
    os.close(read_end)
    os.close(write_end)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(sleeper, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    os.kill(sleeper, signal.SIGKILL)
    raise AssertionError(f"the check's child {sleeper} outlived the check")


def test_a_broken_check_is_a_harness_error_with_its_traceback() -> None:
    result = isolate.run(lambda: str(1 // 0))
    assert result.outcome == ""
    assert "ZeroDivisionError" in result.harness_error


def test_a_refused_call_comes_back_as_its_errno_name() -> None:
    def unaligned_munmap() -> str:
        munmap(1, PAGE)  # POSIX munmap(): EINVAL for an address not a multiple of the page size
        return "ok"

    assert isolate.run(unaligned_munmap).outcome == "EINVAL"


def test_observed_carries_its_outcome_and_detail() -> None:
    def absent() -> str:
        raise EndsWith("absent", "MAP_NOTHING is not defined")

    result = isolate.run(absent)
    assert (result.outcome, result.detail) == ("absent", "MAP_NOTHING is not defined")
    assert issubclass(CallRefused, EndsWith)


def test_a_child_that_exits_without_a_result_is_a_harness_error() -> None:
    result = isolate.run(lambda: os._exit(3))
    assert "status 3" in result.harness_error


def test_a_check_that_closes_the_result_pipe_is_a_harness_error_not_a_signal() -> None:
    def close_everything() -> str:
        os.closerange(3, 4096)
        return "ok"

    result = isolate.run(close_everything)
    assert result.outcome == "" and "sent no result" in result.harness_error


def test_a_check_can_say_the_environment_withholds_what_it_needs() -> None:
    def needs_more() -> str:
        raise Unsupported("no room for a temporary file")

    result = isolate.run(needs_more)
    assert result.unsupported == "no room for a temporary file" and result.outcome == ""
