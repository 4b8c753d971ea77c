"""The behaviours the suite checks and their cases, read from ``data/behaviours.toml``.

The catalogue describes itself: every parameter a case may vary and every value it may take is
declared once in its glossary (``[parameter.NAME]``), with its meaning; every cause a
difference may have, once in ``[cause.NAME]``, with what a porter changes. ``behaviours()``
validates the whole file and raises ``CatalogueError`` naming ``file:line: key`` for each
problem, so a typo stops a run before any check runs instead of failing in the checks.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Collection, Iterator, Mapping
from importlib import resources
from typing import Any

from anonmap.files.tomlread import Lines, TOMLDecodeError, loads
from anonmap.host.probe import Capability

_BEHAVIOUR_KEYS = {"id", "title", "claim", "claim_source", "idiom", "notes", "cause", "matrix"}
_REQUIRED_TEXT = ("id", "title", "claim", "claim_source", "idiom", "cause")
_PARAMETER_KEYS = {"meaning", "values", "bare", "interface"}
_CAUSE_KEYS = ("summary", "idiom")
#: Keys of a [[behaviour.matrix]] block that are not parameters.
_BLOCK_KEYS = ("requires", "cause")


class CatalogueError(Exception):
    """Every problem in the catalogue, one ``file:line: problem`` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One thing cases vary, as the glossary declares it."""

    name: str
    meaning: str
    values: Mapping[str, str]
    """Each value it may take, with what that value means."""
    bare: bool
    """Whether a case id shows the value alone (``libc``) rather than ``key=value``."""
    interface: bool = False
    """Whether its values are ways of making one call (libc, Python, the raw system call; a C
    compiler): a porter reads the cases that differ only in it, and agree, as one."""


@dataclasses.dataclass(frozen=True)
class Cause:
    """Why cases differ between platforms, as a porter acts on it: what must change, and how."""

    name: str
    summary: str
    idiom: str


@dataclasses.dataclass(frozen=True)
class Case:
    behaviour: str
    params: Mapping[str, str]
    requires: tuple[Capability, ...]
    id: str
    """The values in order: bare ones alone, the rest as key=value (see ``Parameter.bare``)."""
    cause: str = ""
    """The name of its cause (``[cause.NAME]``): its block's, else its behaviour's."""

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def matches(self, behaviour: str, narrowed: Mapping[str, tuple[str, ...]]) -> bool:
        """Whether a profile or manifest entry (a behaviour, and values allowed per parameter)
        covers this case."""
        return behaviour == self.behaviour and all(self.params.get(k) in v for k, v in narrowed.items())


@dataclasses.dataclass(frozen=True)
class Behaviour:
    id: str
    title: str
    claim: str
    claim_source: str
    idiom: str
    notes: str
    """What a report should add: where the seed or the documentation misleads."""
    cases: tuple[Case, ...]
    glossary: Mapping[str, Parameter]
    """The parameters its cases vary, in the order they first appear."""
    cause: str = ""
    """The name of the cause its cases have unless their block names another."""

    @property
    def parameters(self) -> dict[str, set[str]]:
        """Every parameter the cases use, with every value it takes."""
        found: dict[str, set[str]] = {}
        for case in self.cases:
            for key, value in case.params.items():
                found.setdefault(key, set()).add(value)
        return found


class _Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = Lines(text)
        self.problems: list[str] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {message}")


def _tables(
    raw: object, kind: str, allowed: Collection[str], check: _Checker, missing: str
) -> Iterator[tuple[str, dict[str, Any], int, str]]:
    """Each [KIND.NAME] table as (name, table, line, label), once checked to be a table of
    ``allowed`` keys; ``missing`` says what is wanted when there are none."""
    if not isinstance(raw, dict):
        check.problem(1, missing)
        return
    for name, table in raw.items():
        line = check.lines.table(f"{kind}.{name}")
        label = f"[{kind}.{name}]"
        if not isinstance(table, dict):
            check.problem(line, f"{label} must be a table")
            continue
        for key in sorted(set(table) - set(allowed)):
            check.problem(
                check.lines.key(line, key),
                f"{label}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
            )
        yield name, table, line, label


def _glossary(raw: object, check: _Checker) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    missing = "missing the glossary: a [parameter.NAME] table for each parameter cases vary"
    for name, table, line, label in _tables(raw, "parameter", _PARAMETER_KEYS, check, missing):
        meaning, values = table.get("meaning"), table.get("values")
        if not (isinstance(meaning, str) and meaning.strip()):
            check.problem(
                check.lines.key(line, "meaning"), f"{label}: key 'meaning' must say what the parameter is"
            )
        if not (
            isinstance(values, dict)
            and values
            and all(isinstance(v, str) and v.strip() for v in values.values())
        ):
            check.problem(
                check.lines.key(line, "values"), f"{label}: key 'values' must map each value to its meaning"
            )
            values = {}
        flags = {key: table.get(key, False) for key in ("bare", "interface")}
        for key, flag in flags.items():
            if not isinstance(flag, bool):
                check.problem(check.lines.key(line, key), f"{label}: key {key!r} must be true or false")
                flags[key] = False
        found[name] = Parameter(name, str(meaning), dict(values), **flags)
    return found


def _causes(raw: object, check: _Checker) -> dict[str, Cause]:
    found: dict[str, Cause] = {}
    missing = "missing the causes: a [cause.NAME] table for each cause behaviours name"
    for name, table, line, label in _tables(raw, "cause", _CAUSE_KEYS, check, missing):
        texts = [table.get(key) for key in _CAUSE_KEYS]
        for key, text in zip(_CAUSE_KEYS, texts, strict=True):
            if not (isinstance(text, str) and text.strip()):
                check.problem(check.lines.key(line, key), f"{label}: key {key!r} must be a non-empty string")
        found[name] = Cause(name, *(str(text) for text in texts))
    return found


def _cause(name: object, where: int, label: str, causes: Mapping[str, Cause], check: _Checker) -> str:
    """A cause's name as given, once checked to be one ``[cause.NAME]`` declares."""
    if not (isinstance(name, str) and name in causes):
        check.problem(
            where,
            f"{label}: key 'cause': {name!r} is not a cause [cause.NAME] declares ({', '.join(causes)})",
        )
        return ""
    return name


