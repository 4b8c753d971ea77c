"""Results files read back, validated, as runs: one platform's records with its identity."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from anonmap.results import SCHEMA, Record, document

MERGED_SCHEMA = "anonmap-merged/1"


class InputError(Exception):
    """A file that cannot be used as input; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Run:
    source: str
    """The file it was read from, as given."""
    run_info: Mapping[str, Any]
    profile: Mapping[str, Any] | None
    emulation: Mapping[str, str] | None
    started_at: str
    records: tuple[Record, ...]

    @property
    def os(self) -> str:
        return str(self.emulation["platform"]) if self.emulation else str(self.run_info.get("os", "?"))

    @property
    def key(self) -> str:
        """What makes two runs the same platform: os, release, architecture, and emulation."""
        info = self.run_info
        if self.emulation:
            return f"{self.emulation['persona']}-{info.get('arch')}"
        return f"{info.get('os')}-{info.get('release')}-{info.get('arch')}"

    @property
    def label(self) -> str:
        info = self.run_info
        title = str(self.profile.get("title")) if self.profile else self.os
        if self.emulation:
            return f"{title} (emulated on {info.get('os')} {info.get('arch')})"
        layers = [str(layer) for layer in info.get("compat", []) if layer != "container"]
        return f"{title} {info.get('release')} {info.get('arch')}" + (
            f" ({', '.join(layers)})" if layers else ""
        )

    def to_json(self) -> dict[str, Any]:
        return document(self.run_info, self.profile, self.records, self.started_at, self.emulation)


def _run(source: str, data: Any) -> Run:
    if not isinstance(data, dict):
        raise InputError(f"{source}: not a results file (a JSON object with 'schema' was expected)")
    schema = data.get("schema")
    if schema != SCHEMA:
        raise InputError(f"{source}: schema {schema!r} is not {SCHEMA!r}, the one this anonmap reads")
    try:
        records = tuple(Record.from_json(r) for r in data["records"])
        return Run(
            source,
            dict(data["run_info"]),
            data.get("profile"),
            data.get("emulation"),
            str(data.get("started_at", "")),
            records,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{source}: a results file, but malformed: {error}") from error


def read(path: Path) -> list[Run]:
    """The runs in a results file (one) or a merged file (several)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}: not valid JSON (truncated or corrupt?): {error.msg} at line {error.lineno}"
        ) from error
    if isinstance(data, dict) and data.get("schema") == MERGED_SCHEMA:
        runs = data.get("runs")
        if not isinstance(runs, list):
            raise InputError(f"{path}: a merged file without a list of runs")
        return [_run(f"{path} (run {index + 1})", run) for index, run in enumerate(runs)]
    return [_run(str(path), data)]


def read_all(paths: Sequence[Path]) -> list[Run]:
    """Every run in ``paths``; two runs of the same platform are an error naming both files."""
    if not paths:
        raise InputError("no results files given")
    runs: list[Run] = []
    seen: dict[str, str] = {}
    for path in paths:
        for run in read(path):
            if run.key in seen:
                raise InputError(
                    f"{run.source}: a second result for platform {run.key} (the first is {seen[run.key]})"
                )
            seen[run.key] = run.source
            runs.append(run)
    return runs


def merged(runs: Iterable[Run]) -> dict[str, Any]:
    return {"schema": MERGED_SCHEMA, "runs": [run.to_json() for run in runs]}
