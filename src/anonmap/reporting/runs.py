"""Results files read back, validated, as runs: one platform's records with its identity.

Validation is complete: a file that passes holds nothing a report could trip over or quietly
drop, and one that fails is refused with one line naming the file, the record and the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
from anonmap.files.bounded import Unreadable, read_regular
from anonmap.files.checked import Malformed, checked_text, quoted, quoted_names
from anonmap.results.records import READABLE, SCHEMA, Record, document

MERGED_SCHEMA = "anonmap-merged/1"
#: A CI job's note that it has no results, and why (.github/scripts/note-missing.sh).
MISSING_SCHEMA = "anonmap-missing/1"
_MISSING = ("schema", "label", "stage", "reason", "log")

#: The largest input read. A results file is about 200 KB and a merged one of ten platforms
#: 2 MB; anything far larger is not one, and is refused before it is read.
MAX_BYTES = 64 * 1024 * 1024

#: The longest number read: counts and page sizes are short, and Python refuses to parse
#: integers of more than 4300 digits with a message about its own limits.
_MAX_DIGITS = 40

_REQUIRED = ("schema", "started_at", "run_info", "profile", "emulation", "counts", "records")
# Written by the suite since it learnt to label runs and to say when one was cut short.
# And since it learnt to judge the freestanding observer's observations made elsewhere.
_OPTIONAL = ("label", "complete", "incomplete_reason", "observed_on")
_OBSERVED_ON = ("by", "on", "file")
_PROFILE = ("name", "title", "path")
_EMULATION = ("persona", "platform", "description")
_IDENTITY = ("os", "release", "arch")
#: The rest of what the probe writes (host.probe.RunInfo), each checked where present: older
#: files lack some, and a newer probe may add keys this version passes over.
_INFO_TEXT = ("kernel", "binary_abi", "libc", "libc_version", "python")
_INFO_LIMITS = ("rlimit_as", "rlimit_data")
_INFO_TABLES = ("compilers", "settings")


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
    ci_label: str | None = None
    """The platform's name in a CI matrix (the results file's ``label``), where it was given one."""
    complete: bool = True
    incomplete_reason: str = ""
    documented: bool = False
    """Made from a profile, not a run: its records hold documented outcomes, none observed."""
    observed_on: Mapping[str, str] | None = None
    """Where the observer made the observations this run judged (by, on, file); None when the
    run observed its own machine."""

    @property
    def os(self) -> str:
        return str(self.emulation["platform"]) if self.emulation else str(self.run_info.get("os", "?"))

    @property
    def key(self) -> str:
        """What makes two runs the same platform: the CI label it was given, or else os,
        release, architecture, and emulation."""
        if self.ci_label:
            return self.ci_label
        info = self.run_info
        if self.emulation:
            return f"{self.emulation['persona']}-{info.get('arch')}"
        return f"{info.get('os')}-{info.get('release')}-{info.get('arch')}"

    @property
    def overridden(self) -> bool:
        """Judged against another platform's profile (--anonmap-platform), not emulating it:
        profiles are named for the os they describe."""
        return (
            self.profile is not None
            and not self.emulation
            and self.profile["name"] != self.run_info.get("os")
        )

    @property
    def kind(self) -> str:
        """Real, emulated, judged against another platform's profile, or only documented."""
        if self.documented:
            return "documented only"
        if self.observed_on:
            return f"observed by {self.observed_on['by']} on {self.observed_on['on']}"
        if self.emulation:
            return f"emulated ({self.emulation['persona']})"
        if self.overridden and self.profile:
            return f"profile override ({self.profile['name']} on {self.run_info.get('os')})"
        return "real"

    @property
    def label(self) -> str:
        info = self.run_info
        title = str(self.profile.get("title")) if self.profile else self.os
        if self.emulation:
            return f"{title} (emulated on {info.get('os')} {info.get('arch')})"
        if self.documented:
            return f"{title} {info.get('release')} {info.get('arch')} (documented)"
        if self.overridden:
            return f"{title} profile on {info.get('os')} {info.get('release')} {info.get('arch')}"
        layers = [str(layer) for layer in info.get("compat", []) if layer != "container"]
        incomplete = " INCOMPLETE" if not self.complete else ""
        return (
            f"{title} {info.get('release')} {info.get('arch')}"
            + (f" ({', '.join(layers)})" if layers else "")
            + incomplete
        )

    def to_json(self) -> dict[str, Any]:
        content = document(self.run_info, self.profile, self.records, self.started_at, self.emulation)
        if self.ci_label is not None:
            content["label"] = self.ci_label
        if not self.complete:
            content["complete"] = False
        if self.incomplete_reason:
            content["incomplete_reason"] = self.incomplete_reason
        if self.observed_on:
            content["observed_on"] = dict(self.observed_on)
        return content


