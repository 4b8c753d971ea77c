"""One word per errno: the observer (its obs_errnos, generated into cases.h) and the Python
apis (``errnos.name``) record each errno number under the same name."""

from __future__ import annotations

import errno
import platform
import re
from importlib import resources

import pytest

from anonmap.apis.syscall import build
from anonmap.expect import errnos, outcomes
from anonmap.run.ending import CallRefused

_ENTRY = re.compile(r'\{(\d+), "(E[A-Z0-9]+)"\}')


def _entries(text: str) -> dict[int, str]:
    return {int(number): name for number, name in _ENTRY.findall(text)}


def _cross_tables() -> tuple[dict[int, str], dict[int, str]]:
    """abi.h's tables for a raw observer cross-built for another system: (Linux, the BSDs)."""
    text = resources.files("anonmap").joinpath("data/observer/abi.h").read_text()
    tables = text.split("#define OBS_CROSS_ERRNOS")[1:]
    linux, bsd = (table.split("#e", 1)[0] for table in tables)
    return _entries(linux), _entries(bsd)


def test_an_observer_built_here_names_every_errno_as_the_python_apis_do() -> None:
    table = _entries(build.case_header({}, build.SYSCALL_API, host=True).split("obs_errnos[] = {", 1)[1])
    assert table == {number: errnos.name(number) for number in errno.errorcode}
    # What once read E21 on Linux (an errno outside a hand-typed table) has its name.
    assert table[errno.EISDIR] == "EISDIR"


def test_a_c_library_observer_looks_every_name_up_canonical_names_first() -> None:
    header = build.case_header({}, build.LIBC_API, host=True)
    names = re.findall(r"#ifdef (E[A-Z0-9]+)", header)
    assert set(names) >= {errnos.name(number) for number in errno.errorcode}
    first_alias = min(names.index(alias) for alias in errnos.CANONICAL if alias in names)
    assert all(names.index(canonical) < first_alias for canonical in errnos.CANONICAL.values())


def test_a_cross_built_observer_names_no_alias() -> None:
    for table in _cross_tables():
        assert table and not set(table.values()) & set(errnos.CANONICAL), table
    assert "OBS_CROSS_ERRNOS" in build.case_header({}, build.SYSCALL_API, host=False)


@pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: the cross table's Linux branch")
def test_every_errno_the_cross_built_linux_observer_names_is_the_python_apis_word() -> None:
    linux, _ = _cross_tables()
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
