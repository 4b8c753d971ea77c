"""Known deviations, as lit has XFAIL and XPASS: a profile entry may record a reported bug and
what it makes the platform do. While the bug shows the case is known-deviation, not a failure;
once the documented outcome comes back it is fixed, a failure until the profile drops it."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from anonmap.expect.profiles import ProfileError, load_profile
from selftests.helpers import REPO, complete_profile, run_suite

LINUX = platform.system() == "Linux"
# linux.toml's entry for fd-argument at the libc layer: the fd is ignored, so the mapping is zero.
ENTRY = 'behaviour = "fd-argument"\ncase = { api = "libc", fd = "0" }\n'


def _profile_with(tmp_path: Path, outcome: str, known: str) -> Path:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = (REPO / "platforms" / "linux.toml").read_text()
    text += f'\n[[expect]]\n{ENTRY}outcome = "{outcome}"\nknown = {known}\ncite = ["selftest"]\n'
    (profiles / "linux.toml").write_text(text)
    return profiles


@pytest.mark.skipif(not LINUX, reason="unsupported: the shipped Linux profile is the baseline here")
def test_a_known_bug_that_still_shows_is_a_known_deviation_not_a_failure(tmp_path: Path) -> None:
    profiles = _profile_with(
        tmp_path, "EBADF", '{ observed = "zero", bug = "https://example.invalid/bug/1" }'
    )
    run = run_suite(tmp_path, ["-n", "0", "-k", "fd_argument", f"--anonmap-profiles={profiles}"])
    assert run.returncode == 0, run.output
    verdicts = run.verdicts()
    assert {verdicts["fd-argument[libc-private-fd=0]"], verdicts["fd-argument[libc-shared-fd=0]"]} == {
        "known-deviation"
    }
    assert {v for k, v in verdicts.items() if "fd=0]" not in k or "python" in k} == {"pass"}
    assert run.results is not None
    record = next(r for r in run.results["records"] if r["case"] == "libc-private-fd=0")
    assert "known bug https://example.invalid/bug/1" in record["note"]
    assert "2 xfailed" in run.output


@pytest.mark.skipif(not LINUX, reason="unsupported: the shipped Linux profile is the baseline here")
def test_a_known_bug_that_no_longer_shows_is_fixed_and_fails(tmp_path: Path) -> None:
    profiles = _profile_with(tmp_path, "zero", '{ observed = "EBADF", bug = "PR 123" }')
    run = run_suite(tmp_path, ["-n", "0", "-k", "fd_argument", f"--anonmap-profiles={profiles}"])
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert run.verdicts()["fd-argument[libc-private-fd=0]"] == "fixed"
    assert "the bug PR 123 no longer shows: drop 'known'" in run.output
    assert "FIXED fd-argument[libc-private-fd=0]" in run.output


@pytest.mark.parametrize(
    ("known", "words"),
    [
        ('{ observed = "zero" }', "exactly 'observed' and 'bug'"),
        ('{ observed = "zeroes", bug = "x" }', "'known.observed'"),
        ('{ observed = "zero", bug = "" }', "'known.bug'"),
        ('"bug 1"', "exactly 'observed' and 'bug'"),
    ],
)
def test_a_malformed_known_names_file_line_and_key(tmp_path: Path, known: str, words: str) -> None:
    path = tmp_path / "testos.toml"
    path.write_text(
        complete_profile(f'\n[[expect]]\n{ENTRY}outcome = "EBADF"\nknown = {known}\ncite = ["t"]\n')
    )
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    line = path.read_text().splitlines().index(f"known = {known}") + 1
    assert any(p.startswith(f"{path}:{line}: ") and words in p for p in raised.value.problems), (
        raised.value.problems
    )
