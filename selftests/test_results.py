"""The results file: complete or absent, never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonmap.results.records import SCHEMA, Record, document, write_atomically
from anonmap.results.verdicts import Verdict
from selftests.helpers import write_results


def _record(nodeid: str, verdict: Verdict = Verdict.PASS) -> Record:
    return Record(
        nodeid,
        "zero-fill",
        "libc-private-size=1",
        {"api": "libc"},
        "zero",
        "zero",
        verdict,
        ("c",),
        "",
        "",
        "platforms/x.toml:3",
    )


def test_records_are_sorted_and_counted() -> None:
    content = document(
        {"os": "x"}, None, [_record("b"), _record("a", Verdict.DEVIATION)], "2026-01-01T00:00:00+00:00"
    )
    assert content["schema"] == SCHEMA
    assert [r["nodeid"] for r in content["records"]] == ["a", "b"]
    assert content["counts"] == {"deviation": 1, "pass": 1}
    assert Record.from_json(content["records"][1]) == _record("b")


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    write_atomically(target, {"old": True})
    with pytest.raises(TypeError):
        write_atomically(target, {"new": object()})  # not JSON: fails mid-write
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_record_missing_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks"):
        Record.from_json({"nodeid": "x"})


def test_a_version_1_results_file_reads_back_in_version_2_words(tmp_path: Path) -> None:
    from anonmap.reporting.runs import read

    path = write_results(tmp_path / "v2.json", "linux", {"libc-private-fd=0": "zero"})
    old = json.loads(path.read_text())
    old["schema"] = "anonmap-results/1"
    for record in old["records"]:
        record["params"] = {("layer" if k == "api" else k): v for k, v in record["params"].items()}
    path.write_text(json.dumps(old))
    (run,) = read(path)
    assert run.records[0].params["api"] == "libc" and "layer" not in run.records[0].params
