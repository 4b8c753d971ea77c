"""Every property a check observes fails when the platform gets that property wrong.

Linux is made wrong in one way at a time through the real call path, as the personas are made
another platform: a preloaded shim rule (selftests/emulation/shim.c, RULE_WRONG_*) for what only
libc's symbol can bend, a seccomp filter that reports success and does nothing for what the
observer's raw system calls must meet too. The suite then runs with Linux's own profile, and
exactly the cases observing that property must deviate, with the outcome the wrong platform
gives. A check that cannot fail this way is a defect (issue 18).

The shim reaches libc's symbols only: what it makes wrong is caught through the libc api twice,
by Python's executor (ctypes) and by the observer's own executor built on the C library (its
observations judged as the suite judges the libc cases), which runs the same programs as the
raw observer with the same C.
"""

from __future__ import annotations

import dataclasses
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from selftests.helpers import LAUNCH, SuiteRun, run_suite
from selftests.test_clib_observer import build_libc_observer
from selftests.test_observer import EXEC_OBSERVER

LINUX = platform.system() == "Linux"

Record = Mapping[str, object]


def _params(record: Record) -> Mapping[str, str]:
    params = record["params"]
    assert isinstance(params, dict)
    return params


def _libc_case(parameter: str, value: str) -> Callable[[Record], bool]:
    """The libc cases whose ``parameter`` is ``value``: what a shim rule, which only libc's
    symbols meet, can make wrong."""
    return lambda r: _params(r).get(parameter) == value and _params(r)["api"] == "libc"


@dataclasses.dataclass(frozen=True)
class Wrong:
    """One way the platform is made wrong, and the cases that must catch it."""

    #: launch.py's arguments before the build directory: --shim RULE or --seccomp PROGRAM.
    launch: tuple[str, ...]
    #: pytest -k: the behaviours whose cases are run.
    select: str
    #: Which records observe the property (by behaviour, params and what the profile expects).
    observes: Callable[[Record], bool]
    #: What the wrong platform makes those cases observe.
    observed: str


WRONGS = {
    "a wipe on fork that wipes the parent's copy too": Wrong(
        ("--shim", "WRONG_WIPES_PARENT"),
        "fork_controls",
        lambda r: (
            _params(r).get("reader") == "parent"
            and _params(r)["api"] == "libc"
            and r["expected"] == "preserved"
        ),
        "zero",
    ),
    "MAP_FIXED over a mapping showing bytes of the old one": Wrong(
        ("--shim", "WRONG_FIXED_NOT_ZERO"),
        "fixed_mappings",
        lambda r: (
            _params(r).get("placement") == "fixed-over-mapping-contents" and _params(r)["api"] == "libc"
        ),
        "nonzero",
    ),
    "MAP_GROWSDOWN silently dropped": Wrong(
        ("--shim", "WRONG_GROWSDOWN_DROPPED"),
        "stack_guards",
        _libc_case("stack", "growsdown-below"),
        "SIGSEGV",
    ),
    "a commit whose pages are not zero": Wrong(
        ("--shim", "WRONG_PROTECT"),
        "reservations",
        _libc_case("reservation", "commit-slice-read"),
        "nonzero",
    ),
    "PROT_READ|PROT_EXEC memory left writable": Wrong(
        ("--shim", "WRONG_PROTECT"),
        "exec_memory",
        _libc_case("code", "rx-then-write"),
        "ok",
    ),
    "a partial munmap that removes the whole mapping": Wrong(
        ("--shim", "WRONG_MUNMAP_WIDENS"),
        "after_munmap",
        _libc_case("part", "kept-pages"),
        "SIGSEGV",
    ),
    "a munmap that removes nothing": Wrong(
        ("--seccomp", "munmap-ignored"),
        "after_munmap",
        lambda r: _params(r).get("part") != "kept-pages",
        "ok",
    ),
    "an mprotect to executable that changes nothing (the page stays writable)": Wrong(
        ("--seccomp", "exec-mprotect-ignored"),
        "exec_memory",
        lambda r: _params(r)["code"] in ("rw-then-rx", "rw-then-rwx", "rx-then-write"),
        "",
    ),
    "resize() that keeps the length but loses the contents": Wrong(
        ("--shim", "WRONG_RESIZE_LOSES"),
        "python_mmap_api",
        lambda r: _params(r).get("use") == "resize",
        "zero",
    ),
}


