"""anonmap installed is anonmap whole: from a wheel, in a fresh virtual environment and an
empty directory, `anonmap run` runs every case of the catalogue and the other commands use the
installed profiles, whatever folders the current directory holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anonmap.expect.catalogue import behaviours
from anonmap.files.tomlread import loads
from selftests.helpers import REPO

#: pip's own time limits: a wheel build, a venv, an install that may download its dependencies.
_STEP_LIMIT = 300


def _step(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=_STEP_LIMIT, check=False
    )
    assert done.returncode in (0, 1), (
        f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this tree installed: its bin directory."""
    root = tmp_path_factory.mktemp("installed")
    built = _step(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(REPO)], root
    )
    if built.returncode != 0:
        pytest.fail(f"the wheel did not build: {built.stderr}")
    (wheel,) = (root / "dist").glob("anonmap-*.whl")
    venv = root / "venv"
    _step([sys.executable, "-m", "venv", str(venv)], root)
    install = _step([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], root)
    if install.returncode != 0:
        pytest.skip(
            f"unsupported: the wheel's dependencies could not be installed here: {install.stderr[-300:]}"
        )
    return venv / "bin"


def _empty(tmp_path: Path) -> Path:
    """An empty directory, but for a platforms/ folder that is not anonmap's."""
    here = tmp_path / "elsewhere"
    (here / "platforms").mkdir(parents=True)
    (here / "platforms" / "linux.toml").write_text("not a profile")
    return here


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}


def _in(here: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``command`` run in ``here`` as a user would, whatever its exit status."""
    return subprocess.run(
        command, cwd=here, env=_clean_env(), capture_output=True, text=True, timeout=_STEP_LIMIT, check=False
    )


@pytest.mark.skipif(sys.platform != "linux", reason="unsupported: the case count below is this host's")
def test_anonmap_run_from_a_wheel_runs_every_case_and_writes_a_complete_results_file(
    installed: Path, tmp_path: Path
) -> None:
    here = _empty(tmp_path)
    done = _in(here, str(installed / "anonmap"), "run", "--", "-q", "-p", "no:randomly")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    (results,) = (here / "results").glob("anonmap-*.json")
    data = json.loads(results.read_text())
    assert data["complete"] is True
    expected = {(b.id, c.id) for b in behaviours().values() for c in b.cases}
    assert {(r["behaviour"], r["case"]) for r in data["records"]} == expected
    assert {r["verdict"] for r in data["records"]} <= {"pass", "unsupported", "known-deviation"}
    assert all(r["nodeid"].startswith("tests/test_") for r in data["records"])
    assert data["profile"]["name"] == "linux"


def test_the_installed_commands_use_the_installed_profiles_whatever_the_directory_holds(
    installed: Path, tmp_path: Path
) -> None:
    here = _empty(tmp_path)
    version = loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    shown = _step([str(installed / "anonmap"), "--version"], here, _clean_env())
    assert shown.stdout.strip() == f"anonmap {version}"
    diffed = _step([str(installed / "anonmap"), "diff", "linux", "freebsd"], here, _clean_env())
    assert diffed.returncode == 1 and "freebsd" in diffed.stdout, diffed.stderr
    atlas = _step([str(installed / "anonmap"), "atlas", "--html", str(here / "atlas")], here, _clean_env())
    assert atlas.returncode == 0, atlas.stderr
    page = (here / "atlas" / "index.html").read_text()
    assert "openbsd" in page and "profiles: none" not in page


def test_a_run_that_collected_nothing_is_never_complete(installed: Path, tmp_path: Path) -> None:
    here = _empty(tmp_path)
    _in(here, str(installed / "python"), "-m", "pytest", "-q", "--anonmap-results=r/")
    (results,) = (here / "r").glob("anonmap-*.json")
    data = json.loads(results.read_text())
    assert data["complete"] is False and "no case was collected" in data["incomplete_reason"]
