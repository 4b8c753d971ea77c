"""Observations made by the freestanding observer, read back to be judged: on this machine
right after it ran, or anywhere else from a file it printed (``--anonmap-observations``).

The file is ``anonmap-observations/1``: one JSON object per line, a header saying what the
observer knows of its system, one record per case, and an end record with the count. Anything
else (a truncated file, another catalogue's case list, an unknown case) is an
``ObservationsError`` of one line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from anonmap.apis.syscall import build as observer
from anonmap.apis.syscall import header
from anonmap.expect import outcomes
from anonmap.expect.catalogue import Case
from anonmap.files.bounded import Unreadable, read_regular
from anonmap.files.checked import Malformed, checked_text, quoted, quoted_names
from anonmap.host import compilers as ctoolchain
from anonmap.host.probe import RunInfo, observed
from anonmap.run.isolate import Isolated

#: An observations file holds a few hundred short lines: anything far larger is not one.
MAX_BYTES = 4 * 1024 * 1024


class ObservationsError(Exception):
    """An observations file that cannot be judged; the message is one line naming it."""


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """What the observer found for one case: an outcome, or why it could not run it."""

    outcome: str = ""
    detail: str = ""
    unsupported: str = ""
    harness: str = ""


@dataclasses.dataclass(frozen=True)
class Observations:
    source: str
    api: str
    """The api whose cases the observer made: ``syscall`` (raw system calls, abi.h) or ``libc``
    (the C-library backend, libc.h)."""
    abi: str
    on: str
    binary_abi: str
    uname: Mapping[str, str]
    page_size: int
    capabilities: Mapping[str, tuple[bool, str]]
    compat: tuple[str, ...]
    settings: Mapping[str, str]
    findings: Mapping[str, CaseResult]
    """By ``observer.label`` (behaviour[case id])."""
    libc: str = ""
    """The C library the C-library backend ran on, as it named it ('' for the raw backend)."""

    def run_info(self) -> RunInfo:
        """The system the observations were made on, as profile conditions read it."""
        return observed(
            self.uname,
            self.page_size,
            self.binary_abi,
            self.capabilities,
            self.compat,
            self.settings,
            self.libc,
        )

    def outcome(self, case: Case) -> Isolated:
        """What the observer found for ``case``: judged as a check of this process would be; a
        case of another api is not observed (the file holds its backend's api alone)."""
        api = case.params.get("api")
        if api != self.api:
            return Isolated(
                "",
                unsupported=f"not observed: {self.observed_on()['file']} holds the {self.api} api's cases, not the {api} api's",
            )
        finding = self.findings[observer.label(case)]
        return Isolated(
            finding.outcome, finding.detail, harness_error=finding.harness, unsupported=finding.unsupported
        )

    def observed_on(self) -> dict[str, str]:
        """Where and how the observations were made, as the results file records it."""
        # The file's name, not its path: results travel to other machines and into reports.
        return {"by": f"the anonmap observer ({self.abi})", "on": self.on, "file": Path(self.source).name}


def _object(line: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ObservationsError(f"{where}: not a JSON object ({error.msg}): {quoted(line)}") from None
    except (ValueError, RecursionError):
        # Numbers of thousands of digits, arrays nested thousands deep: nothing the observer prints.
        raise ObservationsError(f"{where}: not a line the observer prints: {quoted(line)}") from None
    if not isinstance(data, dict):
        raise ObservationsError(f"{where}: not a JSON object: {quoted(line)}")
    return data


def _header(data: dict[str, Any], where: str) -> dict[str, Any]:
    if "error" in data:
        raise ObservationsError(f"{where}: the observer refused to run: {quoted(data['error'])}")
    try:
        return header.checked(data)
    except Malformed as error:
        raise ObservationsError(f"{where}: {error}") from None


def _finding(data: dict[str, Any], where: str) -> tuple[str, CaseResult]:
    kinds = [key for key in ("outcome", "unsupported", "harness") if key in data]
    expected = {"behaviour", "case", *kinds, *(["detail"] if kinds == ["outcome"] else [])}
    if len(kinds) != 1 or set(data) != expected:
        raise ObservationsError(
            f"{where}: a case record holds behaviour, case and one of outcome (with detail), unsupported or harness; found keys {quoted_names(sorted(data))}"
        )
    try:
        behaviour = checked_text("behaviour", data["behaviour"], empty=False)
        case = checked_text("case", data["case"], empty=False)
        if kinds == ["outcome"]:
            outcome = checked_text("outcome", data["outcome"], empty=False)
            if not outcomes.is_outcome(outcome):
                raise Malformed(f"key 'outcome': {quoted(outcome)} is not an outcome")
            finding = CaseResult(
                outcome=outcome,
                detail=checked_text("detail", data["detail"], one_line=False),
            )
        elif kinds == ["unsupported"]:
            finding = CaseResult(unsupported=checked_text("unsupported", data["unsupported"], empty=False))
        else:
            finding = CaseResult(
                harness=checked_text("harness", data["harness"], one_line=False, empty=False)
            )
    except Malformed as error:
        raise ObservationsError(f"{where}: {error}") from None
    return f"{behaviour}[{case}]", finding


def parse(text: str, source: str) -> Observations:
    """The observations in ``text``, checked against this catalogue's cases of the api the
    header names (the observer's backend)."""
    lines = text.splitlines()
    if not lines:
        raise ObservationsError(f"{source}: is empty: the observer printed nothing")
    header = _header(_object(lines[0], f"{source}:1"), f"{source}:1")
    findings: dict[str, CaseResult] = {}
    ended = False
    for number, line in enumerate(lines[1:], start=2):
        where = f"{source}:{number}"
        if ended:
            raise ObservationsError(f"{where}: text after the end record")
        data = _object(line, where)
        if "end" in data:
            if data != {"end": len(findings)} or len(findings) != header["cases"]:
                raise ObservationsError(
                    f"{where}: the end record {quoted(data)} does not count the {len(findings)} records above it (the header says {header['cases']})"
                )
            ended = True
            continue
        label, finding = _finding(data, where)
        if label in findings:
            raise ObservationsError(f"{where}: a second record for {label}")
        findings[label] = finding
    if not ended:
        raise ObservationsError(
            f"{source}: truncated: no end record after {len(findings)} of the {header['cases']} cases (did the observer die?)"
        )
    try:
        programs = observer.programs(header["api"])
    except observer.MissingCheck as missing_check:
        raise ObservationsError(f"{source}: cannot be judged here: {missing_check}") from None
    expected = [observer.label(case) for case, _ in programs]
    ours = observer.fingerprint(programs)
    missing = [label for label in expected if label not in findings]
    unknown = [label for label in findings if label not in set(expected)]
    if missing or unknown:
        parts = [
            f"it lacks {quoted_names(missing)}" if missing else "",
            f"this catalogue has no {quoted_names(unknown)}" if unknown else "",
        ]
        raise ObservationsError(
            f"{source}: the observer was built from another catalogue (fingerprint {header['catalogue']}, "
            f"this one {ours}): {'; '.join(p for p in parts if p)}; rebuild it from this anonmap"
        )
    if header["catalogue"] != ours:
        # The same cases, other programs: what it observed is not what this anonmap's checks ask.
        raise ObservationsError(
            f"{source}: the observer was built from other checks (fingerprint {header['catalogue']}, "
            f"this anonmap's {ours}): the same cases, observed by other programs; rebuild it from this anonmap"
        )
    return Observations(
        source=source,
        api=header["api"],
        abi=header["abi"],
        on=header["on"],
        binary_abi=header["binary_abi"],
        uname=dict(header["uname"]),
        page_size=header["page_size"],
        capabilities={
            name: (state["available"], state["detail"]) for name, state in header["capabilities"].items()
        },
        compat=tuple(header["compat"]),
        settings=dict(header["settings"]),
        findings=findings,
        libc=header.get("libc", ""),
    )


def load(path: Path) -> Observations:
    """Read an observations file, refusing anything but a regular file of at most MAX_BYTES."""
    try:
        data = read_regular(path, MAX_BYTES, "an observations file")
    except Unreadable as error:
        raise ObservationsError(str(error)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ObservationsError(f"{path}: is not UTF-8 text (byte {error.start})") from None
    return parse(text, str(path))


@dataclasses.dataclass(frozen=True)
class Here:
    """The observer built and run on this machine, or why not."""

    observations: Observations | None
    unsupported: str = ""
    """Why the environment did not let it build or run here (no compiler, a time limit)."""
    error: str = ""
    """What broke in the observer itself (it does not build, its output does not parse)."""


@functools.cache
def here(
    compilers: tuple[tuple[str, str], ...],
    os_name: str,
    arch: str,
    constants: tuple[tuple[str, int], ...],
    time_limit: float,
) -> Here:
    """Build the observer with the first of ``compilers.NATIVE`` that builds and runs
    programs for this machine, and run it; once per process, shared by the cases."""
    no_abi = observer.abi_unsupported(os_name, arch)
    if no_abi:
        return Here(None, unsupported=no_abi)
    problems = []
    for name, path in compilers:
        if name not in ctoolchain.NATIVE or not path:
            continue
        toolchain = ctoolchain.check(path, arch, time_limit)
        if toolchain.unsupported:
            problems.append(f"{name} ({path}) {toolchain.unsupported}")
            continue
        built, ran = observer.build_and_run(path, dict(constants), time_limit)
        if built.path is None or ran is None:
            return (
                Here(None, unsupported=built.problem)
                if built.environment
                else Here(None, error=built.problem)
            )
        if ran.start_error or ran.timed_out:
            return Here(None, unsupported=f"the observer built by {name}: {ran.failure()}")
        try:
            return Here(parse(ran.stdout, f"the observer's output (built by {name})"))
        except ObservationsError as error:
            return Here(
                None,
                error=f"{error}; the observer ended with {ran.failure() or 'exit status 0'}: {ran.stderr.strip()[-500:]}",
            )
    names = ", ".join(ctoolchain.NATIVE)
    found = "; ".join(problems) or f"none of {names} is on PATH (probe: compilers)"
    return Here(None, unsupported=f"no C compiler to build the observer for this machine: {found}")
