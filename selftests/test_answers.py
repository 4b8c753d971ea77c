"""anonmap.documented(): what a platform documents for a behaviour and case, asked from code
without performing it, with the citations and the portable idiom, and fast enough to ask at
run time."""

from __future__ import annotations

import sys
import time

import pytest

import anonmap
from anonmap.expect.catalogue import behaviours
from anonmap.expect.profiles import load_profile
from anonmap.host import installation


def test_a_named_platform_answers_with_its_profiles_entry_and_citation() -> None:
    answer = anonmap.documented("fd-argument", "libc-private-fd=0", "freebsd")
    assert (answer.platform, answer.outcome, answer.outcomes) == ("freebsd", "EINVAL", ("EINVAL",))
    assert answer.allows("EINVAL") and not answer.allows("zero")
    assert answer.cite and all(answer.cite), "an answer without its citation"
    path, line = answer.source.rsplit(":", 1)
    entry = next(
        e for e in load_profile(installation.profiles() / "freebsd.toml").expectations if e.line == int(line)
    )
    assert (entry.behaviour, entry.outcome, entry.cite) == ("fd-argument", "EINVAL", answer.cite), path
    assert answer.idiom == behaviours()["fd-argument"].idiom


def test_a_case_is_asked_by_its_id_or_its_parameters() -> None:
    by_id = anonmap.documented("zero-fill", "python-shared-size=page+1", "openbsd")
    by_params = anonmap.documented(
        "zero-fill", {"api": "python", "sharing": "shared", "size": "page+1"}, "openbsd"
    )
    assert by_id == by_params


@pytest.mark.skipif(sys.platform != "linux", reason="unsupported: this host's profile is checked on Linux")
def test_this_host_is_answered_by_its_own_profile() -> None:
    answer = anonmap.documented("zero-fill", "libc-private-size=page")
    assert (answer.platform, answer.outcome) == ("linux", "zero")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("zero-fil", "libc-private-size=page", "linux"), "no behaviour 'zero-fil'"),
        (("zero-fill", "libc-private-size=huge", "linux"), "zero-fill has no case 'libc-private-size=huge'"),
        (("zero-fill", "libc-private-size=page", "plan9"), "no profile for 'plan9'"),
    ],
)
def test_what_is_not_documented_is_one_lookup_error_naming_what_is(
    args: tuple[str, str, str], says: str
) -> None:
    with pytest.raises(anonmap.NotDocumented, match=says):
        anonmap.documented(*args)


def test_an_answer_costs_no_more_than_the_probe_once_profiles_are_read() -> None:
    anonmap.documented("madvise", "libc-private-advice=MADV_FREE", "netbsd")
    started = time.perf_counter()
    for _ in range(100):
        anonmap.documented("madvise", "libc-private-advice=MADV_FREE", "netbsd")
    each = (time.perf_counter() - started) / 100
    # The probe's budget (bench/FIGURES.md): under 50 ms a call; an answer is far below it.
    assert each < 0.050, f"{each * 1000:.1f} ms an answer"
