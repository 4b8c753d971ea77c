"""A check that returns a word the catalogue does not define broke the harness, not the
platform: its cases are errors naming the check and the word, and the run's results file
still reads back with ``anonmap report``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from selftests.helpers import anonmap_cli

MISSPELLED = """
import pytest

from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("zero-fill")
def test_zero_fill(case: Case, judge: Judge) -> None:
    judge.run(lambda: "zeroes")
"""


def test_a_misspelled_outcome_is_an_error_naming_the_check_and_the_report_reads_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_misspelled.py").write_text(MISSPELLED)
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # The libc api's cases: they run the check above (the syscall api's observer does not).
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0", "-k", "libc"]
    done = subprocess.run(
        [*command, f"--anonmap-results={results}", "test_misspelled.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    records = json.loads(results.read_text())["records"]
    assert records and {r["verdict"] for r in records} == {"error"}
    for record in records:
        assert f"zero-fill[{record['case']}]" in record["detail"] and "'zeroes'" in record["detail"]
        assert record["observed"] == ""
    report = anonmap_cli("report", str(results))
    assert report.returncode == 0, report.stdout + report.stderr
    assert "harness error" in report.stdout
