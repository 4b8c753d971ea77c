"""Profiles: what each platform's documentation and kernel source say it does.

``load_profile`` validates a ``platforms/*.toml`` file completely and reports every problem as
``file:line: what is wrong``. A case no entry covers is not a problem: it runs and is recorded
``unprofiled`` (``uncovered`` names such cases; the selftests demand none in shipped profiles). ``Profile.expectation`` picks, for one case on one run, the entry
that applies: among the entries whose ``case`` keys all match and whose ``when`` holds, the one
naming the most case keys; of equally specific ones, the last in the file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.catalogue import Behaviour, Case, apis, behaviours
from anonmap.expect.conditions import condition_errors, holds
from anonmap.files.tomlread import Lines, TOMLDecodeError, loads
from anonmap.host.probe import RunInfo

_TOP_LEVEL = {"platform", "constant", "expect"}
_PLATFORM_KEYS = {"os", "title", "sources", "unavailable"}
_EXPECT_KEYS = {"behaviour", "case", "outcome", "cite", "note", "when", "known"}
_KNOWN_KEYS = {"observed", "bug"}
_CONSTANT_KEYS = {"name", "value", "cite", "note", "when"}
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)|\(at end of document\)")


class ProfileError(Exception):
    """Every problem found in one profile, one ``file:line: problem`` per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclasses.dataclass(frozen=True)
class Entry:
    """One [[expect]] or [[constant]] table, with where it stands."""

    line: int
    case: Mapping[str, tuple[str, ...]]
    when: Mapping[str, object]
    cite: tuple[str, ...]
    note: str


@dataclasses.dataclass(frozen=True)
class Expectation(Entry):
    behaviour: str
    outcome: str
    known_observed: str = ""
    """What a reported bug makes the platform do instead ('' when no bug is known)."""
    known_bug: str = ""
    """Where the bug is reported: a URL or a tracker's id."""
    path: Path | None = None
    """The file the entry stands in (a platform's profile, or a shared facts file)."""


@dataclasses.dataclass(frozen=True)
class Constant(Entry):
    name: str
    value: int


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    os: tuple[str, ...]
    title: str
    sources: tuple[str, ...]
    expectations: tuple[Expectation, ...]
    constants: tuple[Constant, ...]
    shared: tuple[Profile, ...] = ()
    """Facts true on every platform (``platforms/shared/*.toml``), consulted where none of this
    profile's own entries applies: a platform's entry always overrides a shared one."""
    unavailable: Mapping[str, Expectation] = dataclasses.field(default_factory=dict)
    """The call interfaces this platform does not have ([platform] unavailable, by api): their
    cases are 'unknown' here, with the reason, whatever the entries say of the other apis."""

    def expectation(self, case: Case, info: RunInfo) -> Expectation | None:
        """The entry that decides ``case`` on this run, or None where none applies: this
        profile's most specific applicable entry, else the shared facts'."""
        api = self.unavailable.get(case.params.get("api", ""))
        if api is not None:
            return dataclasses.replace(api, behaviour=case.behaviour)
        own = self._own_expectation(case, info)
        if own is not None:
            return own
        return next((e for s in self.shared if (e := s.expectation(case, info)) is not None), None)

    def _own_expectation(self, case: Case, info: RunInfo) -> Expectation | None:
        best: Expectation | None = None
        for entry in self.expectations:
            if not case.matches(entry.behaviour, entry.case) or not holds(entry.when, info):
                continue
            if best is None or len(entry.case) >= len(best.case):
                best = entry
        return best

    def constant_values(self, info: RunInfo) -> dict[str, Constant]:
        """The constants that apply on this run, by name (the last applicable entry wins)."""
        return {c.name: c for c in self.constants if holds(c.when, info)}


def strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


