"""The pytest plugin: probes once, selects the profile, parametrises the behaviour tests,
turns each check into a verdict, and writes the results file and the summary."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import resource
import signal
import tempfile
import threading
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import FrameType
from typing import NoReturn

import pytest

from anonmap import catalogue, isolate, reaping
from anonmap.constants import Constants
from anonmap.emulation import Emulation, load_emulation
from anonmap.probe import SECCOMP, RunInfo, describe, probe
from anonmap.profiles import Expectation, Profile, ProfileError, find_profile
from anonmap.results import Record, document, write_results
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
    label: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    """Lines the header adds about how this run had to adapt to its environment."""
    records: dict[str, Record] = dataclasses.field(default_factory=dict)
    """By test id: the last report of a test (a teardown error after a pass) is what counts."""


_STATE = pytest.StashKey[_State]()
#: What a sandbox's seccomp policy answers with (SECCOMP_RET_ERRNO with EPERM: Docker's default
#: profile, systemd's SystemCallFilter=). Under a filter, an unexpected one is the sandbox's.
SANDBOX_ERRNOS = ("EPERM",)
_PROPERTY = "anonmap-record"


#: The longest time limit accepted: a limit is there to end a run, so 'inf' is refused.
MAX_TIME_LIMIT = 3600.0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIME_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_TIME_LIMIT:g}, got {text!r}"
        )
    return value


def _directory(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected an existing directory of profiles, got {text!r}")
    return text


def _label(text: str) -> str:
    if not text or not text.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"expected a platform label of letters, digits, '.', '-' and '_' such as 'freebsd-14.3', got {text!r}"
        )
    return text


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
        type=_directory,
        help="the profiles directory (default: platforms/ beside the root conftest)",
    )
    group.addoption(
        "--anonmap-label",
        metavar="NAME",
        type=_label,
        help="the platform's name in a CI matrix, recorded in the results (anonmap merge --expect matches it)",
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
        help="time limit of one check, and of one compiler or program run (default: %(default)s)",
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a CI timeout, kill) ends the run the way Ctrl-C does: the running check's
    # process group is killed on the way out, and the results say the run was interrupted.
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _threads_refused(count: int) -> str:
    """Why this process cannot run ``count`` threads at once ('' when it can)."""
    release = threading.Event()
    started: list[threading.Thread] = []
    try:
        for _ in range(count):
            thread = threading.Thread(target=release.wait)
            thread.start()
            started.append(thread)
    except RuntimeError as error:
        return f"{error}, after {len(started)} of {count}"
    finally:
        release.set()
        for thread in started:
            thread.join()
    return ""


def _serial_if_threads_refused(config: pytest.Config) -> str:
    """xdist's controller needs threads to talk to its workers; where a limit refuses them
    (RLIMIT_AS, RLIMIT_NPROC) the run goes on serially instead of dying before the first case.
    Runs before xdist's own pytest_configure (trylast), which reads the option."""
    if getattr(config.option, "dist", "no") == "no" or hasattr(config, "workerinput"):
        return ""
    # execnet runs a few threads per worker gateway in the controller.
    workers = len(getattr(config.option, "tx", None) or []) or 2
    refused = _threads_refused(3 * workers + 2)
    if not refused:
        return ""
    config.option.dist = "no"
    config.option.numprocesses = 0
    config.option.tx = []
    return (
        f"anonmap: this process cannot start threads ({refused}): no xdist workers; the checks run serially"
    )


