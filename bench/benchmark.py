"""Time the whole suite (serially and with -n 2) and the probe alone; print the figures.

    python bench/benchmark.py [--runs N] [--write bench/FIGURES.md]

Wall-clock seconds of a fresh ``python -m pytest tests`` each, so interpreter start-up and
collection count; virtualenv creation does not. The median of N runs is reported.
"""

from __future__ import annotations

import argparse
import datetime
import mmap
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anonmap
from anonmap import suite
from anonmap.apis.syscall import build as observer
from anonmap.expect import catalogue
from anonmap.host import compilers as ctoolchain
from anonmap.host import processes
from anonmap.host.probe import describe
from anonmap.run import isolate

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


def time_observer(runs: int) -> tuple[float, int]:
    """The freestanding observer built with cc and run over every syscall case, as the suite
    does once per run."""
    constants = {
        name: value
        for name in observer.profile_constants()
        if (value := getattr(mmap, name, None)) is not None
    }
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        built, ran = observer.build_and_run("cc", constants, isolate.DEFAULT_TIME_LIMIT)
        samples.append(time.perf_counter() - started)
        if ran is None or not ran.ok:
            raise SystemExit(f"the observer did not build or run; fix it before timing it: {built.problem}")
    return statistics.median(samples), len(observer.cases())


_FLOOR_BARE = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_nothing(n: int) -> None:
    pass
"""

_FLOOR_FORK = """
import os
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_one_fork(n: int) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
"""


def time_floor(body: str, count: int, runs: int) -> float:
    """pytest's own time for ``count`` cases of ``body``, serially, in a project of nothing else:
    the floor the suite's per-check cost is measured against."""
    with tempfile.TemporaryDirectory(prefix="anonmap-floor-") as folder:
        test = Path(folder) / "test_floor.py"
        test.write_text(body.format(count=count))
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:anonmap.plugin",
            str(test),
        ]
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            done = processes.run(command, SUITE_TIME_LIMIT, cwd=folder)
            samples.append(time.perf_counter() - started)
            if not done.ok:
                raise SystemExit(f"the floor benchmark failed:\n{done.stdout[-2000:]}")
    return statistics.median(samples)


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
    cases = sum(len(b.cases) for b in catalogue.behaviours().values())
    bare = time_floor(_FLOOR_BARE, cases, runs)
    forked = time_floor(_FLOOR_FORK, cases, runs)
    c_matrix, c_demos, compilers = time_c_layer(runs)
    observed, syscall_cases = time_observer(runs)
    machine = describe(info)[0].removeprefix("anonmap: ")
    return "\n".join(
        [
            f"Measured {datetime.date.today().isoformat()} on {machine}; {os.cpu_count()} cores, {cpu_model()}.",
            f"Median of {runs} runs (probe: of {max(runs, 20)} calls), wall clock.",
            "",
            "| what | seconds | target |",
            "| --- | --- | --- |",
            f"| whole suite, serial (`-n 0`, the default) | {serial:.2f} | under 3 |",
            f"| whole suite, `-n 2` | {parallel:.2f} | |",
            f"| pytest alone: {cases} empty cases | {bare:.2f} | |",
            f"| pytest alone: {cases} cases, one fork each | {forked:.2f} | |",
            f"| suite / empty cases | {serial / bare:.1f}x | |",
            f"| suite / one fork each | {serial / forked:.1f}x | |",
            f"| per case above one fork each | {(serial - forked) / cases * 1000:.1f} ms | |",
            f"| `anonmap.probe()` | {probe_ms / 1000:.4f} ({probe_ms:.1f} ms) | under 0.050 |",
            f"| C header matrix: {len(ctoolchain.CONFIGS)} configurations x {compilers} compilers | {c_matrix:.2f} | well under 1 |",
            f"| C seed demo: built and run both ways by {compilers} compilers | {c_demos:.2f} | |",
            f"| the observer: built by cc, then run over its {syscall_cases} cases | {observed:.2f} | |",
            "",
        ]
    )


_ABOUT = (
    "Written by `tox -e bench -- --write bench/FIGURES.md`. The default tox env runs serially:"
    " on two cores `-n 2` is slower, since starting workers costs more than the checks save at a"
    " few milliseconds a check (`tox -- -n auto` is there for machines where it pays). The floor"
    " rows run the same number of cases in pytest alone, empty and with one fork each (every"
    " check forks once), so the ratios say what the suite costs above pytest itself."
)


def measured_elsewhere(path: Path) -> str:
    """The sections of ``path`` after the generated figures (each under a '## ' heading, timed
    by other means, such as `tox -e gvisor`): kept as they are when the figures are rewritten."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ""
    at = text.find("\n## ")
    return "" if at < 0 else text[at:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=_positive_int, default=3, help="runs per figure (default: 3)")
    parser.add_argument("--write", type=Path, help="also write the figures to this Markdown file")
    args = parser.parse_args()
    text = figures(args.runs)
    print(text)
    if args.write:
        temporary = args.write.with_suffix(".partial")
        kept = measured_elsewhere(args.write)
        temporary.write_text(f"# Benchmark figures\n\n{_ABOUT}\n\n{text}{kept}")
        temporary.replace(args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
