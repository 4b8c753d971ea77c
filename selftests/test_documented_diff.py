"""Porting diffs without a target machine: either side of `anonmap diff` may be a platform's
name, read as its profile documents it, for a release and architecture or the newest."""

from __future__ import annotations

from pathlib import Path

from anonmap.cli import EXIT_DIFFERENT, EXIT_INPUT
from anonmap.expect.catalogue import causes
from selftests.helpers import anonmap_cli, write_results


def test_two_platforms_documented_differences_with_citations() -> None:
    done = anonmap_cli("diff", "linux", "freebsd")
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    assert "- from: Linux newest documented x86_64 (documented), documented only" in done.stdout
    assert "- `private-fd=0` (libc, syscall): zero → EINVAL" in done.stdout
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
    assert "- `private-fd=0` (libc): zero → EINVAL" in done.stdout


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


def test_linux_to_openbsd_opens_with_what_to_change_by_cause_on_one_screen() -> None:
    done = anonmap_cli("diff", "linux", "openbsd")
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    head = done.stdout.split("## Detail")[0].splitlines()
    assert len(head) <= 40, len(head)
    fd = causes()["fd"]
    # Every fd case differs: 12 libc, 12 syscall and 4 python variants, one cause.
    assert f"- **{fd.summary}**: 28 case(s); `{fd.idiom}`" in head
    assert any(line.startswith(f"- **{causes()['wx'].summary}**") for line in head)
    # The detail folds the interfaces that agree, and gives each cause its heading.
    assert "- `private-fd=dev-zero` (libc, python, syscall): zero → EINVAL" in done.stdout
    assert "libc-private-fd=dev-zero" not in done.stdout
    assert f"## {fd.summary[0].upper()}{fd.summary[1:]}" in done.stdout
