"""The pytest plugin: probes once, selects the profile, parametrises the behaviour tests,
turns each check into a verdict, and writes the results file and the summary."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from anonmap import catalogue, isolate
from anonmap.constants import Constants
from anonmap.emulation import Emulation, load_emulation
from anonmap.probe import RunInfo, describe, probe
from anonmap.profiles import Expectation, Profile, ProfileError, find_profile
from anonmap.results import Record, document, write_atomically
from anonmap.summary import deviations, table
from anonmap.verdicts import Verdict, decide


@dataclasses.dataclass
class _State:
    run_info: RunInfo
    profile: Profile | None
    profile_shown: str
    """The profile's path as the results and messages show it: relative to the rootdir."""
    emulation: Emulation | None
    constants: Constants
    time_limit: float
    results_path: Path | None
    started_at: str
    records: list[Record] = dataclasses.field(default_factory=list)


_STATE = pytest.StashKey[_State]()
_PROPERTY = "anonmap-record"


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _platform_name(text: str) -> str:
    if not text.replace("-", "").replace("_", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"expected a profile name such as 'linux' or 'freebsd', got {text!r}"
        )
    return text


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("anonmap", "anonymous mapping portability suite")
    group.addoption(
        "--anonmap-results",
        metavar="PATH",
        help="write the results JSON here; a directory gets anonmap-<os>-<arch>.json",
    )
    group.addoption(
        "--anonmap-platform",
        metavar="NAME",
        type=_platform_name,
        help="use platforms/NAME.toml instead of the one for this os",
    )
    group.addoption(
        "--anonmap-profiles",
        metavar="DIR",
        help="the profiles directory (default: platforms/ beside the root conftest)",
    )
    group.addoption(
        "--anonmap-emulated-by",
        metavar="MANIFEST",
        help="this run emulates another platform (see anonmap.emulation); cases the manifest does not list are reported unsupported",
    )
    group.addoption(
        "--anonmap-time-limit",
        metavar="SECONDS",
        type=_positive_seconds,
        default=isolate.DEFAULT_TIME_LIMIT,
        help="time limit of one check (default: %(default)s)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "behaviour(id): the catalogue behaviour a test checks; parametrised with its cases"
    )
    info = probe()
    directory = Path(config.getoption("anonmap_profiles") or config.rootpath / "platforms")
    manifest = config.getoption("anonmap_emulated_by")
    try:
        emulation = load_emulation(Path(manifest)) if manifest else None
        platform = emulation.platform if emulation else config.getoption("anonmap_platform")
        profile = find_profile(directory, info, platform)
    except ProfileError as error:
        raise pytest.UsageError(f"anonmap: invalid profile or emulation manifest\n{error}") from error
    constants = (
        Constants({})
        if profile is None
        else Constants({name: c.value for name, c in profile.constant_values(info).items()})
    )
    results = config.getoption("anonmap_results")
    config.stash[_STATE] = _State(
        run_info=info,
        profile=profile,
        profile_shown=_shown(profile.path, config.rootpath) if profile else "",
        emulation=emulation,
        constants=constants,
        time_limit=config.getoption("anonmap_time_limit"),
        results_path=_results_path(results, info) if results else None,
        started_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    config.pluginmanager.register(_Reporter(config.stash[_STATE]), "anonmap-reporter")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _results_path(option: str, info: RunInfo) -> Path:
    path = Path(option)
    if option.endswith(("/", os.sep)) or path.is_dir():
        return path / f"anonmap-{info.os}-{info.arch}.json"
    return path


def _profile_line(state: _State) -> str:
    if state.emulation is not None and state.profile is not None:
        return (
            f"anonmap: EMULATED {state.profile.name} on {state.run_info.os} by persona "
            f"{state.emulation.name} ({state.profile_shown}); cases it does not emulate are unsupported"
        )
    if state.profile is None:
        return f"anonmap: NO PROFILE for os {state.run_info.os!r}: every case will be recorded unprofiled"
    return f"anonmap: profile {state.profile.name} ({state.profile_shown})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[_STATE]
    return [*describe(state.run_info), _profile_line(state)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("behaviour")
    if marker is None:
        return
    cases = catalogue.cases(marker.args[0])
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])


