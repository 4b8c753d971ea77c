"""Python's executor of the checks' programs (``anonmap.checks.steps``): each step through the
``libc`` api (libc's functions, by ctypes) or the ``python`` api (CPython's mmap module), in the
forked child ``isolate`` runs a check in. The observer's ``execute()`` runs the same programs
through raw system calls or the C library.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from anonmap.apis import fdkinds, forking, libc, limits
from anonmap.apis.cpython import PythonRegion, map_python
from anonmap.apis.flags import Flags
from anonmap.apis.region import PAGE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, Region
from anonmap.checks.steps import ANONYMOUS, CONTENT, Fd, Op, Program, Prot, Step
from anonmap.expect import outcomes, shared_values
from anonmap.run.ending import Unsupported

#: Each meaning's bit as the mmap module gives it.
_PROT_BITS = {Prot.READ: PROT_READ, Prot.WRITE: PROT_WRITE, Prot.EXEC: PROT_EXEC}
_FIXED_FDS: dict[Fd, Callable[[], int]] = {
    Fd.NONE: lambda: -1,
    Fd.ZERO: lambda: 0,
    Fd.MINUS_TWO: lambda: -2,
    Fd.REGULAR_FILE: lambda: fdkinds.placed(fdkinds.regular_file()),
    Fd.PLACED_DEV_ZERO: lambda: fdkinds.placed(fdkinds.dev_zero()),
    Fd.CLOSED: fdkinds.closed,
    Fd.HUGE: lambda: shared_values.HUGE_FD,
    Fd.DEV_ZERO_READ_ONLY: lambda: fdkinds.dev_zero(os.O_RDONLY),
}


#: The ends that fork, each by what it asks of the child (``anonmap.apis.forking``).
_FORKS: dict[Op, Callable[[Region], str]] = {
    Op.END_SEEN_BY_PARENT: lambda r: forking.sharing(r, "child-to-parent"),
    Op.END_SEEN_BY_CHILD: lambda r: forking.sharing(r, "parent-to-child"),
    Op.END_INHERITED: forking.inherited,
    Op.END_SEEN_AFTER_FORK: forking.seen_after_fork,
    Op.END_KEPT_BY_PARENT: forking.kept_by_parent,
}


@dataclasses.dataclass(frozen=True)
class Machine:
    """What a program's steps need to know of where they run."""

    flags: Flags
    arch: str
    """The probe's name for this machine's architecture (RETURN_42 is by it)."""
    emulated: bool
    """Under a user-mode emulator (qemu-user)."""


def prot(meaning: Prot) -> int:
    value = PROT_NONE
    for bit, platform in _PROT_BITS.items():
        if meaning & bit:
            value |= platform
    return value


