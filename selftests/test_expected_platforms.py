"""The merged matrix knows which platforms it expected: a platform with no results is a red
column saying why, named first, and merge exits 5 once every output is written."""

from __future__ import annotations

import json
from pathlib import Path

from anonmap.cli import EXIT_MISSING
from anonmap.reporting.expected import from_workflow
from anonmap.results.records import document, write_atomically
from selftests.helpers import REPO, anonmap_cli, write_results


def _labelled(path: Path, os_name: str, label: str) -> Path:
    write_results(path, os_name, {"libc-private-fd=0": "zero"})
    content = json.loads(path.read_text())
    content["label"] = label
    write_atomically(path, content)
    return path


def _note(path: Path, label: str, reason: str) -> Path:
    path.write_text(
        json.dumps(
            {"schema": "anonmap-missing/1", "label": label, "stage": "install", "reason": reason, "log": ""}
        )
    )
    return path


def test_a_platform_with_no_results_is_named_first_and_merge_exits_5(tmp_path: Path) -> None:
    linux = _labelled(tmp_path / "linux.json", "linux", "linux-x86_64-py3.14")
    note = _note(tmp_path / "missing-openbsd-7.9.json", "openbsd-7.9", "installing Python failed")
    out = tmp_path / "out"
    out.mkdir()
    done = anonmap_cli(
        "merge", str(linux), str(note),
        "--expect", "linux-x86_64-py3.14", "--expect", "openbsd-7.9", "--expect", "netbsd-10.1",
        "--markdown", str(out / "m.md"), "--html", str(out / "m.html"), "--json", str(out / "merged.json"),
    )  # fmt: skip
    assert done.returncode == EXIT_MISSING, done.stderr
    markdown = (out / "m.md").read_text()
    first_section = markdown.split("\n## ")[1]
    assert first_section.startswith("❌ No results from 2 platform(s)")
    assert "**openbsd-7.9**: installing Python failed (stage: install)" in first_section
    assert "**netbsd-10.1**: no results and no note" in first_section
    table = next(line for line in markdown.splitlines() if line.startswith("| case |"))
    assert table.endswith("| openbsd-7.9 | netbsd-10.1 |")
    page = (out / "m.html").read_text()
    assert (
        '<th class="v-absent" data-p="openbsd-7.9">openbsd-7.9<span class="kind">no results: installing Python failed'
        in page
    )
    merged = json.loads((out / "merged.json").read_text())
    assert [a["label"] for a in merged["absent"]] == ["openbsd-7.9", "netbsd-10.1"]
    # The merged file reads back with its absent platforms.
    again = anonmap_cli("merge", str(out / "merged.json"))
    assert again.returncode == EXIT_MISSING and "No results from 2 platform(s)" in again.stdout


def test_every_expected_platform_present_exits_0(tmp_path: Path) -> None:
    linux = _labelled(tmp_path / "linux.json", "linux", "linux-x86_64-py3.14")
    done = anonmap_cli("merge", str(linux), "--expect", "linux-x86_64-py3.14")
    assert done.returncode == 0, done.stderr
    assert "No results" not in done.stdout


def test_the_workflow_names_every_platform_its_matrix_runs(tmp_path: Path) -> None:
    workflow = REPO / ".github" / "workflows" / "ci.yml"
    expected = from_workflow(workflow)
    assert "linux-x86_64-py3.11" in expected and "omnios-r151054" in expected
    linux = _labelled(tmp_path / "linux.json", "linux", "linux-x86_64-py3.11")
    done = anonmap_cli("merge", str(linux), "--expect-from", str(workflow))
    assert done.returncode == EXIT_MISSING
    missing = [label for label in expected if label != "linux-x86_64-py3.11"]
    assert f"No results from {len(missing)} platform(s)" in done.stdout
    assert all(f"**{label}**" in done.stdout for label in missing)


def test_runs_of_one_os_with_different_labels_are_different_platforms(tmp_path: Path) -> None:
    a = _labelled(tmp_path / "a.json", "linux", "linux-x86_64-py3.11")
    b = _labelled(tmp_path / "b.json", "linux", "linux-x86_64-py3.14")
    done = anonmap_cli("merge", str(a), str(b))
    assert done.returncode == 0, done.stderr


def test_a_note_is_not_a_results_file_for_report_or_diff(tmp_path: Path) -> None:
    note = _note(tmp_path / "missing-x.json", "x", "it did not boot")
    done = anonmap_cli("report", str(note))
    assert done.returncode == 3 and "has no results, not a results file" in done.stderr


def test_an_incomplete_run_is_marked_in_merge_and_diff(tmp_path: Path) -> None:
    complete = write_results(tmp_path / "a.json", "linux", {"libc-private-fd=0": "zero"})
    content = json.loads(write_results(tmp_path / "f.json", "freebsd", {}).read_text())
    partial = document(content["run_info"], content["profile"], [], content["started_at"])
    partial.update(complete=False, incomplete_reason="interrupted (KeyboardInterrupt)")
    write_atomically(tmp_path / "b.json", partial)
    merged = anonmap_cli("merge", str(complete), str(tmp_path / "b.json"))
    assert "## Incomplete runs" in merged.stdout and "interrupted (KeyboardInterrupt)" in merged.stdout
    diff = anonmap_cli("diff", str(complete), str(tmp_path / "b.json"))
    assert "is incomplete (interrupted (KeyboardInterrupt))" in diff.stdout
