from __future__ import annotations

import pytest

from anonmap.expect import outcomes
from anonmap.host.versions import constraint_error, parse_version, satisfies


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("6.1.0-18-amd64", (6, 1, 0)),
        ("6.18.44-fc-v595", (6, 18, 44)),
        ("14.1-RELEASE-p5", (14, 1)),
        ("7.6", (7, 6)),
        ("23.4.0", (23, 4, 0)),
        ("4.4.0-19041-Microsoft", (4, 4, 0)),
        ("omnios-r151050", (151050,)),
        ("", None),
        ("unknown", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, ...] | None) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ((4, 15), ">=4.15", True),
        ((4, 15, 0), "==4.15", True),
        ((4, 14, 99), ">=4.15", False),
        ((5, 0), ">=4.15,<6", True),
        ((6, 0), ">=4.15,<6", False),
        ((2, 4), ">2.3.99", True),
        ((2, 4), "!=2.4.0", False),
    ],
)
def test_satisfies(version: tuple[int, ...], constraint: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize("constraint", ["4.15", ">=", "~=4.1", ">=4.15;<6", ">= four"])
def test_malformed_constraints_say_what_is_expected(constraint: str) -> None:
    error = constraint_error(constraint)
    assert error is not None and "operator" in error


@pytest.mark.parametrize(
    "word", ["ok", "zero", "EINVAL", "EOPNOTSUPP", "SIGSEGV", "SIGBUS", "0x20", "ValueError", "timeout"]
)
def test_outcome_words(word: str) -> None:
    assert outcomes.is_outcome(word)


@pytest.mark.parametrize("word", ["Ok", "einval", "0X20", "segfault", "", "EINVAL "])
def test_non_outcomes(word: str) -> None:
    assert not outcomes.is_outcome(word)


def test_alternatives_match_any_listed_outcome() -> None:
    assert outcomes.matches("EINVAL|EBADF", "EBADF")
    assert outcomes.matches("EINVAL | EBADF", "EINVAL")
    assert not outcomes.matches("EINVAL|EBADF", "ok")
    assert outcomes.invalid_words("EINVAL|bogus") == ["bogus"]
    assert outcomes.invalid_words(outcomes.UNKNOWN) == []
