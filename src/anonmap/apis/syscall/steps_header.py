"""The part of the observer's cases.h that carries the checks' programs: the step language's
enums (from ``anonmap.checks.steps``), the flag names the programs use with the C spelling of
each value, and one table of steps a case, which observer.c's ``execute()`` runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from anonmap.apis.syscall.shared_header import c_string
from anonmap.checks.steps import NOTHING, PATTERNS, REGISTERS, Fd, Op, Program, Prot, Step
from anonmap.expect.shared_values import Span

#: The names abi.h and libc.h define for every system (OBS_<name>); every other name a program
#: uses is the profile's or the mmap module's, given to the build (``build.profile_constants``).
ABI_NAMES = ("MAP_SHARED", "MAP_PRIVATE", "MAP_ANON", "MADV_NORMAL", "MADV_DONTNEED")
#: How many names a step's bit set can hold (unsigned long long).
_MOST_NAMES = 64


def names_used(programs: Iterable[Program]) -> tuple[str, ...]:
    """Every flag name the programs use, ABI names first, each once."""
    used = {name for program in programs for step in program for name in step.names}
    return (*ABI_NAMES, *sorted(used - set(ABI_NAMES)))


def enums() -> list[str]:
    """The ops, descriptor kinds, protection meanings and patterns, as C enums."""
    return [
        f"#define OBS_REGISTERS {REGISTERS}",
        "enum { " + ", ".join(f"OBS_STEP_{op.name} = {op.value}" for op in Op) + " };",
        "enum { " + ", ".join(f"OBS_FD_{fd.name} = {fd.value}" for fd in Fd) + " };",
        "enum { " + ", ".join(f"OBS_MEANS_{bit.name} = {bit.value}" for bit in Prot if bit.value) + " };",
        "enum { " + ", ".join(f"OBS_PATTERN_{name} = {i}" for i, name in enumerate(PATTERNS)) + " };",
    ]


def name_table(names: Sequence[str]) -> list[str]:
    if len(names) > _MOST_NAMES:
        raise ValueError(f"the programs use {len(names)} flag names, more than a step holds ({_MOST_NAMES})")
    rows = ", ".join(f"{{OBS_{name}, {c_string(name)}}}" for name in names)
    return [f"static const struct obs_name_value obs_flag_names[] = {{{rows}}};"]


def _span(field: str, span: Span) -> list[str]:
    if span == NOTHING:
        return []
    return [f".{field}_pages = {span.pages}", f".{field}_bytes = {span.bytes}LL"]


def _step(step: Step, names: Sequence[str]) -> str:
    bits = sum(1 << names.index(name) for name in step.names)
    fields = [
        f".op = OBS_STEP_{step.op.name}",
        f".reg = {step.reg}",
        f".base = {step.base}",
        f".prot = {step.prot.value}",
        f".fd = OBS_FD_{step.fd.name}",
        f".byte = {step.byte}",
        f".pattern = {PATTERNS.index(step.pattern) if step.pattern else -1}",
        *_span("at", step.at),
        *_span("length", step.length),
        *_span("offset", step.offset),
        *([f".names = {bits:#x}ULL"] if bits else []),
        *([f".word = {c_string(step.word)}"] if step.word else []),
    ]
    return "{" + ", ".join(fields) + "}"


def program_table(index: int, program: Program, names: Sequence[str]) -> str:
    """``obs_steps_<index>``: one case's program."""
    rows = ",\n    ".join(_step(step, names) for step in program)
    return f"static const struct obs_step obs_steps_{index}[] = {{\n    {rows}}};"
