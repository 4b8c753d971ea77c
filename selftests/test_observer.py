"""The freestanding observer (the syscall api) and observations judged elsewhere.

On this machine the observer's answers must agree with the libc api's wherever the profile
does not cite libc as the reason they differ; a seccomp filter must flip exactly the cases it
targets; observations it printed, judged through --anonmap-observations, must give the verdicts
of a direct run (here, under the FreeBSD persona's filter, and cross-built for aarch64 under
qemu-user); and a bad observations file is refused in one line, before any case runs.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anonmap.apis.syscall import build as observer
from anonmap.apis.syscall.observations import ObservationsError, parse
from selftests.emulation import seccomp
from selftests.helpers import (
    LAUNCH,
    REPO,
    ZEROS_OVER_DEV_ZERO,
    SuiteRun,
    anonmap_cli,
    captured,
    in_private_mounts,
    persona_launcher,
    run_suite,
)

pytestmark = [
    pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: these runs are Linux's"),
    pytest.mark.skipif(
        shutil.which("cc") is None, reason="unsupported: no C compiler (cc) to build the observer"
    ),
]

FREEBSD_PERSONA = REPO / "selftests" / "emulation" / "personas" / "freebsd.toml"
#: Runs the observer (argv[1:]) from the launcher, which execs Python after loading a filter.
EXEC_OBSERVER = "import os, sys; os.execv(sys.argv[1], sys.argv[1:])"


def _records(run: SuiteRun) -> dict[str, dict[str, Any]]:
    assert run.results is not None, run.output
    return {f"{r['behaviour']}[{r['case']}]": r for r in run.results["records"]}


def _syscall(records: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {
        name: (r["verdict"], r["observed"])
        for name, r in records.items()
        if r["params"].get("api") == "syscall"
    }


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The whole suite run here, once: the observer built with the host's compiler."""
    run = run_suite(tmp_path_factory.mktemp("direct"), ["-n", "0"])
    assert run.returncode == 0, run.output
    return _records(run)


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The observer for this machine, built as docs/observer.md says."""
    directory = tmp_path_factory.mktemp("observer")
    done = anonmap_cli("observer", "--output", f"{directory}/")
    assert done.returncode == 0, done.stderr
    (built,) = directory.iterdir()
    return built


def _observe(binary: Path, *launcher: str, on: str = "real") -> str:
    command = [*launcher, str(binary), "--on", on] if launcher else [str(binary), "--on", on]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _under_seccomp(program: str) -> tuple[str, ...]:
    if not seccomp.supported(platform.machine()):
        pytest.skip(f"unsupported: the seccomp programs know no syscall numbers for {platform.machine()}")
    return (sys.executable, LAUNCH, "--seccomp", program, "--", "-c", EXEC_OBSERVER)


def test_every_observer_case_passes_here(direct: dict[str, dict[str, Any]]) -> None:
    verdicts = {name: verdict for name, (verdict, _) in _syscall(direct).items()}
    assert len(verdicts) == len(observer.cases())
    assert set(verdicts.values()) <= {"pass", "unsupported"}, verdicts


def test_the_observer_agrees_with_libc_except_where_the_profile_cites_libc(
    direct: dict[str, dict[str, Any]],
) -> None:
    differ = []
    compared = skipped = 0
    for name, record in direct.items():
        if record["params"].get("api") != "syscall":
            continue
        # Every syscall case has a libc twin, and a pair is left uncompared only where one side
        # could not be observed here.
        twin = direct[name.replace("[syscall-", "[libc-", 1)]
        if "unsupported" in (record["verdict"], twin["verdict"]):
            skipped += 1
            continue
        assert (record["verdict"], twin["verdict"]) == ("pass", "pass"), (name, record, twin)
        compared += 1
        if twin["observed"] != record["observed"]:
            differ.append((name, twin["observed"], record["observed"], twin["cite"]))
    assert compared + skipped == len(observer.cases())
    for name, libc, kernel, cite in differ:
        assert any("glibc" in c or "musl" in c for c in cite), (
            f"{name}: libc observed {libc}, the kernel {kernel}, and the profile cites no libc: {cite}"
        )


def test_a_seccomp_filter_flips_exactly_the_cases_it_targets(binary: Path) -> None:
    plain = parse(_observe(binary), "plain").findings
    filtered = parse(_observe(binary, *_under_seccomp("freebsd-anonymous")), "filtered").findings
    flipped = {name for name in plain if plain[name] != filtered[name]}
    # freebsd-anonymous refuses MAP_ANON with fd != -1 or a non-zero offset (EINVAL): every
    # fd-argument case, and the aligned anonymous offsets (the unaligned one is EINVAL anyway):
    # offset-argument's page and page-granularity's 4 KiB.
    targets = {
        observer.label(c)
        for c in observer.cases()
        if c.behaviour == "fd-argument"
        or (c.behaviour == "offset-argument" and c.id.endswith("anonymous-offset=page"))
        or (c.behaviour == "page-granularity" and c.params["assumed"] == "offset-4k")
    }
    assert flipped == targets
    assert {filtered[name].outcome for name in targets} == {"EINVAL"}


def test_what_the_observer_cannot_see_is_unsupported_never_a_claim(binary: Path) -> None:
    # With wait4 denied, a child that died of a signal leaves no result and no status: the
    # observer must say it could not see, not that the child "exited and sent no result".
    plain = parse(_observe(binary), "plain").findings
    filtered = parse(_observe(binary, *_under_seccomp("wait4-eperm")), "filtered").findings
    assert not [name for name, found in filtered.items() if found.harness], filtered
    signalled = [name for name, found in plain.items() if found.outcome.startswith("SIG")]
    assert signalled, "no case here ends by a signal: nothing to prove"
    for name in signalled:
        assert filtered[name].outcome in ("", plain[name].outcome), (name, filtered[name])
        if not filtered[name].outcome:
            assert "could not wait" in filtered[name].unsupported or "wait4" in filtered[name].unsupported, (
                name,
                filtered[name],
            )


@pytest.mark.skipif(
    not (sys.platform == "linux" and shutil.which("unshare") and os.geteuid() == 0),
    reason="unsupported: binds a file over /dev/zero in a mount namespace (root, unshare)",
)
def test_a_file_bound_over_dev_zero_is_no_zero_device_to_the_observer(binary: Path) -> None:
    # A regular file of zeros reads as /dev/zero does; the observer, like the probe, must not
    # take it for the zero device, or observations judged elsewhere would claim /dev/zero cases.
    done = captured(in_private_mounts(f"{ZEROS_OVER_DEV_ZERO} && exec {binary} --on real"), REPO)
    header = json.loads(done.stdout.splitlines()[0])
    state = header["capabilities"]["dev-zero"]
    assert not state["available"] and "not a character device" in state["detail"], state


def test_observations_judged_elsewhere_give_the_direct_runs_verdicts(
    binary: Path, tmp_path: Path, direct: dict[str, dict[str, Any]]
) -> None:
    observations = tmp_path / "observations.jsonl"
    observations.write_text(_observe(binary, on="vm"))
    run = run_suite(tmp_path, ["-n", "0", f"--anonmap-observations={observations}"])
    assert run.returncode == 0, run.output
    judged = _records(run)
    assert _syscall(judged) == _syscall(direct)
    others = [r for r in judged.values() if r["params"].get("api") != "syscall"]
    assert others and all(r["verdict"] == "unsupported" and "not observed" in r["detail"] for r in others)
    assert run.results is not None
    assert run.results["observed_on"] == {
        "by": f"the anonmap observer (linux-{platform.machine()})",
        "on": "vm",
        "file": observations.name,
    }
    assert run.results["run_info"]["libc"] == "none"


def test_observations_under_the_freebsd_persona_judge_like_the_persona_run(
    binary: Path, tmp_path: Path
) -> None:
    launcher = _under_seccomp("freebsd-anonymous")
    observations = tmp_path / "observations.jsonl"
    observations.write_text(_observe(binary, *launcher))
    judged = run_suite(
        tmp_path / "judged",
        ["-n", "0", f"--anonmap-observations={observations}", f"--anonmap-emulated-by={FREEBSD_PERSONA}"],
    )
    persona = run_suite(
        tmp_path / "persona",
        ["-n", "0", f"--anonmap-emulated-by={FREEBSD_PERSONA}"],
        launcher=persona_launcher(FREEBSD_PERSONA, tmp_path),
    )
    assert judged.returncode == 0, judged.output
    assert persona.returncode == 0, persona.output
    assert _syscall(_records(judged)) == _syscall(_records(persona))
    assert "pass" in {verdict for verdict, _ in _syscall(_records(judged)).values()}


def test_the_observer_cross_built_for_aarch64_passes_under_qemu_user(
    tmp_path: Path, direct: dict[str, dict[str, Any]]
) -> None:
    missing = [tool for tool in ("clang", "ld.lld", "qemu-aarch64") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"unsupported: no {', '.join(missing)} on PATH to cross-build and run the aarch64 observer"
        )
    done = anonmap_cli("observer", "--target", "aarch64-linux-gnu", "--output", f"{tmp_path}/")
    assert done.returncode == 0, done.stderr
    built = tmp_path / "anonmap-observer-aarch64-linux-gnu"
    observations = tmp_path / "observations.jsonl"
    observations.write_text(_observe(built, "qemu-aarch64", on="emulator"))
    header = json.loads(observations.read_text().splitlines()[0])
    assert (header["abi"], header["uname"]["machine"]) == ("linux-aarch64", "aarch64")
    run = run_suite(tmp_path, ["-n", "0", f"--anonmap-observations={observations}"])
    judged, here = _syscall(_records(run)), _syscall(direct)
    assert judged.keys() == here.keys()
    # Under --on emulator the observer does not ask qemu-user for what it answers itself:
    # madvise advice other than MADV_DONTNEED (linux-user/mmap.c target_madvise() through 7.2),
    # MAP_FIXED_NOREPLACE (target_mmap() places a mapping without MAP_FIXED itself), terabyte
    # reservations and an RLIMIT_DATA it keeps to itself. Every other case is judged as here.
    differ = {name for name in here if judged[name] != here[name]}
    assert differ and all(judged[name][0] == "unsupported" for name in differ), sorted(differ)
    families = {"madvise", "fork-controls", "fixed-mappings", "reservations"}
    assert {name.split("[")[0] for name in differ} <= families
    assert "pass" in {verdict for verdict, _ in judged.values()}


def _good(binary: Path) -> list[str]:
    return _observe(binary).splitlines()


def _refusal(text: str) -> str:
    with pytest.raises(ObservationsError) as caught:
        parse(text, "obs.jsonl")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("obs.jsonl")
    return message


def test_bad_observation_files_get_one_clear_line(binary: Path) -> None:
    lines = _good(binary)
    assert "truncated" in _refusal("\n".join(lines[:-5]))
    assert "empty" in _refusal("")
    assert "obs.jsonl:3: not a JSON object" in _refusal("\n".join([*lines[:2], "{oops", *lines[3:]]))
    assert "not 'anonmap-observations/1'" in _refusal(lines[0].replace("observations/1", "observations/9"))
    assert "refused to run" in _refusal('{"error": "--on expects real, vm or emulator"}')
    # Another catalogue's observer: a case this one lacks, and one it has that the file lacks.
    renamed = [lines[0], lines[1].replace('"syscall-private-size=1"', '"syscall-private-size=3"'), *lines[2:]]
    message = _refusal("\n".join(renamed))
    assert "another catalogue" in message and "size=3" in message and "size=1" in message
    dropped = [
        lines[0].replace(f'"cases": {len(lines) - 2}', f'"cases": {len(lines) - 3}'),
        *lines[2:-1],
        f'{{"end": {len(lines) - 3}}}',
    ]
    assert "zero-fill[syscall-private-size=1]" in _refusal("\n".join(dropped))
    # The same cases observed by other checks: an observer built before a program changed.
    other = json.dumps({**json.loads(lines[0]), "catalogue": "0" * 16})
    assert "built from other checks" in _refusal("\n".join([other, *lines[1:]]))
    assert "does not count" in _refusal("\n".join([*lines[:-1], '{"end": 3}']))
    assert "a second record" in _refusal("\n".join([lines[0], lines[1], *lines[1:]]))


def test_a_bad_observations_file_stops_the_run_before_any_case(tmp_path: Path, binary: Path) -> None:
    observations = tmp_path / "observations.jsonl"
    observations.write_text("\n".join(_good(binary)[:10]))
    run = run_suite(tmp_path, ["-n", "0", f"--anonmap-observations={observations}"])
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert f"{observations}: truncated" in run.output
    assert run.results is None
    missing = run_suite(
        tmp_path / "missing", ["-n", "0", f"--anonmap-observations={tmp_path / 'none.jsonl'}"]
    )
    assert (
        missing.returncode == pytest.ExitCode.USAGE_ERROR
        and "expected an observations file" in missing.output
    )


def test_the_observer_refuses_a_bad_argument_in_one_line(binary: Path) -> None:
    done = subprocess.run(
        [str(binary), "--on", "mars"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": "--on expects real, vm or emulator"}


@pytest.mark.parametrize(
    ("target", "owner"), [("x86_64-unknown-freebsd", "FreeBSD"), ("x86_64-unknown-netbsd", "NetBSD")]
)
def test_the_bsd_observers_cross_build_static_with_the_note_their_kernels_brand_by(
    target: str, owner: str, tmp_path: Path
) -> None:
    missing = [tool for tool in ("clang", "ld.lld", "readelf") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"unsupported: no {', '.join(missing)} on PATH to cross-build and read the {owner} observer"
        )
    done = anonmap_cli("observer", "--target", target, "--output", f"{tmp_path}/")
    assert done.returncode == 0, done.stderr
    built = tmp_path / f"anonmap-observer-{target}"
    read = subprocess.run(
        ["readelf", "--wide", "--file-header", "--program-headers", "--notes", str(built)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    # A static executable (no interpreter) with a PT_NOTE holding the OS's ABI note: type 1,
    # NT_FREEBSD_ABI_TAG in imgact_elf.c, ELF_NOTE_TYPE_NETBSD_TAG in exec_elf.c.
    assert "EXEC (Executable file)" in read and "INTERP" not in read
    assert re.search(r"^\s*NOTE\s", read, re.MULTILINE), read
    assert re.search(rf"^\s*{owner}\s+0x00000004\s", read, re.MULTILINE), read
