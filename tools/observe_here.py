"""Run the observer on this machine beside the suite, as every CI job does: the raw one where
abi.h knows the platform (Linux x86-64 and aarch64, FreeBSD and NetBSD x86-64), the C-library
backend everywhere, each built with this machine's cc, run, and its observations judged.

    python tools/observe_here.py --label LABEL [--on real|vm]

Each writes results/observations-LABEL-<api>.jsonl and results/anonmap-LABEL-<api>-observer.json,
labelled LABEL-<api>-observer, so the merged matrix shows the C library seen from C beside the
suite's own column (the libc api through ctypes) and the kernel seen through raw system calls.
A backend that does not build here is said, and skipped; the exit status is the worst judging
run's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from anonmap import suite  # noqa: E402
from anonmap.apis.syscall import build  # noqa: E402
from anonmap.host import processes  # noqa: E402
from anonmap.host.probe import probe  # noqa: E402

#: One build, one run of every case, one judging run: each well within this.
TIME_LIMIT = 900.0


def backends() -> list[str]:
    """The observer's backends that can run here: the raw one where abi.h knows the platform."""
    info = probe()
    raw = [] if build.abi_unsupported(info.os, info.arch) else [build.SYSCALL_API]
    return [*raw, build.LIBC_API]


def observe(api: str, label: str, on: str, results: Path) -> int:
    """Build, run and judge one backend; the judging run's exit status, or 0 when it is skipped."""
    with tempfile.TemporaryDirectory(prefix="anonmap-observe-") as work:
        built = processes.run(
            [sys.executable, "-m", "anonmap", "observer", "--api", api, "--output", f"{work}/"],
            TIME_LIMIT,
            cwd=str(REPO),
        )
        binaries = sorted(Path(work).iterdir())
        if not built.ok or not binaries:
            print(
                f"observe_here: the {api} observer did not build here: {built.failure()}: {built.stderr.strip()[-1000:]}"
            )
            return 0
        ran = processes.run([str(binaries[0]), "--on", on], TIME_LIMIT)
    if not ran.ok:
        print(f"observe_here: the {api} observer {ran.failure()}", file=sys.stderr)
        return 1
    observations = results / f"observations-{label}-{api}.jsonl"
    observations.write_text(ran.stdout)
    name = f"{label}-{api}-observer"
    judging = [f"--anonmap-results={results / f'anonmap-{name}.json'}", f"--anonmap-label={name}"]
    judged = suite.judge(observations, judging, TIME_LIMIT, REPO)
    print(judged.stdout[-2500:], end="")
    print(judged.stderr[-1500:], end="", file=sys.stderr)
    return judged.exit_status(f"observe_here.py: judging the {api} observer")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the observer here beside the suite, and judge it.")
    parser.add_argument(
        "--label", required=True, help="the platform's CI label; results are LABEL-<api>-observer"
    )
    parser.add_argument(
        "--on", choices=("real", "vm"), default="real", help="where this machine is (default: real)"
    )
    args = parser.parse_args(argv)
    results = REPO / "results"
    results.mkdir(exist_ok=True)
    return max(observe(api, args.label, args.on, results) for api in backends())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