class _Run:
    """One program's run: its registers, its /dev/zero, and how each step is made."""

    def __init__(self, api: str, machine: Machine) -> None:
        if api not in ("libc", "python"):
            raise ValueError(f"the executor calls through libc or python, not {api!r}")
        self.api = api
        self.machine = machine
        self.regions: list[Region | None] = [None] * 4
        self.dev_zero = -1

    def region(self, index: int) -> Region:
        found = self.regions[index]
        if found is None:
            raise ValueError(f"register {index} holds no mapping")
        return found

    def address(self, index: int) -> int:
        found = self.region(index)
        if not isinstance(found, libc.LibcRegion):
            raise ValueError(f"the {self.api} api's mapping has no address for a step to use")
        return found.address

    def flag_value(self, names: tuple[str, ...]) -> int:
        value = 0
        for name in names:
            value |= self.machine.flags.anonymous() if name == ANONYMOUS else self.machine.flags.value(name)
        return value

    def fd(self, kind: Fd) -> int:
        if kind is Fd.DEV_ZERO:
            if self.dev_zero < 0:
                self.dev_zero = fdkinds.dev_zero()
            return self.dev_zero
        return _FIXED_FDS[kind]()

    def pattern(self, name: str) -> bytes:
        if name == "RETURN_42":
            return shared_values.RETURN_42.get(self.machine.arch, shared_values.NO_CODE)
        data: bytes = getattr(shared_values, name)
        return data

    def map(self, step: Step) -> None:
        length, flags, fd = step.length.at(PAGE), self.flag_value(step.names), self.fd(step.fd)
        offset, protection = step.offset.at(PAGE), prot(step.prot)
        if self.api == "python":
            if step.base != -1:
                raise ValueError("CPython's mmap module takes no address")
            self.regions[step.reg] = map_python(length, flags, fd, offset, protection)
            return
        where = None if step.base == -1 else self.address(step.base) + step.at.at(PAGE)
        self.regions[step.reg] = libc.LibcRegion(
            libc.mmap_raw(where, length, protection, flags, fd, offset), length
        )

    def on_range(self, step: Step, call: Callable[[int, int], None]) -> None:
        call(self.address(step.reg) + step.at.at(PAGE), step.length.at(PAGE))

    def read(self, step: Step, size: int) -> bytes:
        return self.region(step.reg).read(step.at.at(PAGE), size)

    def step(self, step: Step) -> str | None:
        """Make one step: the outcome word where it ends the check, else None."""
        op, region = step.op, self.regions[step.reg]
        if op is Op.MAP:
            self.map(step)
        elif op is Op.UNMAP:
            self.on_range(step, libc.munmap)
        elif op is Op.PROTECT:
            self.on_range(step, lambda address, length: libc.mprotect(address, length, prot(step.prot)))
        elif op is Op.ADVISE and isinstance(region, PythonRegion):
            region.advise(self.flag_value(step.names))
        elif op is Op.ADVISE:
            advice = self.flag_value(step.names)
            self.on_range(step, lambda address, length: libc.madvise(address, length, advice))
        elif op is Op.INHERIT:
            inherit = self.flag_value(step.names)
            self.on_range(step, lambda address, length: libc.minherit(address, length, inherit))
        elif op is Op.WRITE:
            self.region(step.reg).write(step.at.at(PAGE), self.pattern(step.pattern))
        elif op is Op.FILL:
            self.region(step.reg).write(step.at.at(PAGE), bytes([step.byte]) * step.length.at(PAGE))
        elif op is Op.TOUCH:
            self.read(step, 1)
        elif op is Op.UNLESS_FILLED:
            seen = self.read(step, step.length.at(PAGE))
            if seen != bytes([step.byte]) * len(seen):
                return fdkinds.content(seen) if step.word == CONTENT else step.word
        elif op is Op.UNLESS_HOLDS:
            expected = self.pattern(step.pattern)
            if self.read(step, len(expected)) != expected:
                return step.word
        elif op is Op.UNLESS_AT:
            if self.address(step.reg) != self.address(step.base) + step.at.at(PAGE):
                return step.word
        elif op is Op.UNLESS_ALIGNED:
            if self.address(step.reg) % step.length.at(PAGE):
                return step.word
        elif op is Op.EMULATED:
            if self.machine.emulated:
                raise Unsupported(shared_values.EMULATOR_ANSWERS.format(what=step.word))
        elif op is Op.LIMIT_DATA:
            limits.limit_data(step.length.at(PAGE))
        elif op is Op.ROOM_FOR:
            counted = ("RLIMIT_AS",) if step.byte else limits.limits_counting(prot(step.prot))
            limits.room_for(step.length.at(PAGE), counted)
        elif op is Op.JIT_WRITABLE:
            libc.jit_write_protect(not step.byte)
        else:
            return self.end(step)
        return None

    def end(self, step: Step) -> str:
        op = step.op
        if op is Op.END:
            return step.word
        if op is Op.END_CONTENT:
            return fdkinds.content(self.read(step, step.length.at(PAGE)))
        if op is Op.END_APART:
            return fdkinds.apart(self.read(step, len(shared_values.FIRST)))
        if op is Op.END_PAGESIZE:
            return outcomes.hex_value(libc.getpagesize())
        if op is Op.END_CALL:
            if shared_values.RETURN_42.get(self.machine.arch) is None:
                return "ok"
            return "ok" if libc.run_code(self.address(step.reg)) == shared_values.RETURNED else "nonzero"
        return _FORKS[op](self.region(step.reg))


def execute(program: Program, api: str, machine: Machine) -> str:
    """Run ``program`` through ``api`` to its outcome word (or whatever ends it otherwise:
    ``anonmap.run.ending``)."""
    run = _Run(api, machine)
    for step in program:
        word = run.step(step)
        if word is not None:
            return word
    raise ValueError("the program ended without a step that names an outcome")
