"""What every call interface is: an entry that maps memory for a check (or says it cannot from
Python), and turns a case into an observation. ``libc``, ``python`` and ``syscall`` are peers
of this one shape (``registry``); what is special about one lives inside its entry."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from anonmap.apis.flags import Flags
from anonmap.apis.region import Region
from anonmap.apis.syscall.observations import Observations
from anonmap.expect.catalogue import Case
from anonmap.host.probe import RunInfo
from anonmap.run import isolate


@dataclasses.dataclass(frozen=True)
class Context:
    """What an entry needs of the run to observe a case."""

    run_info: RunInfo
    flags: Flags
    time_limit: float
    observations: Observations | None
    """An observations file this run judges in place of observing here, or None."""


#: The check a test writes: it returns the outcome word, or raises (``anonmap.run.ending``).
Check = Callable[[], str]


class CallInterface(Protocol):
    """One way of asking the platform for memory."""

    @property
    def name(self) -> str:
        """The entry's name: the catalogue's ``api`` value its cases carry."""
        ...

    @property
    def group(self) -> str:
        """Cases that share one out-of-process run name their group, so that pytest-xdist
        keeps them on one worker; '' where every case runs on its own."""
        ...

    def map(self, length: int, flags: int, fd: int, offset: int, prot: int) -> Region:
        """Map memory from inside a check, or raise ``NotMappable``."""
        ...

    def observe(self, case: Case, check: Check, context: Context) -> isolate.Isolated:
        """The case's observation: an outcome, why it is unsupported, or what broke."""
        ...


class NotMappable(Exception):
    """The entry maps only out of process: a Python check cannot map through it."""


@dataclasses.dataclass(frozen=True)
class InProcess:
    """An interface Python calls itself: the test's check runs in a forked child. An
    observations file made by the observer's backend for this api (the C-library observer for
    ``libc``) is judged in its place: the same cases, observed from C where Python cannot run."""

    name: str
    mapper: Callable[[int, int, int, int, int], Region]
    group: str = ""

    def map(self, length: int, flags: int, fd: int, offset: int, prot: int) -> Region:
        return self.mapper(length, flags, fd, offset, prot)

    def observe(self, case: Case, check: Check, context: Context) -> isolate.Isolated:
        if context.observations is not None:
            return context.observations.outcome(case)
        try:
            return isolate.run(check, context.time_limit)
        except isolate.ForkUnavailable as error:
            return isolate.Isolated("", unsupported=f"fork: {error} (isolation needs it)")
