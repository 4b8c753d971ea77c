"""The CI side of issue 22, run with the project's own scripts: the merge finds every results
file and note whatever layout download-artifact leaves; notes are JSON from a JSON writer and
say the true stage; VM installs refresh and retry within a budget; the toolchain is pinned by
constraints.txt for CI and tox alike; superseded runs are cancelled; the Alpine image is pinned
by digest; a re-run replaces its artifact."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from selftests.helpers import REPO, SCRIPTS, captured, write_results
from selftests.helpers import ci_script as _sh
from selftests.test_workflow import JOBS, SOURCES, WORKFLOW, WORKFLOW_PATH, WORKFLOW_TEXT, _steps

CONSTRAINTS = REPO / "constraints.txt"


def _platforms() -> list[str]:
    return [
        str(entry["platform"])
        for job in JOBS.values()
        for entry in job.get("strategy", {}).get("matrix", {}).get("include", [])
        if "platform" in entry
    ]


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


# --- the merge, whatever the download layout -------------------------------------------------


def _results(path: Path, label: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results(path, "linux", {"libc-private-fd=0": "zero"})
    content = json.loads(path.read_text())
    content["label"] = label
    path.write_text(json.dumps(content))


def _note(path: Path, label: str, reason: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    note = {"schema": "anonmap-missing/1", "label": label, "stage": "vm", "reason": reason, "log": ""}
    path.write_text(json.dumps(note))


def _layout(root: Path, layout: str) -> tuple[set[str], dict[str, str]]:
    """Build what download-artifact leaves in root/all-results for `layout`; the platforms
    with results, and those with a note (and its reason)."""
    download = root / "all-results"
    platforms = _platforms()
    if layout == "none":  # no artifact matched: download-artifact creates nothing
        return set(), {}
    if layout == "one-results":  # one artifact: extracted straight into the path
        _results(download / "anonmap-linux-x86_64.json", platforms[0])
        (download / "suite-status").write_text("0\n")
        return {platforms[0]}, {}
    if layout == "one-note":
        _note(download / f"missing-{platforms[-1]}.json", platforms[-1], 'it said "no" \\ twice')
        (download / "vm-suite.log").write_text("log\n")
        return set(), {platforms[-1]: 'it said "no" \\ twice'}
    # many: one folder per artifact; every platform results, two of them a note instead
    noted = {platforms[1]: "no network", platforms[-2]: "pkg failed"}
    for platform in platforms:
        folder = download / f"anonmap-results-{platform}"
        if platform in noted:
            _note(folder / f"missing-{platform}.json", platform, noted[platform])
        else:
            _results(folder / "anonmap-linux-x86_64.json", platform)
            (folder / "suite-status").write_text("1\n")
    return set(platforms) - set(noted), noted


@pytest.mark.parametrize("layout", ["many", "one-results", "one-note", "none"])
def test_the_merge_finds_every_results_file_and_note_whatever_the_download_layout(
    tmp_path: Path, layout: str
) -> None:
    present, noted = _layout(tmp_path, layout)
    # The report job's checkout (the workflow, for --expect-from, and the scripts) with
    # `anonmap` on PATH; then its merge step, as the runner runs it (bash -e).
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW_PATH, tmp_path / ".github" / "workflows" / "ci.yml")
    shutil.copytree(SCRIPTS, tmp_path / ".github" / "scripts")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / "anonmap", f'#!/bin/sh\nexec "{sys.executable}" -m anonmap "$@"\n')
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    step = next(s for s in JOBS["report"]["steps"] if s.get("name") == "Merge into one matrix")
    done = captured(["bash", "-e", "-c", step["run"]], tmp_path, env)
    everyone = set(_platforms())
    assert done.returncode == (0 if present == everyone else 5), done.stderr
    assert "Traceback" not in done.stderr
    merged = json.loads((tmp_path / "report" / "merged.json").read_text())
    assert (tmp_path / "report" / "matrix.html").is_file()
    assert {run["label"] for run in merged["runs"]} == present
    absent = {entry["label"]: entry for entry in merged.get("absent", [])}
    for platform, reason in noted.items():
        assert absent[platform]["reason"] == reason and absent[platform]["stage"] == "vm"
    for platform in everyone - present - set(noted):
        assert absent[platform]["reason"].startswith("no results and no note")
    if layout == "none":
        assert absent["download"]["stage"] == "download"
        assert set(absent) == everyone | {"download"}
    else:
        assert set(absent) == everyone - present


def test_the_report_job_merges_with_the_script_from_the_download_path() -> None:
    steps = JOBS["report"]["steps"]
    download = next(s for s in steps if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    merge = next(s for s in steps if s.get("name") == "Merge into one matrix")
    assert "merge-multiple" not in download["with"]  # two Linux rows write the same file name
    run = " ".join(merge["run"].replace("\\\n", " ").split())
    assert f"sh .github/scripts/merge-results.sh {download['with']['path']} anonmap merge " in run
    assert "*" not in merge["run"]  # no glob that assumes one layout


# --- notes: a JSON writer, the true stage ------------------------------------------------------

HOSTILE = 'a "quoted" \\ back\\slash,\nnewline\tand tab'


def test_a_note_is_valid_json_whatever_the_reason_holds(tmp_path: Path) -> None:
    done = _sh("note-missing.sh", "x-1", "setup", HOSTILE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    note = json.loads((tmp_path / "results" / "missing-x-1.json").read_text())
    assert note == {
        "schema": "anonmap-missing/1",
        "label": "x-1",
        "stage": "setup",
        "reason": HOSTILE,
        "log": "",
    }


def test_a_note_is_valid_json_where_no_python_runs(tmp_path: Path) -> None:
    # A VM or the Alpine container whose Python install failed: the sh escaper writes it.
    bare = tmp_path / "bare"
    bare.mkdir()
    for tool in ("sh", "mkdir", "tr", "sed", "mv", "rm", "cat", "printf"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(bare / "sh"), str(SCRIPTS / "note-missing.sh"), "x-1", "install", HOSTILE, "results/vm-suite.log"],
        cwd=work, capture_output=True, text=True, timeout=60, check=False, env={"PATH": str(bare)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    note = json.loads((work / "results" / "missing-x-1.json").read_text())
    assert note["reason"] == HOSTILE.replace("\n", " ").replace("\t", " ")
    assert note["stage"] == "install" and note["log"] == "results/vm-suite.log"


def test_a_suite_that_ran_and_wrote_nothing_is_never_a_vm_that_did_not_boot(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "suite-status").write_text("2\n")
    vm_step = next(s for job, s in _steps() if job == "freebsd" and s.get("name") == "Note missing results")
    reason = re.search(r'vm "([^"]+)"', vm_step["run"])
    assert reason is not None
    done = _sh("note-missing.sh", "freebsd-15.1", "vm", reason.group(1), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    note = json.loads((tmp_path / "results" / "missing-freebsd-15.1.json").read_text())
    assert note["stage"] == "suite"
    assert "status 2" in note["reason"] and "boot" not in note["reason"]


def test_every_suite_job_records_that_the_suite_ran() -> None:
    for name in ("hosted", "alpine"):
        run = next(s["run"] for s in JOBS[name]["steps"] if s.get("name") == "Run the suite")
        assert "tox -- " in run and 'echo "$status" >results/suite-status' in run, name


# --- VM installs: refresh, retry, a budget -------------------------------------------------------


def _fake_vm(tmp_path: Path, pkg_failures: int, pkg_sleep: int = 0) -> tuple[Path, dict[str, str]]:
    """A FreeBSD as vm-suite.sh sees it: uname, a pkg that fails its first `pkg_failures`
    installs (each after `pkg_sleep` seconds), and a python3 whose venv's tox exits 2 without
    results. Every pkg call is logged to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    _executable(bin_dir / "uname", "#!/bin/sh\necho FreeBSD\n")
    _executable(
        bin_dir / "pkg",
        f"""#!/bin/sh
echo "pkg $*" >>"{calls}"
if [ "$1" = install ]; then
    sleep {pkg_sleep}
    n=$(grep -c '^pkg install' "{calls}")
    [ "$n" -gt {pkg_failures} ] || exit 3
fi
exit 0
""",
    )
    venv_python = f"""#!/bin/sh
echo "venv $*" >>"{calls}"
[ "$2" = tox ] && exit 2
exit 0
"""
    _executable(
        bin_dir / "python3",
        f"""#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ]; then
    eval "dir=\\${{$#}}"
    mkdir -p "$dir/bin"
    cat >"$dir/bin/python" <<'EOF'
{venv_python}EOF
    chmod +x "$dir/bin/python"
    exit 0
fi
exec "{sys.executable}" "$@"
""",
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
        "VM_SUITE_BACKOFF": "0 0",
    }
    return work, env


