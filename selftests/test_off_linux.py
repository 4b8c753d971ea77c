"""The whole suite with no profile, and with os.uname() answering as each platform the CI
matrix runs on: whatever the probe or the profile makes of it, no case is a harness error."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftests.helpers import REPO, SuiteRun, run_suite

# As each system's uname(2) answers: illumos and Solaris per illumos-gate vers.c and Oracle's
# uts_version; the BSDs' machine names per their param.h (MACHINE).
UNAMES = {
    "darwin": ("Darwin", "24.6.0", "Darwin Kernel Version 24.6.0: RELEASE_ARM64_T8103", "arm64"),
    "freebsd": ("FreeBSD", "14.3-RELEASE", "FreeBSD 14.3-RELEASE GENERIC", "amd64"),
    "openbsd": ("OpenBSD", "7.8", "GENERIC.MP#54", "amd64"),
    "netbsd": ("NetBSD", "10.1", "NetBSD 10.1 (GENERIC) #0", "amd64"),
    "dragonfly": ("DragonFly", "6.4-RELEASE", "DragonFly v6.4.2-RELEASE", "x86_64"),
    "illumos": ("SunOS", "5.11", "omnios-r151054-6ad70ba62c", "i86pc"),
    "solaris": ("SunOS", "5.11", "11.4.81.193.1", "i86pc"),
}


def _assert_clean(run: SuiteRun) -> None:
    assert run.results is not None, run.output
    errors = {case: verdict for case, verdict in run.verdicts().items() if verdict == "error"}
    assert errors == {}, run.output
    assert run.results["complete"] is True, run.output


def test_the_whole_suite_without_a_profile_records_no_error(tmp_path: Path) -> None:
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    run = run_suite(tmp_path, ["-n", "0", f"--anonmap-profiles={empty}"])
    _assert_clean(run)
    assert set(run.verdicts().values()) <= {"unprofiled", "unsupported"}
    assert run.returncode == 0, run.output


@pytest.mark.parametrize("platform", sorted(UNAMES))
@pytest.mark.parametrize("profiles", ["shipped", "none"])
def test_the_whole_suite_under_a_faked_uname_records_no_error(
    tmp_path: Path, platform: str, profiles: str
) -> None:
    args = ["-n", "0"]
    if profiles == "none":
        (tmp_path / "no-profiles").mkdir()
        args.append(f"--anonmap-profiles={tmp_path / 'no-profiles'}")
    launcher = [str(REPO / "selftests" / "fake_uname.py"), *UNAMES[platform], "--"]
    run = run_suite(tmp_path, args, launcher=launcher)
    _assert_clean(run)
    assert run.results is not None
    assert run.results["run_info"]["os"] == platform
    if profiles == "none" or platform == "solaris":
        assert set(run.verdicts().values()) <= {"unprofiled", "unsupported"}, run.output
    else:
        assert run.results["profile"]["name"] == platform
