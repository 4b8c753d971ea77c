"""Every system-call-level behaviour, checked by its program (``anonmap.checks.programs``): one
test a behaviour, each made here from the behaviour's check, whichever call interface observes
the case. Through ``libc`` and ``python`` the program runs in a forked child, by Python's
executor; through ``syscall`` the observer ran the same program."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from anonmap.apis import executor
from anonmap.checks import programs
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


def _test(behaviour: str) -> Callable[[Case, Judge], None]:
    @pytest.mark.behaviour(behaviour)
    def test(case: Case, judge: Judge) -> None:
        program = programs.program(case)
        judge.run(lambda: executor.execute(program, case["api"], judge.machine))

    test.__name__ = f"test_{behaviour.replace('-', '_')}"
    return test


globals().update({f"test_{b.replace('-', '_')}": _test(b) for b in programs.CHECKS})