def test_a_vm_install_is_retried_with_the_catalogue_refreshed(tmp_path: Path) -> None:
    work, env = _fake_vm(tmp_path, pkg_failures=2)
    done = _sh("vm-suite.sh", "freebsd-15.1", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[:6] == [
        "pkg install -y python3",
        "pkg update -f",
        "pkg install -y python3",
        "pkg update -f",
        "pkg install -y python3",
        f"pkg install -y py{sys.version_info[0]}{sys.version_info[1]}-pip",
    ]
    assert any(c.startswith("venv -m pip install -c ") and c.endswith("constraints.txt tox") for c in calls)
    # Installed, and the suite ran but wrote nothing: the note says so, with tox's status.
    note = json.loads((work / "results" / "missing-freebsd-15.1.json").read_text())
    assert note["stage"] == "suite" and "status 2" in note["reason"]
    assert (work / "results" / "suite-status").read_text().strip() == "2"


def test_a_vm_install_gives_up_after_three_tries_with_an_install_note(tmp_path: Path) -> None:
    work, env = _fake_vm(tmp_path, pkg_failures=99)
    done = _sh("vm-suite.sh", "freebsd-15.1", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls.count("pkg install -y python3") == 3 and calls.count("pkg update -f") == 2
    note = json.loads((work / "results" / "missing-freebsd-15.1.json").read_text())
    assert note["stage"] == "install"
    assert "try 3 of 3" in (work / "results" / "vm-suite.log").read_text()


def test_a_hanging_vm_install_is_stopped_at_the_budget(tmp_path: Path) -> None:
    work, env = _fake_vm(tmp_path, pkg_failures=99, pkg_sleep=60)
    started = time.monotonic()
    done = _sh("vm-suite.sh", "freebsd-15.1", cwd=work, env={**env, "VM_SUITE_BUDGET": "3"})
    assert time.monotonic() - started < 30
    assert done.returncode == 0, done.stderr
    note = json.loads((work / "results" / "missing-freebsd-15.1.json").read_text())
    assert note["stage"] == "install"
    assert "budget" in (work / "results" / "vm-suite.log").read_text()


# --- the toolchain, pinned ----------------------------------------------------------------------


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for text in CONSTRAINTS.read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name), f"not a pin: {line}"
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert key not in pins, f"{name} pinned twice"
        pins[key] = version
    return pins


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _tox() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "tox.ini")
    return config


