"""Regenerate the sample compatibility matrix in docs/sample/ from real runs on this machine.

    python tools/make_sample.py

Runs the suite natively, under each emulated persona (seccomp and the shim), and under qemu-user
for mips64el and s390x where qemu-user is installed; judges the freestanding observer
cross-built for aarch64 and run under qemu-aarch64 where clang, lld and qemu-user are; merges
the results; writes the merged JSON,
the HTML page, the Markdown, and a screenshot of the page where Chromium is installed. Needs an
environment with pytest and pytest-xdist (tox -e bench's, for example) and Linux.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "docs" / "sample"
PERSONAS = REPO / "selftests" / "emulation" / "personas"

sys.path.insert(0, str(REPO / "src"))
from anonmap import suite  # noqa: E402
from anonmap.files.tomlread import loads  # noqa: E402
from anonmap.host import processes  # noqa: E402
from anonmap.reporting import browser  # noqa: E402

#: One run of the suite, native, emulated or under qemu-user: a minute at the very most.
RUN_TIME_LIMIT = 1800.0


def _pytest(results: Path, extra: list[str], launcher: list[str] | None = None) -> None:
    command = suite.command(["-n", "0", f"--anonmap-results={results}", *extra], launcher or [])
    done = processes.run(command, RUN_TIME_LIMIT, cwd=str(REPO))
    if not results.exists() or not json.loads(results.read_text()).get("complete", True):
        # A sample is of whole runs only: an incomplete one (a collection error, say) says why.
        raise SystemExit(f"no complete results from {' '.join(command)}:\n{done.stdout[-3000:]}")


def _observed_aarch64(work: Path) -> Path | None:
    """The observer's observations on aarch64 Linux under qemu-user, judged here, as a porter
    would judge them from another machine (the porter's recipe in docs/observer.md)."""
    if not all(shutil.which(tool) for tool in ("clang", "ld.lld", "qemu-aarch64")):
        return None
    anonmap = [sys.executable, "-m", "anonmap"]
    built = processes.run(
        [*anonmap, "observer", "--target", "aarch64-linux-gnu", "--output", f"{work}/"],
        RUN_TIME_LIMIT,
        cwd=str(REPO),
    )
    if not built.ok:
        raise SystemExit(f"anonmap observer {built.failure()}:\n{built.stderr}")
    ran = processes.run(
        ["qemu-aarch64", str(work / "anonmap-observer-aarch64-linux-gnu"), "--on", "emulator"], RUN_TIME_LIMIT
    )
    if not ran.ok:
        raise SystemExit(f"the aarch64 observer under qemu-aarch64 {ran.failure()}")
    observations = work / "linux-aarch64-observations.jsonl"
    observations.write_text(ran.stdout)
    target = work / "linux-aarch64-observed.json"
    _pytest(target, [f"--anonmap-observations={observations}", "--anonmap-label=linux-aarch64-observer"])
    return target


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="anonmap-sample-"))
    files = [work / "linux-native.json"]
    _pytest(files[0], [])
    for manifest in sorted(PERSONAS.glob("*.toml")):
        launch = loads(manifest.read_text())["launch"]
        launcher = [
            str(REPO / "selftests" / "emulation" / "launch.py"),
            "--seccomp",
            launch["seccomp"],
            "--shim",
            ",".join(launch["shim"]),
            "--build-dir",
            str(work),
            "--",
        ]
        files.append(work / f"{manifest.stem}-emulated.json")
        _pytest(files[-1], [f"--anonmap-emulated-by={manifest}"], launcher)
    for arch, qemu in (("mips64el", "qemu-mips64el"), ("s390x", "qemu-s390x")):
        if shutil.which(qemu):
            target = work / f"linux-{arch}-qemu-user.json"
            qemu_user = [sys.executable, str(REPO / "tools" / "qemu_user.py"), "--arch", arch]
            processes.run([*qemu_user, "--", f"--anonmap-results={target}"], RUN_TIME_LIMIT, cwd=str(REPO))
            if target.exists():
                files.append(target)
    observed = _observed_aarch64(work)
    if observed is not None:
        files.append(observed)
    SAMPLE.mkdir(parents=True, exist_ok=True)
    merged = processes.run(
        [
            sys.executable,
            "-m",
            "anonmap",
            "merge",
            *map(str, files),
            "--json",
            str(SAMPLE / "merged.json"),
            "--html",
            str(SAMPLE / "matrix.html"),
            "--markdown",
            str(SAMPLE / "matrix.md"),
        ],
        RUN_TIME_LIMIT,
        cwd=str(REPO),
    )
    if not merged.ok:
        raise SystemExit(f"anonmap merge {merged.failure()}:\n{merged.stderr}")
    made = processes.run(
        [sys.executable, "-m", "anonmap", "atlas", *map(str, files), "--html", str(SAMPLE / "atlas")],
        RUN_TIME_LIMIT,
        cwd=str(REPO),
    )
    if not made.ok:
        raise SystemExit(f"anonmap atlas {made.failure()}:\n{made.stderr}")
    chromium = browser.find()
    if chromium:
        browser.screenshot(chromium, SAMPLE / "matrix.html", SAMPLE / "matrix.png", 1400, 1000)
        browser.screenshot(chromium, SAMPLE / "atlas" / "differences.html", SAMPLE / "atlas.png", 1400, 1000)
    shutil.rmtree(work, ignore_errors=True)
    print(f"sample written to {SAMPLE.relative_to(REPO)} from {len(files)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
