"""The ``syscall`` api as a registry entry: its cases are observed by the freestanding
observer (``build``), built and run here once per process, or read from an observations file
made elsewhere (``observations``): the observer ran the case's program, and Python's
executor never runs it for them."""

from __future__ import annotations

import dataclasses

from anonmap.apis.interface import Check, Context, NotMappable
from anonmap.apis.region import Region
from anonmap.apis.syscall import build
from anonmap.apis.syscall.observations import here
from anonmap.expect.catalogue import Case
from anonmap.run.isolate import Isolated


@dataclasses.dataclass(frozen=True)
class Observer:
    """Raw system calls, no libc: a C program asks the kernel, and prints what it saw."""

    name: str = build.SYSCALL_API
    group: str = "observer"
    """One worker builds and runs the observer; its cases share what it printed."""

    def map(self, length: int, flags: int, fd: int, offset: int, prot: int) -> Region:
        raise NotMappable(f"the {self.name} api maps only inside the observer, not from a Python check")

    def observe(self, case: Case, check: Check, context: Context) -> Isolated:
        found = context.observations
        if found is None:
            flags = tuple(
                (name, value)
                for name in build.profile_constants()
                if (value := context.flags.known(name)) is not None
            )
            info = context.run_info
            local = here(tuple(info.compilers.items()), info.os, info.arch, flags, context.time_limit)
            if local.unsupported:
                return Isolated("", unsupported=local.unsupported)
            if local.error or local.observations is None:
                return Isolated("", harness_error=local.error)
            found = local.observations
        return found.outcome(case)