def _arm_interrupts(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(config, "workerinput"):
        # An xdist worker goes when its controller goes, taking its check with it.
        reaping.die_with_parent()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "behaviour(id): the catalogue behaviour a test checks; parametrised with its cases"
    )
    _arm_interrupts(config)
    try:
        catalogue.behaviours()
    except catalogue.CatalogueError as error:
        raise pytest.UsageError(f"anonmap: invalid catalogue\n{error}") from error
    serial_note = _serial_if_threads_refused(config)
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
    results_path = _results_path(results, info) if results else None
    if results_path is not None and not hasattr(config, "workerinput"):
        _check_writable(results_path)
    config.stash[_STATE] = _State(
        run_info=info,
        profile=profile,
        profile_shown=_shown(profile.path, config.rootpath) if profile else "",
        emulation=emulation,
        constants=constants,
        time_limit=config.getoption("anonmap_time_limit"),
        results_path=results_path,
        started_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        label=config.getoption("anonmap_label"),
        notes=[serial_note] if serial_note else [],
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


#: The least RLIMIT_FSIZE a results file needs room for (a full run writes a few hundred KB).
MIN_FILE_SIZE_LIMIT = 16 << 20


def _check_writable(path: Path) -> None:
    """Refuse to start a run whose results could not be written at its end."""
    file_size_limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    regular = path.is_file() or not path.exists()
    if regular and file_size_limit != resource.RLIM_INFINITY and file_size_limit < MIN_FILE_SIZE_LIMIT:
        raise pytest.UsageError(
            f"anonmap: --anonmap-results={path}: RLIMIT_FSIZE is {file_size_limit} bytes, too small "
            f"for the results file (at least {MIN_FILE_SIZE_LIMIT >> 20} MiB; or write them to a pipe)"
        )
    if path.exists() and not path.is_file():
        if path.is_dir():
            raise pytest.UsageError(
                f"anonmap: --anonmap-results={path}: is a directory; end it with '/' to write into it"
            )
        if not os.access(path, os.W_OK):
            raise pytest.UsageError(f"anonmap: --anonmap-results={path}: cannot be written")
        return  # a device or FIFO is written to in place (see anonmap.atomic)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, probe_file = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
        os.close(handle)
        os.unlink(probe_file)
    except OSError as error:
        raise pytest.UsageError(
            f"anonmap: --anonmap-results={path}: cannot be written: {error.strerror or error}"
        ) from error


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
    return [*describe(state.run_info), _profile_line(state), *state.notes]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("behaviour")
    if marker is None:
        return
    cases = catalogue.cases(marker.args[0])
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def _note(expectation: Expectation | None) -> str:
    """The entry's note, and the known bug it records, for the results and the reports."""
    if expectation is None:
        return ""
    known = (
        f"known bug {expectation.known_bug}: observed {expectation.known_observed}"
        if expectation.known_bug
        else ""
    )
    return "; ".join(part for part in (known, expectation.note) if part)


class Judge:
    """Runs one case's check in isolation and turns what it observed into a verdict."""

    def __init__(self, case: catalogue.Case, state: _State, node: pytest.Item) -> None:
        self.case = case
        self._state = state
        self._node = node

    @property
    def constants(self) -> Constants:
        """Flag values. Resolve them inside the check, where a name this platform lacks
        (``constants.Absent``) is the outcome 'absent' rather than a harness error."""
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
            note=_note(expectation),
            detail=detail,
            source=f"{self._state.profile_shown}:{expectation.line}" if expectation else "",
        )
        self._node.user_properties.append((_PROPERTY, record.to_json()))
        return record

    def unjudged(self, verdict: Verdict, detail: str) -> None:
        """Record a test that ended outside the judge: a fixture, a compiler helper or the
        test body raised (ERROR), or something skipped it (UNSUPPORTED)."""
        self._record(verdict, "", detail, self._expectation())

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

    def observe(
        self, outcome: str, detail: str = "", sandbox_errnos: tuple[str, ...] = SANDBOX_ERRNOS
    ) -> None:
        """Judge an outcome observed without a forked check: one that a separate process
        (a compiler, a compiled program) already produced, so it cannot take pytest down.
        ``sandbox_errnos``: the errnos a sandbox's refusal reaches that program as."""
        self._check_capabilities()
        self._judge(isolate.Isolated(outcome, detail), sandbox_errnos)

    @property
    def time_limit(self) -> float:
        """The time limit of one check, and of one compiler or program run."""
        return self._state.time_limit

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

    def _judge(self, isolated: isolate.Isolated, sandbox_errnos: tuple[str, ...] = SANDBOX_ERRNOS) -> None:
        info = self._state.run_info
        if isolated.unsupported:
            self.unsupported(isolated.unsupported)
        expectation = self._expectation()
        verdict = decide(expectation, isolated)
        if verdict is Verdict.DEVIATION and isolated.outcome in sandbox_errnos and SECCOMP in info.compat:
            self.unsupported(
                f"refused with {isolated.outcome} while a seccomp filter is installed ({SECCOMP} in the "
                f"probe's compatibility layers): a sandbox's policy, not {info.os}'s behaviour; {isolated.detail}"
            )
        record = self._record(
            verdict, isolated.outcome, isolated.detail or isolated.harness_error, expectation
        )
        platform = f"{info.os} {info.release} {info.arch}"
        if verdict is Verdict.KNOWN_DEVIATION and expectation is not None:
            # As lit's XFAIL: the platform still does what its reported bug makes it do.
            pytest.xfail(
                f"known deviation: {self.case.behaviour}[{self.case.id}] on {platform} observed "
                f"{record.observed}, documented {record.expected}; bug {expectation.known_bug}"
            )
        if verdict is Verdict.FIXED and expectation is not None:
            pytest.fail(
                f"fixed: {self.case.behaviour}[{self.case.id}] on {platform} now does what its documentation "
                f"says ({record.observed}); the bug {expectation.known_bug} no longer shows: drop 'known' "
                f"from {record.source}",
                pytrace=False,
            )
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


