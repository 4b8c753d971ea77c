"""Conditions over run_info, and the verdict logic."""

from __future__ import annotations

import pytest

from anonmap.expect.conditions import condition_errors, holds
from anonmap.expect.profiles import Expectation
from anonmap.results.verdicts import Verdict, decide
from anonmap.run.isolate import Isolated
from selftests.helpers import run_info


@pytest.mark.parametrize(
    ("when", "changes", "expected"),
    [
        ({}, {}, True),
        ({"kernel": ">=4.15"}, {"kernel": "6.1.0-18-amd64"}, True),
        ({"kernel": ">=4.15"}, {"kernel": "4.14.336"}, False),
        ({"kernel": ">=2.4,<4.15"}, {"kernel": "3.10.0-1160.el7"}, True),
        ({"kernel": ">=4.15"}, {"kernel": "unknown"}, False),
        ({"arch": ["mips", "mips64"]}, {"arch": "mips64"}, True),
        ({"arch": "mips"}, {"arch": "x86_64"}, False),
        ({"libc": "glibc", "libc_version": ">=2.37"}, {"libc": "glibc", "libc_version": "2.36"}, False),
        ({"compat": "none"}, {"compat": ()}, True),
        ({"compat": "none"}, {"compat": ("container",)}, False),
        ({"compat": ["wsl1", "gvisor"]}, {"compat": ("gvisor", "container")}, True),
        ({"page_size": 16384}, {"page_size": 16384}, True),
        ({"page_size": [4096, 8192]}, {"page_size": 16384}, False),
        ({"setting": {"vm.overcommit_memory": "2"}}, {"settings": {"vm.overcommit_memory": "2"}}, True),
        (
            {"setting": {"vm.overcommit_memory": ["0", "1"]}},
            {"settings": {"vm.overcommit_memory": "2"}},
            False,
        ),
        # A setting the probe could not read satisfies no condition: the default entry decides.
        ({"setting": {"vm.overcommit_memory": "0"}}, {"settings": {}}, False),
    ],
)
def test_holds(when: dict[str, object], changes: dict[str, object], expected: bool) -> None:
    assert holds(when, run_info(**changes)) is expected


@pytest.mark.parametrize("page_size", [[], True, [True], 0, -4096, 3000, [4096, "16384"]])
def test_a_page_size_condition_takes_powers_of_two_only(page_size: object) -> None:
    assert [field for field, _ in condition_errors({"page_size": page_size})] == ["page_size"]


def test_condition_errors_name_the_field() -> None:
    problems = dict(condition_errors({"kernal": ">=1", "kernel": "4.15", "arch": [], "page_size": "4k"}))
    assert set(problems) == {"kernal", "kernel", "arch", "page_size"}


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("2", "takes a table of settings"),
        ({}, "takes a table of settings"),
        ({"vm.overcommit_memroy": "2"}, "unknown setting 'vm.overcommit_memroy'"),
        ({"vm.overcommit_memory": 2}, "takes a value or a list of values, as strings"),
    ],
)
def test_a_bad_setting_condition_says_what_is_expected(setting: object, problem: str) -> None:
    ((field, message),) = condition_errors({"setting": setting})
    assert field == "setting" and problem in message


def _expect(outcome: str) -> Expectation:
    return Expectation(1, {}, {}, ("cite",), "", "zero-fill", outcome)


@pytest.mark.parametrize(
    ("expected", "observed", "verdict"),
    [
        ("zero", Isolated("zero"), Verdict.PASS),
        ("EINVAL|EBADF", Isolated("EBADF"), Verdict.PASS),
        ("zero", Isolated("file-bytes"), Verdict.DEVIATION),
        ("zero", Isolated("timeout"), Verdict.DEVIATION),
        ("SIGSEGV", Isolated("SIGBUS"), Verdict.DEVIATION),
        ("unknown", Isolated("zero"), Verdict.UNPROFILED),
        (None, Isolated("zero"), Verdict.UNPROFILED),
        ("zero", Isolated("", harness_error="Traceback ..."), Verdict.ERROR),
    ],
)
def test_decide(expected: str | None, observed: Isolated, verdict: Verdict) -> None:
    assert decide(_expect(expected) if expected else None, observed) is verdict