def _caught(name: str, wrong: Wrong, run: SuiteRun, by: str) -> None:
    """Exactly the cases observing the property deviated, each with the wrong platform's outcome."""
    assert run.results is not None, run.output
    records = run.results["records"]
    assert isinstance(records, list)
    platform_name = f"{run.results['run_info']['os']} {run.results['run_info']['release']}"
    observing = {f"{r['behaviour']}[{r['case']}]": r for r in records if wrong.observes(r)}
    if not observing:
        pytest.skip(f"unsupported: {platform_name}'s profile expects none of the cases to observe this here")
    deviations = {f"{r['behaviour']}[{r['case']}]": r for r in records if r["verdict"] == "deviation"}
    missed = {
        case: f"expected {r['expected']}, observed {r['observed']} ({r['source']}; {'; '.join(map(str, r['cite']))})"
        for case, r in observing.items()
        if case not in deviations
    }
    assert not missed, (
        f"{name} ({' '.join(wrong.launch)}) on {platform_name}, {by}: these checks passed anyway: {missed}"
    )
    assert set(deviations) == set(observing), (
        f"{name} ({' '.join(wrong.launch)}) on {platform_name}, {by}: cases that do not observe it deviated too: "
        f"{sorted(set(deviations) - set(observing))}"
    )
    if wrong.observed:
        assert {r["observed"] for r in observing.values()} == {wrong.observed}, (
            f"{name} on {platform_name}, {by}: observed {[(c, r['observed']) for c, r in observing.items()]}, "
            f"expected {wrong.observed} in each"
        )


@pytest.mark.skipif(not LINUX, reason="unsupported: the shim and seccomp run on Linux")
@pytest.mark.parametrize("name", sorted(WRONGS))
def test_a_check_fails_where_the_platform_is_wrong(name: str, tmp_path: Path) -> None:
    from selftests.emulation import seccomp

    wrong = WRONGS[name]
    if wrong.launch[0] == "--shim" and shutil.which("cc") is None:
        pytest.skip("unsupported: no C compiler (cc) to build the shim")
    if wrong.launch[0] == "--seccomp" and not seccomp.supported(platform.machine()):
        pytest.skip(f"unsupported: the seccomp programs know no syscall numbers for {platform.machine()}")
    build = ["--build-dir", str(tmp_path)] if wrong.launch[0] == "--shim" else []
    run = run_suite(tmp_path, ["-n", "0", "-k", wrong.select], launcher=[LAUNCH, *wrong.launch, *build, "--"])
    _caught(name, wrong, run, "the suite")


#: What a shim makes wrong in a program's steps (CPython's resize is no step).
THROUGH_THE_C_LIBRARY = sorted(
    n for n, w in WRONGS.items() if w.launch[0] == "--shim" and w.select != "python_mmap_api"
)


@pytest.mark.skipif(not LINUX, reason="unsupported: the shim runs on Linux")
@pytest.mark.parametrize("name", THROUGH_THE_C_LIBRARY)
def test_the_c_library_observer_fails_where_the_platform_is_wrong(name: str, tmp_path: Path) -> None:
    if shutil.which("cc") is None:
        pytest.skip("unsupported: no C compiler (cc) to build the shim and the observer")
    wrong = WRONGS[name]
    binary = build_libc_observer(tmp_path / "observer")
    launched = [
        sys.executable,
        LAUNCH,
        *wrong.launch,
        "--build-dir",
        str(tmp_path),
        "--",
        "-c",
        EXEC_OBSERVER,
    ]
    done = subprocess.run(
        [*launched, str(binary), "--on", "real"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    observations = tmp_path / "observations.jsonl"
    observations.write_text(done.stdout)
    run = run_suite(tmp_path, ["-n", "0", "-k", wrong.select, f"--anonmap-observations={observations}"])
    _caught(name, wrong, run, "the C-library observer")