_JUDGE = pytest.StashKey[Judge]()


@pytest.fixture
def judge(request: pytest.FixtureRequest, case: catalogue.Case) -> Judge:
    made = Judge(case, request.config.stash[_STATE], request.node)
    request.node.stash[_JUDGE] = made
    return made


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Whatever ends a case lands in the results: a failure or skip that did not come through
    the judge (setup, a helper, the test body) is recorded here."""
    report = yield
    case = (
        item.callspec.params.get("case")
        if isinstance(item, pytest.Function) and hasattr(item, "callspec")
        else None
    )
    if not isinstance(case, catalogue.Case) or report.passed:
        return report
    recorded = any(name == _PROPERTY for name, _ in item.user_properties)
    judge = item.stash.get(_JUDGE, None) or Judge(case, item.config.stash[_STATE], item)
    if report.failed:
        if recorded and report.when == "call":
            return report  # the judge failed it (a deviation, a harness error): its record stands
        # A later phase (teardown) failing after the judge recorded the case replaces that record.
        item.user_properties[:] = [p for p in item.user_properties if p[0] != _PROPERTY]
        judge.unjudged(Verdict.ERROR, f"{report.when} failed outside the check:\n{report.longreprtext}")
    elif recorded:
        return report  # the judge found the case unsupported
    else:
        judge.unjudged(Verdict.UNSUPPORTED, f"skipped outside the judge: {_skip_reason(report)}")
    report.user_properties = list(item.user_properties)
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class _Reporter:
    """Gathers the records (in the xdist controller, from every worker's reports) and reports them."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.collected = 0
        self.interrupted = ""
        self.written = ""
        """What became of the results file, for the summary's last line."""

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == _PROPERTY and isinstance(value, dict):
                self.state.records[report.nodeid] = Record.from_json(value)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = f"interrupted ({excinfo.exconly().strip() or 'KeyboardInterrupt'})"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        state = self.state
        records = list(state.records.values())
        if records:
            self._summarise(terminalreporter, records)
        if self.written:
            # The results were written before the summary (sessionfinish comes first).
            terminalreporter.write_line(self.written, red="not written" in self.written)

    def _summarise(self, terminalreporter: pytest.TerminalReporter, records: list[Record]) -> None:
        state = self.state
        emulated = f", emulating {state.emulation.platform}" if state.emulation else ""
        terminalreporter.section(
            f"anonmap: {state.run_info.os} {state.run_info.release} {state.run_info.arch}{emulated}"
        )
        for line in table(records):
            terminalreporter.write_line(line)
        for line in deviations(records):
            terminalreporter.write_line(line, red=True)
        unprofiled = sum(r.verdict == Verdict.UNPROFILED.value for r in records)
        if unprofiled:
            terminalreporter.write_line(
                f"UNPROFILED: {unprofiled} case(s) ran with nothing to compare against "
                f"({_profile_line(state).removeprefix('anonmap: ')}); they pass, but nothing was checked.",
                yellow=True,
                bold=True,
            )

    def _incomplete(self, session: pytest.Session) -> str:
        """Why this run's records are not the whole run ('' when they are)."""
        if self.interrupted:
            return self.interrupted
        # xdist's controller collects nothing itself; its workers' collections are what ran.
        expected = self.collected or int(getattr(session, "testscollected", 0) or 0)
        missing = expected - len(self.state.records)
        return f"{missing} of {expected} collected case(s) left no record" if missing > 0 else ""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if state.results_path is None or hasattr(session.config, "workerinput"):
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED and not self.interrupted:
            self.interrupted = "interrupted"
        incomplete = self._incomplete(session)
        profile = (
            None
            if state.profile is None
            else {
                "name": state.profile.name,
                "title": state.profile.title,
                "path": state.profile_shown,
            }
        )
        content = document(
            state.run_info.to_json(),
            profile,
            state.records.values(),
            state.started_at,
            state.emulation.to_json() if state.emulation else None,
        )
        content["label"] = state.label
        content["complete"] = not incomplete
        if incomplete:
            content["incomplete_reason"] = incomplete
        try:
            written = write_results(state.results_path, content)
        except OSError as error:
            self.written = f"anonmap: results not written to {state.results_path}: {error.strerror or error}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        self.written = f"results: {written}" + (f" (INCOMPLETE: {incomplete})" if incomplete else "")