def _check_keys(
    where: str, data: Mapping[str, object], required: Collection[str], optional: Collection[str] | None
) -> None:
    """Every key in ``required`` present, and (unless ``optional`` is None) no key but those."""
    missing = [key for key in required if key not in data]
    if missing:
        raise Malformed(f"{where}lacks key(s) {quoted_names(missing)}")
    if optional is not None:
        unknown = sorted(set(data) - set(required) - set(optional))
        if unknown:
            raise Malformed(f"{where}unknown key(s) {quoted_names(unknown)}")


def _strings(where: str, value: object) -> None:
    """Every string in a free-form value (keys too) is Unicode text."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                checked_text(where, key, one_line=False)
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            checked_text(where, item, one_line=False)


def _run_info(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"key 'run_info': expected an object, found {quoted(value)}")
    # Only what the reports read is checked closely; the rest is what the probe found.
    _check_keys("key 'run_info': ", value, _IDENTITY, None)
    for key in _IDENTITY:
        checked_text(f"run_info.{key}", value[key], empty=False)
    compat = value.get("compat", [])
    if not isinstance(compat, list):
        raise Malformed(f"key 'run_info.compat': expected a list of strings, found {quoted(compat)}")
    for index, layer in enumerate(compat):
        checked_text(f"run_info.compat[{index}]", layer, empty=False)
    _probed(value)
    _strings("run_info", value)
    return value


def _count(key: str, value: object, *, null: bool) -> None:
    if value is None and null:
        return
    if type(value) is not int or value <= 0 or value.bit_length() > 64:
        raise Malformed(
            f"key {key!r}: expected {'null or ' if null else ''}a positive number, found {quoted(value)}"
        )


def _probed(info: Mapping[str, object]) -> None:
    """What the probe found beyond the identity, each of the type the probe writes."""
    for key in _INFO_TEXT:
        if key in info:
            checked_text(f"run_info.{key}", info[key])
    if "page_size" in info:
        _count("run_info.page_size", info["page_size"], null=False)
    for key in _INFO_LIMITS:
        if key in info:
            _count(f"run_info.{key}", info[key], null=True)
    for key in _INFO_TABLES:
        table = info.get(key, {})
        if not isinstance(table, dict):
            raise Malformed(
                f"key 'run_info.{key}': expected an object of names and text, found {quoted(table)}"
            )
        for name, text in table.items():
            checked_text(f"run_info.{key}.{name}", text)
    capabilities = info.get("capabilities", {})
    if not isinstance(capabilities, dict):
        raise Malformed(f"key 'run_info.capabilities': expected an object, found {quoted(capabilities)}")
    for name, state in capabilities.items():
        if not (isinstance(state, dict) and set(state) == {"available", "detail"}):
            raise Malformed(
                f"key 'run_info.capabilities.{name}': expected {{available, detail}}, found {quoted(state)}"
            )
        if not isinstance(state["available"], bool):
            raise Malformed(
                f"key 'run_info.capabilities.{name}.available': expected true or false, found {quoted(state['available'])}"
            )
        checked_text(f"run_info.capabilities.{name}.detail", state["detail"], one_line=False)


def _object_of_text(key: str, value: object, keys: Sequence[str], free: str = "") -> dict[str, str] | None:
    """None, or an object of exactly ``keys``, each one line of text except ``free``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"key {key!r}: expected null or an object, found {quoted(value)}")
    _check_keys(f"key {key!r}: ", value, keys, ())
    for name in keys:
        checked_text(f"{key}.{name}", value[name], one_line=name != free, empty=name == free)
    return value


def _started_at(value: object) -> str:
    text = checked_text("started_at", value, empty=False)
    try:
        datetime.datetime.fromisoformat(text)
    except ValueError as error:
        raise Malformed(f"key 'started_at': {quoted(text)} is not an ISO 8601 time") from error
    return text


def _vocabulary(record: Record) -> None:
    """What a report needs of a record beyond its shape: a behaviour this anonmap shows (the
    matrix has no row for any other) and outcome words."""
    if record.behaviour not in behaviours():
        raise Malformed(f"key 'behaviour': {quoted(record.behaviour)} is not a behaviour this anonmap knows")
    if record.expected and outcomes.invalid_words(record.expected):
        raise Malformed(f"key 'expected': {quoted(record.expected)} is not an expected outcome")
    if record.observed and not outcomes.is_outcome(record.observed):
        raise Malformed(f"key 'observed': {quoted(record.observed)} is not an outcome")


