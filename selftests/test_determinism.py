"""Runs of the suite agree with each other: every run, serial or with xdist, writes the same
records (timestamps aside). Cheap by default; `tox -e determinism` runs 20 with -n 2 and 5
serial (ANONMAP_DETERMINISM_RUNS=PARALLEL,SERIAL)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from selftests.helpers import run_suite

PARALLEL, SERIAL = (int(n) for n in os.environ.get("ANONMAP_DETERMINISM_RUNS", "2,1").split(","))


@pytest.mark.skipif(
    platform.system() != "Linux", reason="unsupported: the shipped Linux profile is the one under test here"
)
def test_repeated_runs_write_identical_records(tmp_path: Path) -> None:
    runs = [("-n", "2")] * PARALLEL + [("-n", "0")] * SERIAL
    first: tuple[object, object] | None = None
    for index, workers in enumerate(runs):
        run = run_suite(tmp_path / str(index), list(workers))
        assert run.results is not None and run.results["complete"] is True, run.output
        found = (run.results["records"], run.results["run_info"])
        if first is None:
            first = found
        assert found == first, f"run {index + 1} ({' '.join(workers)}) differs from run 1"
