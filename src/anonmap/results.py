"""Result records and the results file: one JSON document per run, written atomically."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from anonmap.atomic import write_text

SCHEMA = "anonmap-results/1"


@dataclasses.dataclass(frozen=True)
class Record:
    """What one case found. ``expected`` is '' where no profile entry applied."""

    nodeid: str
    behaviour: str
    case: str
    params: Mapping[str, str]
    expected: str
    observed: str
    verdict: str
    cite: tuple[str, ...]
    note: str
    detail: str
    source: str
    """Where the expectation stands: 'platforms/linux.toml:12', or ''."""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["params"] = dict(self.params)
        data["cite"] = list(self.cite)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = fields - set(data)
        if missing:
            raise ValueError(f"record lacks {', '.join(sorted(missing))}")
        values = {name: data[name] for name in fields}
        values["cite"] = tuple(values["cite"])
        return cls(**values)


def document(
    run_info: Mapping[str, Any],
    profile: Mapping[str, Any] | None,
    records: Iterable[Record],
    started_at: str,
    emulation: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The results file's content. Records sort by test id, so the file does not depend on
    how many workers ran them."""
    ordered = sorted(records, key=lambda r: r.nodeid)
    counts: dict[str, int] = {}
    for record in ordered:
        counts[record.verdict] = counts.get(record.verdict, 0) + 1
    return {
        "schema": SCHEMA,
        "started_at": started_at,
        "run_info": dict(run_info),
        "profile": dict(profile) if profile is not None else None,
        "emulation": dict(emulation) if emulation is not None else None,
        "counts": dict(sorted(counts.items())),
        "records": [r.to_json() for r in ordered],
    }


def write_atomically(path: Path, content: Mapping[str, Any]) -> None:
    """Write the results JSON to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(content, indent=1) + "\n")