class Judge:
    """Runs one case's check in isolation and turns what it observed into a verdict."""

    def __init__(self, case: catalogue.Case, state: _State, node: pytest.Item) -> None:
        self.case = case
        self._state = state
        self._node = node

    @property
    def constants(self) -> Constants:
        return self._state.constants

    def _expectation(self) -> Expectation | None:
        profile = self._state.profile
        return profile.expectation(self.case, self._state.run_info) if profile else None

    def _record(
        self, verdict: Verdict, observed: str, detail: str, expectation: Expectation | None
    ) -> Record:
        record = Record(
            nodeid=self._node.nodeid,
            behaviour=self.case.behaviour,
            case=self.case.id,
            params=dict(self.case.params),
            expected=expectation.outcome if expectation else "",
            observed=observed,
            verdict=verdict.value,
            cite=expectation.cite if expectation else (),
            note=expectation.note if expectation else "",
            detail=detail,
            source=f"{self._state.profile_shown}:{expectation.line}" if expectation else "",
        )
        self._node.user_properties.append((_PROPERTY, record.to_json()))
        return record

    def unsupported(self, reason: str) -> NoReturn:
        self._record(Verdict.UNSUPPORTED, "", reason, self._expectation())
        pytest.skip(f"unsupported: {reason}")

    def _check_capabilities(self) -> None:
        info = self._state.run_info
        emulation = self._state.emulation
        if emulation is not None and not emulation.covers(self.case):
            self.unsupported(
                f"not emulated: persona {emulation.name} does not make {info.os} answer like {emulation.platform} here"
            )
        for capability in self.case.requires:
            state = info.can(capability)
            if not state.available:
                self.unsupported(f"{capability.value}: {state.detail}")

    def run(self, check: Callable[[], str]) -> None:
        """Check the case in a forked child: skip (unsupported), pass, or fail naming the deviation."""
        self._check_capabilities()
        try:
            isolated = isolate.run(check, self._state.time_limit)
        except isolate.ForkUnavailable as error:
            self.unsupported(f"fork: {error} (isolation needs it)")
        self._judge(isolated)

    def observe(self, outcome: str, detail: str = "") -> None:
        """Judge an outcome observed without a forked check: one that a separate process
        (a compiler, a compiled program) already produced, so it cannot take pytest down."""
        self._check_capabilities()
        self._judge(isolate.Isolated(outcome, detail))

    @property
    def arch(self) -> str:
        """This machine's architecture as the probe names it."""
        return self._state.run_info.arch

    def compilers(self) -> Mapping[str, str]:
        """Each C compiler the probe looked for, with its path ('' where absent)."""
        return self._state.run_info.compilers

    def require_compiler(self, name: str) -> str:
        """The path of the named C compiler, or skip the case as unsupported."""
        self._check_capabilities()
        path = self._state.run_info.compilers.get(name, "")
        if not path:
            self.unsupported(f"no {name} on PATH (probe: compilers)")
        return path

    def _judge(self, isolated: isolate.Isolated) -> None:
        info = self._state.run_info
        expectation = self._expectation()
        verdict = decide(expectation, isolated)
        record = self._record(
            verdict, isolated.outcome, isolated.detail or isolated.harness_error, expectation
        )
        platform = f"{info.os} {info.release} {info.arch}"
        if verdict is Verdict.ERROR:
            pytest.fail(
                f"harness error in {self.case.behaviour}[{self.case.id}] on {platform}:\n{isolated.harness_error}",
                pytrace=False,
            )
        if verdict is Verdict.DEVIATION:
            lines = [
                f"deviation: {self.case.behaviour}[{self.case.id}] on {platform}",
                f"  expected: {record.expected}   ({record.source})",
                f"  observed: {record.observed}" + (f"   ({record.detail})" if record.detail else ""),
                *(f"  cite: {c}" for c in record.cite),
            ]
            if record.note:
                lines.append(f"  note: {record.note}")
            pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture
def judge(request: pytest.FixtureRequest, case: catalogue.Case) -> Judge:
    return Judge(case, request.config.stash[_STATE], request.node)


class _Reporter:
    """Gathers the records (in the xdist controller, from every worker's reports) and reports them."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == _PROPERTY and isinstance(value, dict):
                self.state.records.append(Record.from_json(value))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        state = self.state
        if not state.records:
            return
        emulated = f", emulating {state.emulation.platform}" if state.emulation else ""
        terminalreporter.section(
            f"anonmap: {state.run_info.os} {state.run_info.release} {state.run_info.arch}{emulated}"
        )
        for line in table(state.records):
            terminalreporter.write_line(line)
        for line in deviations(state.records):
            terminalreporter.write_line(f"DEVIATION {line}", red=True)
        unprofiled = sum(r.verdict == Verdict.UNPROFILED.value for r in state.records)
        if unprofiled:
            terminalreporter.write_line(
                f"UNPROFILED: {unprofiled} case(s) ran with nothing to compare against "
                f"({_profile_line(state).removeprefix('anonmap: ')}); they pass, but nothing was checked.",
                yellow=True,
                bold=True,
            )
        if state.results_path is not None:
            terminalreporter.write_line(f"results: {state.results_path}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = self.state
        if state.results_path is None or hasattr(session.config, "workerinput"):
            return
        profile = (
            None
            if state.profile is None
            else {
                "name": state.profile.name,
                "title": state.profile.title,
                "path": state.profile_shown,
            }
        )
        emulation = state.emulation.to_json() if state.emulation else None
        write_atomically(
            state.results_path,
            document(state.run_info.to_json(), profile, state.records, state.started_at, emulation),
        )
