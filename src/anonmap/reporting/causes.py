"""Differences grouped by why they differ, as a porter acts on them: the catalogue's causes
(``[cause.NAME]``: what must change, the idiom in brief) in the order the catalogue lists them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from anonmap.expect.catalogue import Cause, behaviours, causes


@dataclasses.dataclass(frozen=True)
class ByCause:
    cause: Cause
    cases: tuple[tuple[str, str], ...]
    """(behaviour, case) of each difference with this cause, in the order given."""

    @property
    def behaviours(self) -> list[str]:
        return list(dict.fromkeys(behaviour for behaviour, _ in self.cases))


def cause_of(behaviour: str, case: str) -> str:
    """The cause's name: the case's in the catalogue, else its behaviour's."""
    found = behaviours().get(behaviour)
    if found is None:
        return ""
    return next((c.cause for c in found.cases if c.id == case), found.cause)


def group(cases: Iterable[tuple[str, str]]) -> list[ByCause]:
    """The (behaviour, case) pairs by cause; a behaviour the catalogue lacks has none and is left
    out (a report still shows it in its detail)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for behaviour, case in cases:
        name = cause_of(behaviour, case)
        if name:
            found.setdefault(name, []).append((behaviour, case))
    return [ByCause(cause, tuple(found[name])) for name, cause in causes().items() if name in found]
