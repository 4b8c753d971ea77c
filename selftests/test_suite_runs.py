"""The suite end to end, in fresh processes: results, xdist equality, errors, and the
seccomp proof that it notices when the kernel deviates."""

from __future__ import annotations

import mmap
import platform
from pathlib import Path

import pytest

from anonmap.expect.catalogue import behaviours
from selftests.helpers import REPO, run_suite, seccomp_launcher

LINUX = platform.system() == "Linux"


def _records(data: dict[str, object]) -> list[dict[str, object]]:
    records = data["records"]
    assert isinstance(records, list)
    return records


@pytest.mark.skipif(not LINUX, reason="the shipped Linux profile is the one under test here")
def test_serial_and_parallel_runs_write_equal_results(tmp_path: Path) -> None:
    serial = run_suite(tmp_path / "serial", ["-n", "0"])
    parallel = run_suite(tmp_path / "parallel", ["-n", "2"])
    assert serial.returncode == 0, serial.output
    assert parallel.returncode == 0, parallel.output
    assert serial.results is not None and parallel.results is not None
    assert _records(serial.results) == _records(parallel.results)
    assert serial.results["run_info"] == parallel.results["run_info"]
    # Passes, except where this machine lacks an optional compiler (a bare machine has gcc
    # alone): those cases are unsupported, and say which compiler.
    absent = {name for name, path in serial.results["run_info"]["compilers"].items() if not path}
    for record in _records(serial.results):
        if record["verdict"] != "pass":
            assert record["verdict"] == "unsupported", record
            params = record["params"]
            assert isinstance(params, dict) and params.get("compiler") in absent, record
            assert "on PATH" in str(record["detail"]), record
    total = sum(len(b.cases) for b in behaviours().values())
    assert len(_records(serial.results)) == total
    assert "anonmap: linux" in serial.output and "total" in serial.output


def test_without_a_profile_the_suite_runs_passes_and_says_unprofiled_loudly(tmp_path: Path) -> None:
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    run = run_suite(tmp_path, [f"--anonmap-profiles={empty}", "-k", "zero_fill"])
    assert run.returncode == 0, run.output
    assert set(run.verdicts().values()) == {"unprofiled"}
    # libc and python (16), and the syscall api's (8): -k selects every call interface's cases.
    assert "UNPROFILED: 24 case(s)" in run.output
    assert "NO PROFILE" in run.output


def test_a_malformed_profile_stops_the_run_naming_file_line_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "profiles"
    broken.mkdir()
    text = (REPO / "platforms" / "linux.toml").read_text()
    (broken / "linux.toml").write_text(text.replace('outcome = "zero"', 'outcome = "zeroes"', 1))
    run = run_suite(tmp_path, [f"--anonmap-profiles={broken}", "--anonmap-platform=linux"])
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    line = 1 + text[: text.index('outcome = "zero"')].count("\n")
    assert f"linux.toml:{line}: " in run.output and "key 'outcome'" in run.output
    assert run.results is None, "no results file may be written when the run could not start"


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--anonmap-time-limit=soon", "expected a number of seconds above 0"),
        ("--anonmap-time-limit=inf", "at most 3600"),
        ("--anonmap-profiles=/nonexistent", "expected an existing directory"),
        ("--anonmap-label=a/b", "expected a platform label"),
        ("--anonmap-results=/proc/anonmap.json", "cannot be written"),
        ("--anonmap-platform=../etc", "expected a profile name"),
    ],
)
def test_a_bad_option_says_what_is_expected(tmp_path: Path, option: str, expected: str) -> None:
    run = run_suite(tmp_path, [option])
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert expected in run.output


