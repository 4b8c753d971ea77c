"""Result records and the results file: one JSON document per run, written atomically."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from anonmap.files.atomic import write_text
from anonmap.files.checked import Malformed, checked_text, quoted, quoted_names
from anonmap.results.verdicts import Verdict

#: Version 2 names the call interface ``api`` in case parameters (version 1 said ``layer``).
SCHEMA = "anonmap-results/2"
#: Versions read back, each with the case parameters it spelled otherwise.
READABLE = {"anonmap-results/1": {"layer": "api"}, SCHEMA: {}}


@dataclasses.dataclass(frozen=True)
class Record:
    """What one case found. ``expected`` is '' where no profile entry applied."""

    nodeid: str
    behaviour: str
    case: str
    params: Mapping[str, str]
    expected: str
    observed: str
    verdict: Verdict
    cite: tuple[str, ...]
    note: str
    detail: str
    source: str
    """Where the expectation stands: 'platforms/linux.toml:12', or ''."""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["params"] = dict(self.params)
        data["verdict"] = self.verdict.value
        data["cite"] = list(self.cite)
        return data

    @classmethod
    def from_json(cls, data: object) -> Record:
        """A record read back from JSON; Malformed names the key that is wrong and how."""
        if not isinstance(data, Mapping):
            raise Malformed(f"expected an object, found {quoted(data)}")
        names = [field.name for field in dataclasses.fields(cls)]
        missing = sorted(set(names) - set(data))
        if missing:
            raise Malformed(f"record lacks {', '.join(missing)}")
        unknown = sorted(map(str, set(data) - set(names)))
        if unknown:
            raise Malformed(f"unknown key(s) {quoted_names(unknown)}")
        verdict = _verdict(data["verdict"])
        return cls(
            nodeid=checked_text("nodeid", data["nodeid"], empty=False),
            behaviour=checked_text("behaviour", data["behaviour"], empty=False),
            case=checked_text("case", data["case"], empty=False),
            params=_params(data["params"]),
            expected=checked_text("expected", data["expected"]),
            observed=checked_text("observed", data["observed"]),
            verdict=verdict,
            cite=_cite(data["cite"]),
            note=checked_text("note", data["note"], one_line=False),
            detail=checked_text("detail", data["detail"], one_line=False),
            source=checked_text("source", data["source"]),
        )


def _verdict(value: object) -> Verdict:
    text = checked_text("verdict", value)
    try:
        return Verdict(text)
    except ValueError:
        known = ", ".join(verdict.value for verdict in Verdict)
        raise Malformed(f"key 'verdict': {quoted(text)} is not one of {known}") from None


# A parameter name is written as a bare TOML key in a draft profile.
_PARAM_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _params(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise Malformed(f"key 'params': expected an object of strings, found {quoted(value)}")
    for name, item in value.items():
        if not isinstance(name, str) or not _PARAM_NAME.fullmatch(name):
            raise Malformed(f"key 'params': {quoted(name)} is not a parameter name (letters, digits, _, -)")
        checked_text(f"params.{name}", item)
    return dict(value)


def _cite(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Malformed(f"key 'cite': expected a list of strings, found {quoted(value)}")
    return tuple(checked_text(f"cite[{index}]", item, one_line=False) for index, item in enumerate(value))


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
        counts[record.verdict.value] = counts.get(record.verdict.value, 0) + 1
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
    # Chunk by chunk into one buffer: json.dumps(indent=...) first lists every chunk, which a
    # small RLIMIT_DATA at the end of a run cannot always afford.
    buffer = io.StringIO()
    for chunk in json.JSONEncoder(indent=1).iterencode(content):
        buffer.write(chunk)
    buffer.write("\n")
    write_text(path, buffer.getvalue())


def _holds_complete_run(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return (
        isinstance(data, dict) and str(data.get("schema")) in READABLE and data.get("complete", True) is True
    )


def interrupted_path(path: Path) -> Path:
    """Where an incomplete run goes when ``path`` holds a complete one."""
    return path.with_name(f"{path.stem}.interrupted{path.suffix}")


def write_results(path: Path, content: Mapping[str, Any]) -> Path:
    """Write a run's results and return where they went. A complete run replaces ``path`` (and
    drops a stale interrupted one beside it); an incomplete run never replaces a complete one:
    it is written beside it, marked as incomplete either way."""
    target = path
    if not content.get("complete", True) and path.is_file() and _holds_complete_run(path):
        target = interrupted_path(path)
    write_atomically(target, content)
    if target == path and content.get("complete", True) and path.is_file():
        interrupted_path(path).unlink(missing_ok=True)
    return target