class Checker:
    def __init__(self, path: Path, lines: Lines) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[str] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {message}")

    def common(self, table: dict[str, object], line: int, label: str, allowed: set[str]) -> Entry:
        for key in sorted(set(table) - allowed):
            self.problem(
                self.lines.key(line, key),
                f"{label}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
            )
        cite = table.get("cite")
        if not (isinstance(cite, list) and cite and all(isinstance(c, str) and c.strip() for c in cite)):
            self.problem(
                self.lines.key(line, "cite"),
                f"{label}: key 'cite' must be a non-empty list of sources (man page, kernel file and function)",
            )
            cite = []
        when = table.get("when", {})
        if not isinstance(when, dict):
            self.problem(self.lines.key(line, "when"), f"{label}: key 'when' must be a table of conditions")
            when = {}
        for field, message in condition_errors(when):
            self.problem(self.lines.key(line, "when"), f"{label}: key 'when.{field}': {message}")
        note = table.get("note", "")
        if not isinstance(note, str):
            self.problem(self.lines.key(line, "note"), f"{label}: key 'note' must be a string")
            note = ""
        return Entry(line, {}, when, tuple(cite), note)

    def expectation(
        self, table: dict[str, object], line: int, index: int, known: Mapping[str, Behaviour]
    ) -> Expectation | None:
        label = f"expect #{index + 1}"
        entry = self.common(table, line, label, _EXPECT_KEYS)
        behaviour, case = self.case_filter(table, line, label, known)
        outcome = table.get("outcome")
        if not isinstance(outcome, str) or outcomes.invalid_words(outcome):
            self.problem(
                self.lines.key(line, "outcome"),
                f"{label}: key 'outcome': {outcome!r} is not an outcome word or words joined by '|' (see anonmap.expect.outcomes)",
            )
            outcome = None
        known_observed, known_bug = self.known(table.get("known"), line, label)
        if behaviour is None or outcome is None:
            return None
        return Expectation(
            line,
            case,
            entry.when,
            entry.cite,
            entry.note,
            behaviour.id,
            outcome,
            known_observed,
            known_bug,
            self.path,
        )

    def known(self, raw: object, line: int, label: str) -> tuple[str, str]:
        """A known bug: ``known = { observed = "EINVAL", bug = "URL or id" }``, checked."""
        if raw is None:
            return "", ""
        where = self.lines.key(line, "known")
        if not isinstance(raw, dict) or set(raw) != _KNOWN_KEYS:
            self.problem(where, f"{label}: key 'known' must be a table with exactly 'observed' and 'bug'")
            return "", ""
        observed, bug = raw["observed"], raw["bug"]
        if not isinstance(observed, str) or observed == outcomes.UNKNOWN or outcomes.invalid_words(observed):
            self.problem(
                where,
                f"{label}: key 'known.observed': {observed!r} is not an outcome word or words joined by '|'",
            )
            return "", ""
        if not (isinstance(bug, str) and bug.strip()):
            self.problem(where, f"{label}: key 'known.bug' must name the bug (a URL or a tracker's id)")
            return "", ""
        return observed, bug

    def case_filter(
        self, table: dict[str, object], line: int, label: str, known: Mapping[str, Behaviour]
    ) -> tuple[Behaviour | None, dict[str, tuple[str, ...]]]:
        """The behaviour a table names and the case parameters it narrows to, checked."""
        behaviour_id = table.get("behaviour")
        behaviour = known.get(behaviour_id) if isinstance(behaviour_id, str) else None
        if behaviour is None:
            self.problem(
                self.lines.key(line, "behaviour"),
                f"{label}: key 'behaviour': {behaviour_id!r} is not a behaviour (known: {', '.join(known)})",
            )
        case: dict[str, tuple[str, ...]] = {}
        raw_case = table.get("case", {})
        if not isinstance(raw_case, dict):
            self.problem(
                self.lines.key(line, "case"), f"{label}: key 'case' must be a table of case parameters"
            )
            raw_case = {}
        parameters = behaviour.parameters if behaviour else {}
        for key, value in raw_case.items():
            values = strings(value)
            if behaviour is None:
                continue
            if key not in parameters:
                self.problem(
                    self.lines.key(line, "case"),
                    f"{label}: key 'case.{key}': behaviour {behaviour.id!r} has no parameter {key!r} (it has: {', '.join(parameters)})",
                )
            elif values is None or not set(values) <= parameters[key]:
                self.problem(
                    self.lines.key(line, "case"),
                    f"{label}: key 'case.{key}': {value!r} is not among its values ({', '.join(sorted(parameters[key]))})",
                )
            else:
                case[key] = values
        return behaviour, case

    def constant(self, table: dict[str, object], line: int, index: int) -> Constant | None:
        label = f"constant #{index + 1}"
        entry = self.common(table, line, label, _CONSTANT_KEYS)
        name, value = table.get("name"), table.get("value")
        if not (isinstance(name, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", name)):
            self.problem(
                self.lines.key(line, "name"),
                f"{label}: key 'name' must be a constant's name such as 'MAP_FIXED'",
            )
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.problem(
                self.lines.key(line, "value"),
                f"{label}: key 'value' must be a non-negative integer (write it in hex, as the header does)",
            )
            return None
        return Constant(line, {}, entry.when, entry.cite, entry.note, name, value)


def tables(
    document: dict[str, object], name: str, checker: Checker
) -> Iterator[tuple[int, dict[str, object]]]:
    raw = document.get(name, [])
    if not isinstance(raw, list):
        checker.problem(checker.lines.table(name), f"'{name}' must be written as [[{name}]] tables")
        return
    yield from enumerate(raw)


def read_document(path: Path, what: str) -> tuple[dict[str, object], Lines]:
    """Parse a TOML file, or raise ``ProfileError`` naming the line of the syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError([f"{path}:1: cannot read the {what}: {error}"]) from error
    try:
        document = loads(text)
    except TOMLDecodeError as error:
        position = _TOML_POSITION.search(str(error))
        # tomllib names no line for an error at the end: that is the file's last line.
        line = (position.group(1) or str(max(1, len(text.splitlines())))) if position else "1"
        raise ProfileError(
            [f"{path}:{line}: not valid TOML: {_TOML_POSITION.sub('', str(error)).strip()}"]
        ) from error
    return document, Lines(text)


def load_profile(path: Path) -> Profile:
    """Read and validate one profile; ``ProfileError`` lists everything wrong with it."""
    document, lines = read_document(path, "profile")
    checker = Checker(path, lines)
    for key in sorted(set(document) - _TOP_LEVEL):
        checker.problem(
            lines.table(key) if key in lines.tables else lines.key(0, key),
            f"unknown top-level key {key!r} (allowed: {', '.join(sorted(_TOP_LEVEL))})",
        )
    platform = document.get("platform")
    platform_line = lines.table("platform")
    os_names: tuple[str, ...] = ()
    unavailable: dict[str, Expectation] = {}
    title = ""
    sources: tuple[str, ...] = ()
    if not isinstance(platform, dict):
        checker.problem(1, "missing [platform] table (with os = the run_info os values it describes)")
    else:
        for key in sorted(set(platform) - _PLATFORM_KEYS):
            checker.problem(
                lines.key(platform_line, key),
                f"[platform]: unknown key {key!r} (allowed: {', '.join(sorted(_PLATFORM_KEYS))})",
            )
        os_names = strings(platform.get("os")) or ()
        unavailable = _unavailable(
            platform.get("unavailable", {}), lines.key(platform_line, "unavailable"), checker, path
        )
        if not os_names:
            checker.problem(
                lines.key(platform_line, "os"),
                "[platform]: key 'os' must name the run_info os value(s) this profile describes",
            )
        title = str(platform.get("title", path.stem))
        sources = strings(platform.get("sources", [])) or ()
    known = behaviours()
    expectations = [
        e
        for index, table in tables(document, "expect", checker)
        if (e := checker.expectation(table, lines.table("expect", index), index, known))
    ]
    constants = [
        c
        for index, table in tables(document, "constant", checker)
        if (c := checker.constant(table, lines.table("constant", index), index))
    ]
    if checker.problems:
        raise ProfileError(checker.problems)
    return Profile(
        path.stem,
        path,
        os_names,
        title,
        sources,
        tuple(expectations),
        tuple(constants),
        unavailable=unavailable,
    )


def _unavailable(value: object, line: int, checker: Checker, path: Path) -> dict[str, Expectation]:
    """[platform] unavailable: each api the platform lacks, with why (one sentence)."""
    known = set(apis())
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        checker.problem(line, "[platform]: key 'unavailable' must map each api the platform lacks to why")
        return {}
    for api in sorted(set(value) - known):
        checker.problem(
            line, f"[platform]: key 'unavailable': {api!r} is not an api (known: {', '.join(sorted(known))})"
        )
    return {
        api: Expectation(line, {"api": (api,)}, {}, (), reason, "", outcomes.UNKNOWN, path=path)
        for api, reason in value.items()
        if api in known
    }


def uncovered(profile: Profile) -> dict[str, list[str]]:
    """The cases no entry of ``profile`` (or of its shared facts) speaks for, by behaviour. A
    run records them ``unprofiled``; the selftests hold the shipped profiles to covering every case."""
    entries = [*profile.expectations, *(e for shared in profile.shared for e in shared.expectations)]
    found: dict[str, list[str]] = {}
    for behaviour in behaviours().values():
        missing = [
            case.id
            for case in behaviour.cases
            if case.params.get("api") not in profile.unavailable
            and not any(case.matches(e.behaviour, e.case) for e in entries)
        ]
        if missing:
            found[behaviour.id] = missing
    return found


def profile_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.toml"))


#: Where shared facts stand, beside the platforms' profiles.
SHARED = "shared"
#: The os a shared facts file names: it applies on every platform.
EVERY_OS = "*"


def load_shared(directory: Path) -> tuple[Profile, ...]:
    """The shared facts files in ``directory/shared``, validated; ties refused (see below)."""
    found = []
    for path in sorted((directory / SHARED).glob("*.toml")):
        shared = load_profile(path)
        problems = (
            []
            if shared.os == (EVERY_OS,)
            else [f'{path}:1: [platform] os must be ["{EVERY_OS}"] in a shared facts file']
        )
        problems += _ties(shared)
        if problems:
            raise ProfileError(problems)
        found.append(shared)
    return tuple(found)


def _ties(profile: Profile) -> list[str]:
    """Entries of equal specificity that could decide one case differently: within a platform's
    profile the later wins, but a shared fact must not depend on the order it is written in."""
    problems = []
    entries = profile.expectations
    for index, first in enumerate(entries):
        for second in entries[index + 1 :]:
            if first.behaviour != second.behaviour or len(first.case) != len(second.case):
                continue
            if first.outcome == second.outcome:
                continue
            both = [
                c.id
                for c in behaviours()[first.behaviour].cases
                if c.matches(first.behaviour, first.case) and c.matches(second.behaviour, second.case)
            ]
            if both:
                problems.append(
                    f"{profile.path}:{second.line}: ambiguous: this entry and the one at line {first.line} "
                    f"decide {first.behaviour} case(s) {', '.join(both)} differently with equal specificity"
                )
    return problems


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; a name built from what a file or option said (an os name of
    hundreds of characters, a NUL) may be one no file system can hold, and is then none."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def find_profile(directory: Path, info: RunInfo, name: str | None = None) -> Profile | None:
    """The profile named ``name``, or else ``<os>.toml`` for this run's os (None if absent),
    with the shared facts beside it."""
    if name is not None:
        path = directory / f"{name}.toml"
        if not _is_file(path):
            available = ", ".join(p.stem for p in profile_paths(directory)) or "none"
            raise ProfileError([f"{path}:1: no such profile (available: {available})"])
        return dataclasses.replace(load_profile(path), shared=load_shared(directory))
    path = directory / f"{info.os}.toml"
    if not _is_file(path):
        return None
    profile = load_profile(path)
    if info.os not in profile.os:
        raise ProfileError(
            [f"{path}:1: [platform] os does not list {info.os!r}, the os this file is named for"]
        )
    return dataclasses.replace(profile, shared=load_shared(directory))