def test_the_toolchain_is_pinned_in_one_constraints_file() -> None:
    pins = _pins()
    for tool in ("tox", "virtualenv", "pytest", "pytest-xdist", "hatchling", "pluggy", "execnet"):
        assert tool in pins, f"{tool} is not pinned in constraints.txt"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = list(pyproject["build-system"]["requires"]) + list(pyproject["project"]["dependencies"])
    declared += [req for extra in pyproject["project"]["optional-dependencies"].values() for req in extra]
    tox = _tox()
    for section in tox.sections():
        declared += [d for d in tox[section].get("deps", "").split("\n") if d.strip()]
        # The versions are the constraints file's alone: tox.ini names packages.
        for dep in tox[section].get("deps", "").split("\n"):
            assert not re.search(r"[=<>~!]", dep), (
                f"[{section}] pins {dep.strip()}: pin it in constraints.txt"
            )
    unpinned = sorted({_name(d) for d in declared} - set(pins))
    assert unpinned == [], f"declared but not pinned in constraints.txt: {unpinned}"


def test_tox_and_its_wheel_build_install_by_the_constraints() -> None:
    tox = _tox()
    for section in ("testenv", "testenv:.pkg"):
        set_env = tox[section]["set_env"]
        for variable in ("PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT"):
            assert re.search(rf"^\s*{variable} = {{toxinidir}}{{/}}constraints\.txt$", set_env, re.M), (
                f"[{section}] does not set {variable}"
            )