def _block_cases(
    behaviour_id: str,
    block: object,
    line: int,
    glossary: Mapping[str, Parameter],
    check: _Checker,
    cause: str,
    causes: Mapping[str, Cause],
) -> list[Case]:
    label = f"behaviour {behaviour_id!r}, matrix block at line {line}"
    if not isinstance(block, dict):
        check.problem(line, f"{label}: must be a table")
        return []
    requires: list[Capability] = [Capability.FORK]
    for name in block.get("requires", []):
        try:
            requires.append(Capability(name))
        except ValueError:
            known = ", ".join(c.value for c in Capability)
            check.problem(
                check.lines.key(line, "requires"),
                f"{label}: key 'requires': {name!r} is not a capability ({known})",
            )
    if "cause" in block:
        cause = _cause(block["cause"], check.lines.key(line, "cause"), label, causes, check)
    axes: dict[str, list[str]] = {}
    for key, values in block.items():
        if key in _BLOCK_KEYS:
            continue
        where = check.lines.key(line, key)
        parameter = glossary.get(key)
        if parameter is None:
            check.problem(
                where,
                f"{label}: key {key!r} is not a parameter the glossary declares ({', '.join(glossary)})",
            )
            continue
        if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
            check.problem(where, f"{label}: key {key!r} must be a list of values")
            continue
        unknown = [v for v in values if v not in parameter.values]
        if unknown:
            check.problem(
                where,
                f"{label}: key {key!r}: {', '.join(map(repr, unknown))} not among the values [parameter.{key}] declares ({', '.join(parameter.values)})",
            )
            continue
        axes[key] = values
    cases = []
    for values in itertools.product(*axes.values()):
        params = dict(zip(axes, values, strict=True))
        cases.append(Case(behaviour_id, params, tuple(requires), case_id(params, glossary), cause))
    return cases


def case_id(params: Mapping[str, str], glossary: Mapping[str, Parameter]) -> str:
    """A case's id: its values in order, bare ones alone, the rest as key=value."""
    return "-".join(v if glossary[k].bare else f"{k}={v}" for k, v in params.items())


