"""One case through several call interfaces: folded into one line where the variants agree.

A catalogue parameter marked ``interface`` (the api: libc, Python, the raw system call; the C
compiler) names ways of making one call. ``libc-private-fd=0``, ``python-private-fd=0`` and
``syscall-private-fd=0`` are one case to a porter when all three say the same, so reports show
``private-fd=0 (libc, python, syscall)`` once.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Hashable, Iterable

from anonmap.expect.catalogue import Case, behaviours, case_id


@dataclasses.dataclass(frozen=True)
class Folded:
    behaviour: str
    key: str
    """The case id without its interface values ('private-fd=0'); '' when it has no others."""
    interfaces: tuple[str, ...]
    """The interface values folded, in the order the cases came ('libc', 'python', 'syscall')."""
    cases: tuple[str, ...]
    """The case ids folded, one per interface value."""


@functools.cache
def _catalogue_cases() -> dict[tuple[str, str], Case]:
    return {(b.id, case.id): case for b in behaviours().values() for case in b.cases}


def split(behaviour: str, case: str) -> tuple[str, str]:
    """(the id without interface values, the interface values joined by '-'); a case the
    catalogue does not list is its own key."""
    found = _catalogue_cases().get((behaviour, case))
    if found is None:
        return case, ""
    glossary = behaviours()[behaviour].glossary
    rest = {k: v for k, v in found.params.items() if not glossary[k].interface}
    interface = "-".join(v for k, v in found.params.items() if glossary[k].interface)
    return case_id(rest, glossary), interface


def fold(behaviour: str, cases: Iterable[str], says: Callable[[str], Hashable]) -> list[Folded]:
    """The cases of one behaviour, those that differ only in interface and whose ``says`` is
    equal as one; in the order each line's first case came."""
    lines: dict[tuple[str, Hashable], list[tuple[str, str]]] = {}
    for case in cases:
        key, interface = split(behaviour, case)
        lines.setdefault((key if interface else case, says(case)), []).append((case, interface))
    return [
        Folded(
            behaviour,
            key,
            tuple(interface for _, interface in members if interface),
            tuple(case for case, _ in members),
        )
        for (key, _), members in lines.items()
    ]