def _under_seccomp(program: str) -> list[str]:
    """The launcher that loads one of the seccomp programs into the suite, or skip where this
    machine's syscall numbers are not known to them."""
    from selftests.emulation import seccomp

    if not seccomp.supported(platform.machine()):
        pytest.skip(f"unsupported: the seccomp programs know no syscall numbers for {platform.machine()}")
    return seccomp_launcher(program)


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux's")
def test_seccomp_refusing_anonymous_fds_flips_exactly_the_fd_cases(tmp_path: Path) -> None:
    launcher = _under_seccomp("fd-must-be-minus-one")
    run = run_suite(tmp_path, ["-n", "0"], launcher=launcher)
    assert run.results is not None, run.output
    deviations = {name for name, verdict in run.verdicts().items() if verdict == "deviation"}
    # Derived from the catalogue, not listed: every case that passes MAP_ANONYMOUS with an fd
    # other than -1.
    fd_cases = {
        f"{case.behaviour}[{case.id}]"
        for behaviour in behaviours().values()
        for case in behaviour.cases
        if case.params.get("fd", "-1") != "-1"
    }
    assert fd_cases, "the catalogue has no fd cases"
    assert deviations == fd_cases
    assert run.returncode == pytest.ExitCode.TESTS_FAILED
    assert "observed: EINVAL" in run.output
    assert mmap.MAP_ANONYMOUS  # the filter keyed on the same constant the suite uses


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux's")
def test_a_sandbox_that_blocks_fork_makes_every_case_unsupported_not_a_deviation(tmp_path: Path) -> None:
    launcher = _under_seccomp("fork-blocked")
    run = run_suite(tmp_path, ["-n", "0", "-rs", "-k", "zero_fill or shared_anonymous"], launcher=launcher)
    assert run.returncode == 0, run.output
    assert run.results is not None
    assert {r["verdict"] for r in _records(run.results)} == {"unsupported"}
    assert all("fork" in str(r["detail"]) for r in _records(run.results))
    assert "unsupported: fork: fork() failed here" in run.output


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux's")
def test_a_filter_answering_a_kernels_errno_is_a_deviation_that_names_the_filter(tmp_path: Path) -> None:
    """A filter answering ENOMEM, as a kernel short of memory would: nothing tells the two apart,
    so every shared anonymous case is a deviation (a sandbox must not hide a platform's), and
    each says a filter is installed and how to tell; the private cases are untouched."""
    from anonmap.plugin.judge import FILTERED

    launcher = _under_seccomp("shared-anonymous-enomem")
    run = run_suite(tmp_path, ["-n", "0", "-k", "zero_fill"], launcher=launcher)
    assert run.results is not None, run.output
    records = _records(run.results)
    shared = [r for r in records if "-shared-" in str(r["case"])]
    assert shared and all(r["verdict"] == "deviation" and r["observed"] == "ENOMEM" for r in shared), shared
    assert all(FILTERED in str(r["detail"]) for r in shared), shared
    assert {r["verdict"] for r in records if r not in shared} == {"pass"}
    assert FILTERED in run.output


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux's")
def test_a_kernel_without_the_fork_advice_flips_exactly_the_cases_that_depend_on_it(tmp_path: Path) -> None:
    launcher = _under_seccomp("fork-advice-einval")
    run = run_suite(tmp_path, ["-n", "0", "-k", "fork_controls or syscall"], launcher=launcher)
    assert run.results is not None, run.output
    deviations = {name for name, verdict in run.verdicts().items() if verdict == "deviation"}
    # Derived from the catalogue and the profile: every fork-controls case that gives the
    # refused advice (KEEPONFORK asks for a wipe first), except those Linux refuses anyway.
    records = {f"{r['behaviour']}[{r['case']}]": r for r in _records(run.results)}
    dependent = set()
    for name, record in records.items():
        params = record["params"]
        assert isinstance(params, dict)
        refused = params.get("control") in ("MADV_DONTFORK", "MADV_WIPEONFORK", "MADV_KEEPONFORK")
        if record["behaviour"] == "fork-controls" and refused and record["expected"] != "EINVAL":
            dependent.add(name)
    assert dependent and deviations == dependent
    assert {records[name]["observed"] for name in deviations} == {"EINVAL"}


def _exec_cases(records: dict[str, dict[str, object]]) -> set[str]:
    """The exec-memory cases that ask the kernel for PROT_EXEC (MAP_JIT is absent on Linux)."""
    return {
        name
        for name, record in records.items()
        if record["behaviour"] == "exec-memory" and record["expected"] != "absent"
    }


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux's")
@pytest.mark.parametrize("refusal", ["exec-eacces", "exec-eperm"])
def test_a_kernel_or_a_sandbox_refusing_executable_memory(refusal: str, tmp_path: Path) -> None:
    """EACCES, as a kernel enforcing W^X answers: a deviation on exactly the cases that ask for
    PROT_EXEC. EPERM under a filter, as systemd's MemoryDenyWriteExecute= answers: the
    sandbox's policy, so the same cases are unsupported and nothing deviates."""
    launcher = _under_seccomp(refusal)
    run = run_suite(tmp_path, ["-n", "0", "-k", "exec_memory or syscall"], launcher=launcher)
    assert run.results is not None, run.output
    records = {f"{r['behaviour']}[{r['case']}]": r for r in _records(run.results)}
    dependent = _exec_cases(records)
    assert len(dependent) == 8  # rwx-at-mmap, rw-then-rx, rw-then-rwx, rx-then-write; libc and syscall
    verdicts = {name: record["verdict"] for name, record in records.items() if record["verdict"] != "pass"}
    if refusal == "exec-eacces":
        assert verdicts == dict.fromkeys(dependent, "deviation")
        assert {records[name]["observed"] for name in dependent} == {"EACCES"}
    else:
        assert verdicts == dict.fromkeys(dependent, "unsupported")
        assert all("seccomp filter" in str(records[name]["detail"]) for name in dependent)