@pytest.mark.skipif(
    not os.environ.get("PIP_CONSTRAINT", "").endswith("constraints.txt"),
    reason="unsupported: not run by tox (tox sets PIP_CONSTRAINT)",
)
def test_this_environment_was_installed_at_the_pinned_versions() -> None:
    pins = _pins()
    for dist in ("pytest", "pytest-xdist", "pluggy", "execnet", "iniconfig"):
        assert metadata.version(dist) == pins[dist], dist


def test_ci_installs_tox_by_the_constraints() -> None:
    installs = [
        line for _, step in _steps() for line in step.get("run", "").splitlines() if "pip install" in line
    ]
    tox_installs = [line for line in installs if line.rstrip().endswith(" tox")]
    assert len(tox_installs) == 3  # hosted, alpine, selftest
    assert all("-c constraints.txt" in line for line in tox_installs), tox_installs
    vm = (SCRIPTS / "vm-suite.sh").read_text()
    assert re.search(r'pip install -c "\$here/\.\./\.\./constraints\.txt" tox', vm)
    report = next(s for s in JOBS["report"]["steps"] if s.get("name") == "Install anonmap")
    for variable in ("PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT"):
        assert report["env"][variable] == "${{ github.workspace }}/constraints.txt"


def test_the_matrix_runs_supported_pythons_only() -> None:
    pythons = {str(e["python"]) for job in JOBS.values() for e in job.get("strategy", {}).get("matrix", {}).get("include", []) if "python" in e}  # fmt: skip
    assert not pythons & set(SOURCES["python"]["retired"]), "a Python past its end of life runs"
    assert SOURCES["python"]["oldest_supported"] in pythons
    labels = [p for p in _platforms() if "-py3." in p]
    assert all(p.rsplit("-py", 1)[1] in pythons for p in labels), labels


# --- concurrency, digests, overwrite -------------------------------------------------------------


def test_superseded_runs_are_cancelled() -> None:
    cited = SOURCES["workflow"]
    assert set(WORKFLOW) - {True} <= set(cited["keys"]) | {"on"}  # PyYAML reads `on:` as True
    concurrency = WORKFLOW["concurrency"]
    assert set(concurrency) <= set(cited["concurrency_keys"])
    assert concurrency["cancel-in-progress"] is True
    assert "github.ref" in concurrency["group"] and "github.workflow" in concurrency["group"]


def test_the_container_is_pinned_by_a_cited_digest() -> None:
    images = {c["image"]: c for c in SOURCES["container"]}
    for name, job in JOBS.items():
        if "container" not in job:
            continue
        image = job["container"]
        assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), (
            f"{name}: {image} not pinned by digest"
        )
        cited = images[image]
        assert image == f"alpine:{cited['tag']}@{cited['digest']}" and cited["platform"] == "linux/amd64"
        assert job["runs-on"] == "ubuntu-24.04"  # an x64 runner: the amd64 image


def test_every_upload_replaces_a_previous_attempts_artifact() -> None:
    uploads = [s for _, s in _steps() if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(uploads) == 8
    assert all(s["with"].get("overwrite") is True for s in uploads)
    assert "overwrite: true" in WORKFLOW_TEXT