def _behaviour(
    entry: object, index: int, glossary: Mapping[str, Parameter], causes: Mapping[str, Cause], check: _Checker
) -> Behaviour | None:
    line = check.lines.table("behaviour", index)
    if not isinstance(entry, dict):
        check.problem(line, "[[behaviour]] must be a table")
        return None
    for key in sorted(set(entry) - _BEHAVIOUR_KEYS):
        check.problem(
            check.lines.key(line, key),
            f"behaviour #{index + 1}: unknown key {key!r} (allowed: {', '.join(sorted(_BEHAVIOUR_KEYS))})",
        )
    missing = [key for key in _REQUIRED_TEXT if not (isinstance(entry.get(key), str) and entry[key].strip())]
    for key in missing:
        check.problem(
            check.lines.key(line, key), f"behaviour #{index + 1}: key {key!r} must be a non-empty string"
        )
    blocks = entry.get("matrix")
    if not isinstance(blocks, list) or not blocks:
        check.problem(line, f"behaviour #{index + 1}: needs [[behaviour.matrix]] blocks of cases")
        return None
    if missing:
        return None
    first = _block_line(check, line)
    label = f"behaviour {entry['id']!r}"
    cause = _cause(entry["cause"], check.lines.key(line, "cause"), label, causes, check)
    cases = [
        case
        for number, block in enumerate(blocks)
        for case in _block_cases(
            entry["id"], block, _nth_block_line(check, first, number), glossary, check, cause, causes
        )
    ]
    ids = [case.id for case in cases]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        check.problem(line, f"behaviour {entry['id']!r}: case {duplicate!r} comes from more than one block")
    return Behaviour(
        entry["id"],
        entry["title"],
        entry["claim"],
        entry["claim_source"],
        entry["idiom"],
        str(entry.get("notes", "")),
        tuple(cases),
        {name: glossary[name] for name in dict.fromkeys(k for case in cases for k in case.params)},
        cause,
    )


def _block_line(check: _Checker, behaviour_line: int) -> int:
    """Index of the first [[behaviour.matrix]] after a behaviour's header."""
    blocks = check.lines.tables.get("behaviour.matrix", [])
    return next((i for i, at in enumerate(blocks) if at > behaviour_line), len(blocks))


def _nth_block_line(check: _Checker, first: int, number: int) -> int:
    blocks = check.lines.tables.get("behaviour.matrix", [])
    return blocks[first + number] if first + number < len(blocks) else 1


def load(text: str, path: str) -> dict[str, Behaviour]:
    """Read and validate a catalogue; ``CatalogueError`` lists every problem."""
    return _load(text, path)[0]


def _load(text: str, path: str) -> tuple[dict[str, Behaviour], dict[str, Cause]]:
    check = _Checker(path, text)
    try:
        document = loads(text)
    except TOMLDecodeError as error:
        raise CatalogueError([f"{path}:1: not valid TOML: {error}"]) from error
    glossary = _glossary(document.get("parameter"), check)
    causes = _causes(document.get("cause"), check)
    entries = document.get("behaviour", [])
    found: dict[str, Behaviour] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        behaviour = _behaviour(entry, index, glossary, causes, check)
        if behaviour is None:
            continue
        if behaviour.id in found:
            check.problem(
                check.lines.table("behaviour", index), f"behaviour id {behaviour.id!r} is used twice"
            )
        found[behaviour.id] = behaviour
    used = {name for behaviour in found.values() for name in behaviour.glossary}
    for name in glossary:
        if name not in used:
            check.problem(
                check.lines.table(f"parameter.{name}"), f"[parameter.{name}]: declared, but no case uses it"
            )
    named = {case.cause for behaviour in found.values() for case in behaviour.cases}
    for name in causes:
        if name not in named:
            check.problem(check.lines.table(f"cause.{name}"), f"[cause.{name}]: declared, but no case has it")
    if check.problems:
        raise CatalogueError(check.problems)
    return found, causes


@functools.cache
def _catalogue() -> tuple[dict[str, Behaviour], dict[str, Cause]]:
    source = resources.files("anonmap").joinpath("data/behaviours.toml")
    return _load(source.read_text(), str(source))


def behaviours() -> dict[str, Behaviour]:
    """The catalogue, by behaviour id, in the order the file lists them."""
    return _catalogue()[0]


def causes() -> dict[str, Cause]:
    """Every cause a difference may have, by name, in the order the file lists them."""
    return _catalogue()[1]


def apis() -> tuple[str, ...]:
    """The call interfaces cases map through: the values of the ``api`` parameter, in the
    order the catalogue declares them (``anonmap.apis.registry`` has an entry for each)."""
    found: dict[str, None] = {}
    for behaviour in behaviours().values():
        if "api" in behaviour.glossary:
            found.update(dict.fromkeys(behaviour.glossary["api"].values))
    return tuple(found)


def cases(behaviour_id: str) -> tuple[Case, ...]:
    return behaviours()[behaviour_id].cases
