"""The pytest plugin, registered through the pytest11 entry point and the root conftest: thin
hooks over the stages (options -> session -> catalogue cases -> judge -> reporter). Dormant
unless the suite is in play (see ``anonmap.plugin.options``)."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from anonmap.apis import registry
from anonmap.expect import catalogue
from anonmap.host.probe import describe
from anonmap.plugin import options
from anonmap.plugin.judge import PROPERTY, Judge
from anonmap.plugin.reporter import Reporter
from anonmap.plugin.session import State, profile_line, start
from anonmap.results.verdicts import Verdict

_STATE = pytest.StashKey[State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "behaviour(id): the catalogue behaviour a test checks; parametrised with its cases, each "
        "observed through the call interface its api names",
    )
    chosen = options.read(config)
    if chosen is None:
        return
    state = start(config, chosen)
    config.stash[_STATE] = state
    config.pluginmanager.register(Reporter(state), "anonmap-reporter")


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(_STATE, None)
    if state is None:
        return []
    return [*describe(state.run_info), profile_line(state), *state.notes]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A behaviour's test runs every case of it, whichever call interface observes it; the
    cases of an interface that observes them together stay on one xdist worker."""
    marker = metafunc.definition.get_closest_marker("behaviour")
    if marker is None:
        return
    cases = catalogue.cases(marker.args[0])
    metafunc.parametrize("case", [pytest.param(case, id=case.id, marks=_grouped(case)) for case in cases])


def _grouped(case: catalogue.Case) -> tuple[pytest.MarkDecorator, ...]:
    entry = registry.of(case)
    return (pytest.mark.xdist_group(entry.group),) if entry is not None and entry.group else ()


_JUDGE = pytest.StashKey[Judge]()


@pytest.fixture
def judge(request: pytest.FixtureRequest, case: catalogue.Case) -> Judge:
    state = request.config.stash.get(_STATE, None)
    if state is None:
        pytest.skip("anonmap is dormant here: give an anonmap option or set anonmap_suite = true")
    made = Judge(case, state, request.node)
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
    state = item.config.stash.get(_STATE, None)
    if state is None or not isinstance(case, catalogue.Case) or report.passed:
        return report
    recorded = any(name == PROPERTY for name, _ in item.user_properties)
    judge = item.stash.get(_JUDGE, None) or Judge(case, state, item)
    if report.failed:
        if recorded and report.when == "call":
            return report  # the judge failed it (a deviation, a harness error): its record stands
        # A later phase (teardown) failing after the judge recorded the case replaces that record.
        item.user_properties[:] = [p for p in item.user_properties if p[0] != PROPERTY]
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