def _records(value: object) -> tuple[Record, ...]:
    if not isinstance(value, list):
        raise Malformed(f"key 'records': expected a list of records, found {quoted(value)}")
    records: list[Record] = []
    by_nodeid: dict[str, int] = {}
    by_case: dict[tuple[str, str], int] = {}
    for number, item in enumerate(value, 1):
        try:
            record = Record.from_json(item)
            _vocabulary(record)
        except Malformed as error:
            raise Malformed(f"record {number}: {error}") from error
        if record.nodeid in by_nodeid:
            raise Malformed(
                f"record {number}: key 'nodeid': {quoted(record.nodeid)} again (record {by_nodeid[record.nodeid]})"
            )
        case = (record.behaviour, record.case)
        if case in by_case:
            # A report shows one cell per case: a second record of it would vanish.
            raise Malformed(
                f"record {number}: key 'case': {quoted(record.case)} of {record.behaviour} again (record {by_case[case]})"
            )
        by_nodeid[record.nodeid] = by_case[case] = number
        records.append(record)
    return tuple(records)


def _check_counts(value: object, records: Sequence[Record]) -> None:
    found = dict(sorted(Counter(record.verdict.value for record in records).items()))
    if not isinstance(value, dict) or not all(type(count) is int for count in value.values()):
        raise Malformed(f"key 'counts': expected an object of verdict counts, found {quoted(value)}")
    if value != found:
        raise Malformed(f"key 'counts': {quoted(value)} is not what the records count, {quoted(found)}")


def _completeness(data: Mapping[str, object]) -> tuple[bool, str]:
    complete = data.get("complete", True)
    if not isinstance(complete, bool):
        raise Malformed(f"key 'complete': expected true or false, found {quoted(complete)}")
    reason = checked_text("incomplete_reason", data.get("incomplete_reason", ""), one_line=False)
    if complete and reason:
        raise Malformed("key 'incomplete_reason': given for a run that says it is complete")
    return complete, reason


def _ci_label(value: object) -> str | None:
    return None if value is None else checked_text("label", value, empty=False)


def _checked_run(source: str, data: dict[str, Any]) -> Run:
    _check_keys("", data, _REQUIRED, _OPTIONAL)
    records = _records(data["records"])
    _check_counts(data["counts"], records)
    complete, reason = _completeness(data)
    return Run(
        source,
        _run_info(data["run_info"]),
        _object_of_text("profile", data["profile"], _PROFILE),
        _object_of_text("emulation", data["emulation"], _EMULATION, free="description"),
        _started_at(data["started_at"]),
        records,
        _ci_label(data.get("label")),
        complete,
        reason,
        observed_on=_object_of_text("observed_on", data.get("observed_on"), _OBSERVED_ON),
    )


