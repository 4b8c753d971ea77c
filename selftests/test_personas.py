"""Each emulated platform, end to end: Linux is made to answer like FreeBSD, OpenBSD, NetBSD or
macOS through the real call path (seccomp, a preloaded shim), the suite runs with that
platform's profile, and every case the persona emulates must pass while every other case is
reported as not emulated."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from anonmap.expect.catalogue import behaviours
from anonmap.expect.emulation import load_emulation
from selftests.emulation import seccomp
from selftests.helpers import REPO, persona_launcher, run_suite

PERSONAS = sorted((REPO / "selftests" / "emulation" / "personas").glob("*.toml"))


@pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: emulation runs on Linux")
@pytest.mark.parametrize("manifest", PERSONAS, ids=lambda p: p.stem)
def test_persona_passes_every_emulated_case(manifest: Path, tmp_path: Path) -> None:
    if not seccomp.supported(platform.machine()):
        pytest.skip(f"unsupported: the seccomp personas know no syscall numbers for {platform.machine()}")
    if shutil.which("cc") is None:
        pytest.skip("unsupported: no C compiler (cc) to build the shim")
    emulation = load_emulation(manifest)
    run = run_suite(
        tmp_path,
        ["-n", "0", f"--anonmap-emulated-by={manifest}"],
        launcher=persona_launcher(manifest, tmp_path),
    )
    assert run.results is not None, run.output
    assert run.results["emulation"]["platform"] == emulation.platform
    records = run.results["records"]
    for case in (case for b in behaviours().values() for case in b.cases):
        name = f"{case.behaviour}[{case.id}]"
        record = next(r for r in records if f"{r['behaviour']}[{r['case']}]" == name)
        if emulation.covers(case):
            assert record["verdict"] in ("pass", "unprofiled"), (
                f"{emulation.name}: {name} expected {record['expected']} observed {record['observed']} "
                f"({record['detail']}); {record['source']}"
            )
        else:
            assert record["verdict"] == "unsupported" and "not emulated" in record["detail"], record
    assert run.returncode == 0, run.output
