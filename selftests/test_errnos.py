"""One word per errno: the observer (its table in abi.h) and the Python apis (``errnos.name``)
record each errno number under the same name."""

from __future__ import annotations

import errno
import platform
import re
from importlib import resources

import pytest

from anonmap.expect import errnos, outcomes
from anonmap.run.ending import CallRefused

_ENTRY = re.compile(r'\{(\d+), "(E[A-Z0-9]+)"\}')


def _observer_errnos() -> tuple[dict[int, str], dict[int, str]]:
    """The observer's errno table as (Linux, the BSDs): the entries both share, and each
    branch of its ``#if defined(__linux__)``."""
    text = resources.files("anonmap").joinpath("data/observer/abi.h").read_text()
    table = text.split("obs_errnos[] = {", 1)[1].split("{0, 0}};", 1)[0]
    shared, rest = table.split("#if defined(__linux__)")
    linux, bsd = rest.split("#else")
    bsd = bsd.split("#endif")[0]

    def entries(part: str) -> dict[int, str]:
        return {int(number): name for number, name in _ENTRY.findall(part)}

    return {**entries(shared), **entries(linux)}, {**entries(shared), **entries(bsd)}


def test_the_observer_names_no_alias() -> None:
    for table in _observer_errnos():
        assert table and not set(table.values()) & set(errnos.CANONICAL), table


@pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: the table's Linux branch")
def test_every_errno_the_observer_names_is_the_python_apis_word() -> None:
    linux, _ = _observer_errnos()
    assert {number: errnos.name(number) for number in linux} == linux


def test_a_number_with_two_names_is_recorded_by_its_canonical_one() -> None:
    for alias, canonical in errnos.CANONICAL.items():
        number = getattr(errno, canonical, None)
        if number is not None and getattr(errno, alias, None) == number:
            assert errnos.name(number) == canonical
            assert CallRefused("mmap", number).outcome == canonical


def test_every_errno_number_has_one_word_and_it_is_an_outcome() -> None:
    names: dict[int, set[str]] = {}
    for name in dir(errno):
        if name.startswith("E") and isinstance(getattr(errno, name), int):
            names.setdefault(getattr(errno, name), set()).add(name)
    for number, spellings in names.items():
        word = errnos.name(number)
        assert word in spellings and outcomes.is_outcome(word), (number, spellings)
        # The word is the same whichever spelling a check's errno came by.
        assert {errnos.name(getattr(errno, spelling)) for spelling in spellings} == {word}


def test_an_errno_the_platform_does_not_name_reads_as_its_number() -> None:
    unnamed = max(errno.errorcode) + 1000
    assert errnos.name(unnamed) == f"E{unnamed}"
    assert outcomes.is_outcome(f"E{unnamed}")