def _current(data: dict[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """An older version's document in this version's words (its renamed case parameters)."""
    if not renamed or not isinstance(data.get("records"), list):
        return data
    records = [
        {**r, "params": {renamed.get(k, k): v for k, v in r["params"].items()}}
        if isinstance(r, dict) and isinstance(r.get("params"), dict)
        else r
        for r in data["records"]
    ]
    return {**data, "schema": SCHEMA, "records": records}


def _run(source: str, data: object) -> Run:
    if not isinstance(data, dict):
        raise InputError(f"{source}: not a results file (a JSON object with 'schema' was expected)")
    schema = data.get("schema")
    if not isinstance(schema, str) or schema not in READABLE:
        raise InputError(
            f"{source}: schema {quoted(schema)} is not one this anonmap reads ({', '.join(map(repr, READABLE))})"
        )
    try:
        return _checked_run(source, _current(data, READABLE[schema]))
    except Malformed as error:
        raise InputError(f"{source}: a results file, but malformed: {error}") from error


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing (before reading a byte) anything but a regular file of at
    most MAX_BYTES: a FIFO would block, /dev/zero would never end."""
    try:
        return read_regular(path, MAX_BYTES, "a results file")
    except Unreadable as error:
        raise InputError(str(error)) from error


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):
        # json keeps the last of a repeated key; a file that says two things is refused instead.
        twice = next(key for key, times in Counter(key for key, _ in pairs).items() if times > 1)
        raise ValueError(f"key {quoted(twice)} appears twice in one object")
    return data


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits, more than anonmap writes")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _load(path: Path) -> object:
    data = _read_bytes(path)
    if not data:
        raise InputError(f"{path}: not valid JSON (truncated or corrupt?): the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start}"
        ) from error
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_integer,
            parse_float=_finite,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}: not valid JSON (truncated or corrupt?): {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error
    except RecursionError as error:
        raise InputError(f"{path}: not valid JSON for anonmap: nested too deeply") from error
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON for anonmap: {error}") from error


def _merged_absent(value: object) -> list[NoResults]:
    if not isinstance(value, list):
        raise Malformed(f"key 'absent': expected a list, found {quoted(value)}")
    found = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise Malformed(f"absent {index + 1}: expected an object, found {quoted(entry)}")
        _check_keys(f"absent {index + 1}: ", entry, ("label", "reason", "stage"), ())
        found.append(
            NoResults(
                checked_text("label", entry["label"], empty=False),
                checked_text("reason", entry["reason"], empty=False),
                checked_text("stage", entry["stage"]),
            )
        )
    return found


def _merged_runs(path: Path, data: dict[str, Any]) -> tuple[list[Run], list[NoResults]]:
    try:
        _check_keys("", data, ("schema", "runs"), ("absent",))
        missing = _merged_absent(data.get("absent", []))
    except Malformed as error:
        raise InputError(f"{path}: a merged file, but malformed: {error}") from error
    runs = data["runs"]
    if not isinstance(runs, list) or not runs:
        raise InputError(f"{path}: a merged file without a list of runs (key 'runs': {quoted(runs)})")
    return [_run(f"{path} (run {index + 1})", run) for index, run in enumerate(runs)], missing


@dataclasses.dataclass(frozen=True)
class NoResults:
    """A platform that should have results and has none, and why."""

    label: str
    reason: str
    stage: str = ""
    """Where it was lost (setup, install, vm), as its job's note says; '' without a note."""


def _absent(path: Path, data: dict[str, Any]) -> NoResults:
    try:
        _check_keys("", data, _MISSING, ())
        label = checked_text("label", data["label"], empty=False)
        stage = checked_text("stage", data["stage"], empty=False)
        reason = checked_text("reason", data["reason"], empty=False)
        checked_text("log", data["log"])
    except Malformed as error:
        raise InputError(f"{path}: a missing-results note, but malformed: {error}") from error
    return NoResults(label, reason, stage)


def _runs_and_notes(path: Path) -> tuple[list[Run], list[NoResults]]:
    data = _load(path)
    if isinstance(data, dict) and data.get("schema") == MERGED_SCHEMA:
        return _merged_runs(path, data)
    if isinstance(data, dict) and data.get("schema") == MISSING_SCHEMA:
        return [], [_absent(path, data)]
    return [_run(str(path), data)], []


def read(path: Path) -> list[Run]:
    """The runs in a results file (one) or a merged file (several)."""
    runs, notes = _runs_and_notes(path)
    if not runs:
        raise InputError(f"{path}: a note that platform {notes[0].label} has no results, not a results file")
    return runs


def read_inputs(paths: Sequence[Path]) -> tuple[list[Run], list[NoResults]]:
    """Every run in ``paths``, and every platform a note says has none; two runs of the same
    platform are an error naming both files."""
    if not paths:
        raise InputError("no results files given")
    runs: list[Run] = []
    notes: list[NoResults] = []
    seen: dict[str, str] = {}
    for path in paths:
        found, noted = _runs_and_notes(path)
        notes += noted
        for run in found:
            if run.key in seen:
                raise InputError(
                    f"{run.source}: a second result for platform {run.key} (the first is {seen[run.key]})"
                )
            seen[run.key] = run.source
            runs.append(run)
    return runs, notes


def absent(runs: Sequence[Run], notes: Sequence[NoResults], expected: Sequence[str]) -> list[NoResults]:
    """The platforms with no results: each expected one no run is labelled with, and each one
    a note names (its reason from the note), in the order expected, then noted."""
    present = {run.ci_label for run in runs if run.ci_label}
    noted = {note.label: note for note in notes}
    found: dict[str, NoResults] = {}
    for label in expected:
        if label not in present:
            found[label] = noted.get(label) or NoResults(
                label, "no results and no note: its job did not run, or did not upload"
            )
    for note in notes:
        if note.label not in present:
            found.setdefault(note.label, note)
    return list(found.values())


def merged(runs: Iterable[Run], missing: Iterable[NoResults] = ()) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": MERGED_SCHEMA, "runs": [run.to_json() for run in runs]}
    if absent_list := [dataclasses.asdict(a) for a in missing]:
        content["absent"] = absent_list
    return content
