"""The scanner's rules as data (rules.toml): each rule's summary, help, default level and the
catalogue behaviour and cases its findings show the documented outcomes of."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from anonmap.files.tomlread import loads


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    behaviour: str
    cases: tuple[str, ...]
    level: str
    """'warning' (fails a CI gate) or 'note' (shown, never fails it)."""
    help: str


@functools.cache
def rules() -> dict[str, Rule]:
    data = loads((Path(__file__).with_name("rules.toml")).read_text(encoding="utf-8"))
    return {
        name: Rule(
            name,
            entry["summary"],
            entry["behaviour"],
            tuple(entry.get("cases", ())),
            entry["level"],
            entry["help"],
        )
        for name, entry in data.items()
    }
