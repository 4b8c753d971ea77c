"""Gathers the records (in the xdist controller, from every worker's reports), prints the
summary, and writes the results file at the end of the run."""

from __future__ import annotations

import pytest

from anonmap.host import headroom
from anonmap.plugin.judge import PROPERTY
from anonmap.plugin.session import State, profile_line
from anonmap.plugin.summary import deviations, table
from anonmap.results.records import Record, document, write_results
from anonmap.results.verdicts import Verdict


class Reporter:
    """Gathers the records (in the xdist controller, from every worker's reports) and reports them."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.collected = 0
        self.interrupted = ""
        self.written = ""
        """What became of the results file, for the summary's last line."""
        self._reserve = headroom.reserve() if state.results_path is not None else bytearray()
        """Room kept back from the start for writing the results at the end."""

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == PROPERTY and isinstance(value, dict):
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
        unprofiled = sum(r.verdict is Verdict.UNPROFILED for r in records)
        if unprofiled:
            terminalreporter.write_line(
                f"UNPROFILED: {unprofiled} case(s) ran with nothing to compare against "
                f"({profile_line(state).removeprefix('anonmap: ')}); they pass, but nothing was checked.",
                yellow=True,
                bold=True,
            )

    def _incomplete(self, session: pytest.Session) -> str:
        """Why this run's records are not the whole run ('' when they are)."""
        if self.interrupted:
            return self.interrupted
        # xdist's controller collects nothing itself; its workers' collections are what ran.
        expected = self.collected or int(getattr(session, "testscollected", 0) or 0)
        if expected == 0 and not self.state.records:
            # Nothing checked is no result: an installed anonmap runs its checks with `anonmap run`.
            return "no case was collected: the suite's checks were not found, or every case was deselected"
        missing = expected - len(self.state.records)
        return f"{missing} of {expected} collected case(s) left no record" if missing > 0 else ""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if state.results_path is None:
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED and not self.interrupted:
            self.interrupted = "interrupted"
        self._reserve = bytearray()
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
        if state.observations is not None:
            content["observed_on"] = state.observations.observed_on()
        content["complete"] = not incomplete
        if incomplete:
            content["incomplete_reason"] = incomplete
        try:
            written = write_results(state.results_path, content)
        except (OSError, MemoryError) as error:
            # MemoryError: a resource limit left no room to encode them; say so, not a traceback.
            why = (
                "out of memory (a resource limit?)"
                if isinstance(error, MemoryError)
                else error.strerror or error
            )
            self.written = f"anonmap: results not written to {state.results_path}: {why}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        self.written = f"results: {written}" + (f" (INCOMPLETE: {incomplete})" if incomplete else "")
