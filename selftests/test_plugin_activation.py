"""The plugin loads wherever anonmap is installed (its pytest11 entry point) and stays inert
unless the suite is in play; its options work the same from the ini file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.helpers import run_suite


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_is_inert_in_an_unrelated_project(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text("def test_other():\n    assert 1 + 1 == 2\n")
    done = _pytest(tmp_path, "-v", "--trace-config")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PLUGIN registered: <module 'anonmap.plugin'" in done.stdout, "the entry point did not load"
    assert "anonmap:" not in done.stdout.replace("PLUGIN registered", "")
    assert list(tmp_path.iterdir()) == [tmp_path / "test_other.py"]


def test_an_anonmap_option_wakes_it_in_any_project(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    done = _pytest(tmp_path, f"--anonmap-results={tmp_path / 'r.json'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "anonmap: " in done.stdout and (tmp_path / "r.json").exists()


def test_ini_options_work_as_the_command_line_does(tmp_path: Path) -> None:
    run = run_suite(tmp_path, ["-n", "0", "-k", "zero_fill", "-o", "anonmap_label=ini-label-1"])
    assert run.returncode == 0, run.output
    assert run.results is not None and run.results["label"] == "ini-label-1"


def test_a_bad_ini_value_says_what_is_expected(tmp_path: Path) -> None:
    run = run_suite(tmp_path, ["-o", "anonmap_time_limit=inf"])
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert "ini option anonmap_time_limit = 'inf'" in run.output and "at most 3600" in run.output


def test_the_command_line_wins_over_the_ini(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path, ["-n", "0", "-k", "zero_fill", "-o", "anonmap_label=ini", "--anonmap-label=cli"]
    )
    assert run.results is not None and run.results["label"] == "cli"
