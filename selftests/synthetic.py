"""Results files for many platforms at once, made from the profiles: what the report sizes are
measured on (selftests/test_report_sizes.py, bench/FIGURES.md).

Each synthetic platform is a profile's documented outcomes, observed as documented, with every
catalogue case and the profile's real citations; every ``deviate_every``-th platform also
deviates on a few cases, as a CI run with a regression would.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.profiles import profile_paths
from anonmap.reporting import documented
from anonmap.reporting.runs import Run
from anonmap.results.records import write_atomically
from anonmap.results.verdicts import Verdict

PROFILES = Path(__file__).resolve().parent.parent / "platforms"
ARCHES = ("x86_64", "aarch64", "riscv64", "ppc64le")
#: How many cases a deviating platform gets wrong.
DEVIATIONS = 3


def _observed(run: Run, label: str, deviates: bool) -> Run:
    records = []
    wrong = 0
    for record in run.records:
        said = outcomes.alternatives(record.expected)[0] if record.expected != outcomes.UNKNOWN else "ok"
        verdict = Verdict.PASS if record.expected != outcomes.UNKNOWN else Verdict.UNPROFILED
        if deviates and wrong < DEVIATIONS and verdict is Verdict.PASS and said != "SIGSEGV":
            said, verdict, wrong = "SIGSEGV", Verdict.DEVIATION, wrong + 1
        records.append(
            dataclasses.replace(record, nodeid=f"tests/{record.nodeid}", observed=said, verdict=verdict)
        )
    return dataclasses.replace(
        run,
        source=label,
        records=tuple(records),
        documented=False,
        ci_label=label,
        started_at="2026-12-01T00:00:00+00:00",
    )


def write_platforms(directory: Path, count: int, deviate_every: int = 4) -> list[Path]:
    """``count`` results files in ``directory``, one a platform, cycling through the profiles
    and architectures; returns their paths."""
    names = [path.stem for path in profile_paths(PROFILES)]
    paths = []
    for index in range(count):
        name, arch = names[index % len(names)], ARCHES[(index // len(names)) % len(ARCHES)]
        base = documented.platform(name, PROFILES, documented.Target(arch=arch))
        label = f"{name}-{arch}-{index}"
        run = _observed(base, label, deviates=index % deviate_every == deviate_every - 1)
        run = dataclasses.replace(run, run_info={**run.run_info, "release": f"1.{index}"})
        path = directory / f"anonmap-{label}.json"
        write_atomically(path, run.to_json())
        paths.append(path)
    return paths
