"""Emulation manifests: a run where Linux is made to answer like another platform.

A manifest names the persona, the platform whose profile it answers for, and the cases it
emulates. The suite then checks those cases against that profile and reports every other case
as not emulated (unsupported), never as a pass. How the kernel is made to answer is the
launcher's business (the [launch] table, which this module does not read).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from anonmap.expect.catalogue import Case, behaviours
from anonmap.expect.profiles import Checker, ProfileError, read_document, tables

_TOP_LEVEL = {"persona", "emulates", "launch"}
_PERSONA_KEYS = {"name", "platform", "description"}
_EMULATES_KEYS = {"behaviour", "case", "why"}


@dataclasses.dataclass(frozen=True)
class Emulation:
    name: str
    platform: str
    description: str
    covered: tuple[tuple[str, Mapping[str, tuple[str, ...]]], ...]

    def covers(self, case: Case) -> bool:
        return any(case.matches(behaviour, narrowed) for behaviour, narrowed in self.covered)

    def to_json(self) -> dict[str, str]:
        return {"persona": self.name, "platform": self.platform, "description": self.description}


def load_emulation(path: Path) -> Emulation:
    """Read and validate a manifest; ``ProfileError`` names file, line and key of each problem."""
    document, lines = read_document(path, "emulation manifest")
    checker = Checker(path, lines)
    for key in sorted(set(document) - _TOP_LEVEL):
        checker.problem(
            lines.table(key), f"unknown top-level key {key!r} (allowed: {', '.join(sorted(_TOP_LEVEL))})"
        )
    persona = document.get("persona")
    persona_line = lines.table("persona")
    fields = {"name": "", "platform": "", "description": ""}
    if not isinstance(persona, dict):
        checker.problem(1, "missing [persona] table (name, platform, description)")
    else:
        for key in sorted(set(persona) - _PERSONA_KEYS):
            checker.problem(lines.key(persona_line, key), f"[persona]: unknown key {key!r}")
        for key in fields:
            value = persona.get(key)
            if not isinstance(value, str) or not value:
                checker.problem(
                    lines.key(persona_line, key), f"[persona]: key {key!r} must be a non-empty string"
                )
            else:
                fields[key] = value
    known = behaviours()
    covered: list[tuple[str, Mapping[str, tuple[str, ...]]]] = []
    for index, table in tables(document, "emulates", checker):
        line = lines.table("emulates", index)
        label = f"emulates #{index + 1}"
        for key in sorted(set(table) - _EMULATES_KEYS):
            checker.problem(
                lines.key(line, key),
                f"{label}: unknown key {key!r} (allowed: {', '.join(sorted(_EMULATES_KEYS))})",
            )
        if not isinstance(table.get("why"), str) or not table["why"]:
            checker.problem(
                lines.key(line, "why"),
                f"{label}: key 'why' must say how the case is made to answer like the platform",
            )
        behaviour, case = checker.case_filter(table, line, label, known)
        if behaviour is not None:
            covered.append((behaviour.id, case))
    if checker.problems:
        raise ProfileError(checker.problems)
    return Emulation(fields["name"], fields["platform"], fields["description"], tuple(covered))
