"""Porting diffs without a target machine: either side of `anonmap diff` may be a platform's
name, read as its profile documents it, for a release and architecture or the newest."""

from __future__ import annotations

from pathlib import Path

from anonmap.cli import EXIT_DIFFERENT, EXIT_INPUT
from selftests.helpers import anonmap_cli, write_results


def test_two_platforms_documented_differences_with_citations() -> None:
    done = anonmap_cli("diff", "linux", "freebsd")
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    assert "- from: Linux newest documented x86_64 (documented), documented only" in done.stdout
    assert "- `libc-private-fd=0`: zero → EINVAL" in done.stdout
    assert "[EINVAL] MAP_ANON was specified and the fd argument was not -1." in done.stdout
    assert "Portable idiom: Always pass fd = -1" in done.stdout


def test_a_platform_is_not_different_from_itself() -> None:
    done = anonmap_cli("diff", "openbsd", "openbsd")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No observed outcome differs." in done.stdout


def test_a_real_run_against_a_documented_platform(tmp_path: Path) -> None:
    run = write_results(
        tmp_path / "linux.json", "linux", {"libc-private-fd=0": "zero", "libc-private-fd=closed": "zero"}
    )
    done = anonmap_cli("diff", str(run), "netbsd")
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    assert ", real (" in done.stdout and ", documented only (" in done.stdout
    assert "- `libc-private-fd=0`: zero → EINVAL" in done.stdout


def test_the_release_chooses_which_entries_apply() -> None:
    newest = anonmap_cli("diff", "linux", "freebsd")
    old = anonmap_cli("diff", "linux", "freebsd", "--b-release", "700000")
    assert old.returncode == EXIT_DIFFERENT and "FreeBSD 700000 x86_64 (documented)" in old.stdout
    assert old.stdout.replace("700000", "newest documented") != newest.stdout


def test_profiles_are_found_where_anonmap_is_installed(tmp_path: Path) -> None:
    # No platforms/ here: the copy installed with the package answers.
    done = anonmap_cli("diff", "linux", "darwin", cwd=tmp_path)
    assert done.returncode == EXIT_DIFFERENT, done.stderr


def test_an_unknown_platform_is_one_line_naming_the_profiles() -> None:
    done = anonmap_cli("diff", "linux", "frebsd")
    assert done.returncode == EXIT_INPUT
    (line,) = done.stderr.splitlines()
    assert line.startswith("anonmap: frebsd: neither a results file nor a profile") and "freebsd" in line
