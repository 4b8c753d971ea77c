"""Time the whole suite (serially and with -n 2) and the probe alone; print the figures.

    python bench/benchmark.py [--runs N] [--write bench/FIGURES.md]

Wall-clock seconds of a fresh ``python -m pytest tests`` each, so interpreter start-up and
collection count; virtualenv creation does not. The median of N runs is reported.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import anonmap
from anonmap import ctoolchain, isolate, processes, suite
from anonmap.probe import describe

REPO = Path(__file__).resolve().parent.parent


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of runs (1 or more), got {text!r}")
    return int(text)


#: A run takes seconds; one that takes this long is broken, not slow.
SUITE_TIME_LIMIT = 300.0


def time_suite(workers: str, runs: int) -> float:
    command = suite.command(["-n", workers, "--dist", "loadgroup"])
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = processes.run(command, SUITE_TIME_LIMIT, cwd=str(REPO))
        samples.append(time.perf_counter() - started)
        if not done.ok:
            raise SystemExit(
                f"the suite failed with -n {workers}; fix it before timing it:\n{done.stdout[-2000:]}"
            )
    return statistics.median(samples)


def time_probe(runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        anonmap.probe()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def time_c_layer(runs: int) -> tuple[float, float, int]:
    """The header matrix (every configuration of every compiler found, in parallel), and the
    seed demonstration built and run both ways by every compiler, in parallel."""
    compilers = {name: path for name, path in anonmap.probe().compilers.items() if path}
    matrix, demos = [], []
    for _ in range(runs):
        started = time.perf_counter()
        ctoolchain.preprocess_matrix(compilers, isolate.DEFAULT_TIME_LIMIT)
        matrix.append(time.perf_counter() - started)
        started = time.perf_counter()
        ctoolchain.build_demos(
            compilers, {"map-anon": ("-DUSE_MAP_ANON",), "dev-zero": ()}, isolate.DEFAULT_TIME_LIMIT
        )
        demos.append(time.perf_counter() - started)
    return statistics.median(matrix), statistics.median(demos), len(compilers)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def figures(runs: int) -> str:
    info = anonmap.probe()
    probe_ms = time_probe(max(runs, 20)) * 1000
    serial = time_suite("0", runs)
    parallel = time_suite("2", runs)
    c_matrix, c_demos, compilers = time_c_layer(runs)
    machine = describe(info)[0].removeprefix("anonmap: ")
    return "\n".join(
        [
            f"Measured {datetime.date.today().isoformat()} on {machine}; {os.cpu_count()} cores, {cpu_model()}.",
            f"Median of {runs} runs (probe: of {max(runs, 20)} calls), wall clock.",
            "",
            "| what | seconds | target |",
            "| --- | --- | --- |",
            f"| whole suite, serial (`-n 0`) | {serial:.2f} | under 3 |",
            f"| whole suite, `-n 2` | {parallel:.2f} | |",
            f"| `anonmap.probe()` | {probe_ms / 1000:.4f} ({probe_ms:.1f} ms) | under 0.050 |",
            f"| C header matrix: {len(ctoolchain.CONFIGS)} configurations x {compilers} compilers | {c_matrix:.2f} | well under 1 |",
            f"| C seed demo: built and run both ways by {compilers} compilers | {c_demos:.2f} | |",
            "",
        ]
    )


_ABOUT = (
    "Written by `tox -e bench -- --write bench/FIGURES.md`. On two cores `-n 2` is slower than"
    " serial: starting two workers costs more than the checks save, at about 2 ms a check; the"
    " default tox env uses xdist all the same, for bigger machines and CI runners."
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=_positive_int, default=3, help="runs per figure (default: 3)")
    parser.add_argument("--write", type=Path, help="also write the figures to this Markdown file")
    args = parser.parse_args()
    text = figures(args.runs)
    print(text)
    if args.write:
        temporary = args.write.with_suffix(".partial")
        temporary.write_text(f"# Benchmark figures\n\n{_ABOUT}\n\n{text}")
        temporary.replace(args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
