"""Adding a behaviour touches the catalogue and one test file, and runs everywhere: in a copy
of the project, a new behaviour's cases run and are unprofiled where no profile speaks for them,
and nothing else changes. A broken catalogue stops the run before any check.

With the syscall api, a behaviour takes three hand-edited files and nothing else: its catalogue
entry, its check written once as a program (anonmap.checks.programs, which Python's executor and
the observer both run, the observer's copy generated into its cases.h), and one entry per
profile that documents it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anonmap import suite
from selftests.helpers import REPO, SuiteRun, run_suite

NEW_BEHAVIOUR = """
[[behaviour]]
id = "zero-fill-after-another"
title = "A mapping made after another is zero-filled too"
claim = "Every call creates a distinct mapping; its contents are initialized to zero."
claim_source = "selftest"
idiom = "Rely on zero fill of every fresh anonymous mapping."
cause = "pages"
[[behaviour.matrix]]
api = ["libc", "python"]
sharing = ["private", "shared"]
"""

NEW_TEST = """
import pytest

from anonmap.apis import fdkinds
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.apis.registry import map_region
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("zero-fill-after-another")
def test_zero_fill_after_another(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        map_region(case["api"], PAGE, flags).write(0, b"first")
        return fdkinds.content(map_region(case["api"], PAGE, flags).read(0, PAGE))

    judge.run(check)
"""


#: Left out of the copy: anywhere in the tree, and at its top only (a run's results/, not the
#: package's results stage).
_LEFT_OUT = {".git", ".tox", "__pycache__", ".qemu-user", ".ruff_cache", ".mypy_cache"}
_LEFT_OUT_AT_TOP = {"results", "docs"}


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "anonmap"

    def left_out(directory: str, names: list[str]) -> set[str]:
        top = _LEFT_OUT_AT_TOP if Path(directory) == REPO else set()
        return {name for name in names if name in _LEFT_OUT or name in top}

    shutil.copytree(REPO, copy, ignore=left_out)
    return copy


def _add_behaviour(copy: Path, entry: str) -> None:
    """The new behaviour's catalogue entry and its Python check, added to ``copy``."""
    catalogue = copy / "src" / "anonmap" / "data" / "behaviours.toml"
    catalogue.write_text(catalogue.read_text() + entry)
    (copy / "tests" / "test_zero_fill_after_another.py").write_text(NEW_TEST)


def _run(copy: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # The copy's package, not the installed one: its catalogue is the one under test.
    env["PYTHONPATH"] = str(copy / "src")
    command = suite.command([f"--anonmap-results={tmp_path / 'results.json'}", "-n", "0"])
    return subprocess.run(
        command, cwd=copy, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _records(tmp_path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((tmp_path / "results.json").read_text())["records"]
    return records


def _of_new_behaviour(records: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {
        r["case"]: (r["verdict"], r["observed"])
        for r in records
        if r["behaviour"] == "zero-fill-after-another"
    }


@pytest.mark.skipif(
    sys.platform != "linux", reason="unsupported: the shipped Linux profile is the baseline here"
)
def test_a_new_behaviour_is_one_catalogue_entry_and_one_test_file(tmp_path: Path) -> None:
    baseline: SuiteRun = run_suite(tmp_path / "baseline", ["-n", "0"])
    copy = _copy(tmp_path)
    _add_behaviour(copy, NEW_BEHAVIOUR)
    done = _run(copy, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    records = _records(tmp_path)
    new = _of_new_behaviour(records)
    assert new == {
        case: ("unprofiled", "zero")
        for case in ("libc-private", "libc-shared", "python-private", "python-shared")
    }
    old = {
        f"{r['behaviour']}[{r['case']}]": r["verdict"]
        for r in records
        if r["behaviour"] != "zero-fill-after-another"
    }
    assert old == baseline.verdicts()
    assert "UNPROFILED: 4 case(s)" in done.stdout


def test_a_broken_catalogue_stops_the_run_before_any_check(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    catalogue = copy / "src" / "anonmap" / "data" / "behaviours.toml"
    catalogue.write_text(
        catalogue.read_text().replace(
            'api = ["libc", "python", "syscall"]', 'api = ["libc", "pyhton", "syscall"]', 1
        )
    )
    done = _run(copy, tmp_path)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "invalid catalogue" in done.stderr and "'pyhton'" in done.stderr
    assert not (tmp_path / "results.json").exists()


SYSCALL_BEHAVIOUR = NEW_BEHAVIOUR.replace('api = ["libc", "python"]', 'api = ["libc", "python", "syscall"]')

#: The new behaviour's check: a program of steps, which every call interface runs.
NEW_CHECK = """

@check("zero-fill-after-another")
def zero_fill_after_another(case: Case) -> Program:
    return (
        _map(0, PAGE, _anonymous(case)),
        Step(Op.WRITE, pattern="FIRST"),
        _map(1, PAGE, _anonymous(case)),
        Step(Op.END_CONTENT, reg=1, length=PAGE),
    )
"""


@pytest.mark.skipif(
    sys.platform != "linux", reason="unsupported: the observer is built and run on Linux here"
)
def test_a_behaviour_given_the_syscall_api_is_its_entry_one_check_and_its_profiles(tmp_path: Path) -> None:
    if shutil.which("cc") is None:
        pytest.skip("unsupported: no C compiler (cc) to build the observer")
    copy = _copy(tmp_path)
    before = _files(copy)
    catalogue = copy / "src" / "anonmap" / "data" / "behaviours.toml"
    catalogue.write_text(catalogue.read_text() + SYSCALL_BEHAVIOUR)
    # Without its check the observer cannot be built: every syscall case is an error naming it.
    done = _run(copy, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    syscall = [r for r in _records(tmp_path) if r["params"].get("api") == "syscall"]
    assert syscall and {r["verdict"] for r in syscall} == {"error"}
    assert all("zero-fill-after-another" in r["detail"] and "no check" in r["detail"] for r in syscall)
    # With it, every case of the new behaviour runs, whichever api makes it.
    checks = copy / "src" / "anonmap" / "checks" / "programs.py"
    checks.write_text(checks.read_text() + NEW_CHECK)
    done = _run(copy, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    every_case = [
        f"{api}-{sharing}" for api in ("libc", "python", "syscall") for sharing in ("private", "shared")
    ]
    assert _of_new_behaviour(_records(tmp_path)) == {case: ("unprofiled", "zero") for case in every_case}
    # Documented in this host's profile, every case passes, whichever api made it.
    profile = copy / "platforms" / "linux.toml"
    profile.write_text(profile.read_text() + NEW_EXPECTATION)
    done = _run(copy, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _of_new_behaviour(_records(tmp_path)) == {case: ("pass", "zero") for case in every_case}
    # What it took: the catalogue entry, the check, and the profile's entry; no other file was
    # edited by hand (the observer's cases.h is generated at build time).
    assert _edited(before, copy) == [
        "platforms/linux.toml",
        "src/anonmap/checks/programs.py",
        "src/anonmap/data/behaviours.toml",
    ]


NEW_EXPECTATION = """
[[expect]]
behaviour = "zero-fill-after-another"
outcome = "zero"
cite = ["man: mmap(2) MAP_ANONYMOUS: 'its contents are initialized to zero'"]
"""


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _edited(before: dict[str, bytes], copy: Path) -> list[str]:
    """The files of ``copy`` that differ from ``before``, or that it alone has."""
    return sorted(name for name, data in _files(copy).items() if before.get(name) != data)
