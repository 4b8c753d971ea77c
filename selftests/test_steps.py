"""The step language is one: every op has its meaning in both executors, and every program a
check makes for a catalogue case is one both can run."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from anonmap.apis import executor
from anonmap.checks import programs
from anonmap.checks.steps import Op, Step
from anonmap.expect import catalogue

#: The ops that end a check: a program's last step is one of them.
ENDING = {op for op in Op if op.name.startswith("END")}
#: What CPython's mmap module cannot do: a step that needs the mapping's address.
NEEDS_AN_ADDRESS = {Op.UNMAP, Op.PROTECT, Op.INHERIT, Op.UNLESS_AT, Op.UNLESS_ALIGNED, Op.END_CALL}


def _cases() -> list[catalogue.Case]:
    return [case for b in catalogue.behaviours() if b in programs.CHECKS for case in catalogue.cases(b)]


def test_every_op_has_its_meaning_in_both_executors() -> None:
    observer = resources.files("anonmap").joinpath("data/observer/observer.c").read_text()
    python = Path(executor.__file__).read_text()
    for op in Op:
        assert re.search(rf"\bcase OBS_STEP_{op.name}:", observer), f"observer.c's execute() has no {op.name}"
        assert re.search(rf"\bOp\.{op.name}\b", python), f"anonmap.apis.executor has no {op.name}"


def test_every_check_has_a_catalogue_behaviour() -> None:
    assert set(programs.CHECKS) <= set(catalogue.behaviours())


def test_every_program_ends_with_an_outcome_and_fits_its_api() -> None:
    cases = _cases()
    assert cases
    for case in cases:
        program = programs.program(case)
        name = f"{case.behaviour}[{case.id}]"
        assert program and program[-1].op in ENDING, f"{name} does not end with an outcome"
        if case.params.get("api") == "python":
            unfit = [s.op.name for s in program if s.op in NEEDS_AN_ADDRESS or s.base != -1]
            assert not unfit, f"{name}: CPython's mmap module cannot make {unfit}"


def test_a_step_refuses_what_no_executor_has() -> None:
    with pytest.raises(ValueError, match="registers"):
        Step(Op.MAP, reg=4)
    with pytest.raises(ValueError, match="pattern"):
        Step(Op.WRITE, pattern="SECOND")
    with pytest.raises(ValueError, match="byte"):
        Step(Op.FILL, byte=256)
