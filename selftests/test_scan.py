"""anonmap scan on fixtures of our own: every hazard found where its line says, nothing on the
safe idioms, SARIF that validates against the 2.1.0 schema, and bad input answered in one line."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from anonmap.cli import EXIT_DIFFERENT, EXIT_INPUT
from anonmap.scan import hazards as scan
from selftests.helpers import REPO, anonmap_cli

FIXTURES = REPO / "selftests" / "fixtures" / "scan"
SARIF_SCHEMA = REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def _expected(path: Path) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if marker := re.search(r"expect: ([a-z, -]+)", line):
            found |= {(number, rule.strip()) for rule in marker.group(1).split(",")}
    return found


@pytest.mark.parametrize(
    "name", ["hazards.c", "hazards.cpp", "no_fallback.c", "safe.c", "exec_memory.c", "idioms.c"]
)
def test_every_hazard_is_found_on_its_line_and_nothing_else(name: str) -> None:
    path = FIXTURES / name
    found = {(f.line, f.rule) for f in scan.scan_file(path) if not f.suppressed}
    assert found == _expected(path)


def _by_line(name: str) -> dict[int, scan.Finding]:
    return {f.line: f for f in scan.scan_file(FIXTURES / name)}


def test_handled_hazards_are_notes_that_say_how_and_the_rest_warnings() -> None:
    found = _by_line("exec_memory.c")
    assert found[18].level == "note" and "PROT_MPROTECT" in found[18].guard
    assert found[25].level == "warning" and "openbsd answers ENOTSUP" in found[25].message
    assert found[34].level == "note" and "EACCES, ENOTSUP" in found[34].guard
    assert found[52].level == "warning" and "through alloc_at()" in found[52].message
    assert found[63].level == "note" and "MAP_JIT" in found[63].guard
    assert found[69].level == "warning"
    idioms = _by_line("idioms.c")
    assert idioms[16].level == "note" and "USE_ANON" in idioms[16].guard
    assert idioms[28].level == "warning" and idioms[27].level == "warning"
    assert idioms[40].level == "note" and "fallback" in idioms[40].guard
    assert idioms[54].level == "note" and "dontneed_zeroes_pages" in idioms[54].guard
    (ignored,) = [f for f in idioms.values() if f.suppressed]
    assert ignored.rule == "write-and-execute" and ignored.suppressed == "a test of the refusal itself"


def test_hostile_macros_and_nesting_end_quickly(tmp_path: Path) -> None:
    cases = {
        "flags.c": b"#define FLAGS (MAP_PRIVATE|MAP_ANON)\nvoid *p(void){return mmap(0,1,PROT_READ,FLAGS,-1,0);}\n",
        "self.c": b"#define A A A A A A A A A A A A A A A A\n#define B A B A B\nvoid *p(void){return mmap(0,1,A,B|MAP_ANON,A,B);}\n",
        "elseif.c": b"void f(int x){if(x==0){}"
        + b"".join(
            b"else if(x==%d){mmap(0,1,PROT_READ,MAP_PRIVATE|MAP_ANON,-1,0);}" % i for i in range(1, 1000)
        )
        + b"}\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        started = time.monotonic()
        scan.scan_file(tmp_path / name)
        assert time.monotonic() - started < 10, name


def test_every_rule_is_exercised_by_the_fixtures() -> None:
    rules = {rule for path in FIXTURES.iterdir() if path.is_file() for _, rule in _expected(path)}
    assert rules == set(scan.RULES)


def test_a_macro_in_the_file_is_resolved_and_a_finding_names_its_case_and_idiom() -> None:
    done = anonmap_cli("scan", str(FIXTURES / "hazards.c"), "--targets", "linux,freebsd")
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    assert "hazards.c:17:12: anon-fd-not-minus-one: MAP_ANON(YMOUS) with fd (0), not -1" in done.stdout
    assert "documented: linux: zero; freebsd: EINVAL" in done.stdout
    assert "idiom: Always pass fd = -1" in done.stdout


def test_the_safe_idioms_give_no_finding_and_exit_0() -> None:
    done = anonmap_cli("scan", str(FIXTURES / "safe.c"))
    assert done.returncode == 0 and done.stdout == "no findings\n"


def test_json_output_carries_the_documented_outcomes(tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    done = anonmap_cli(
        "scan", str(FIXTURES), "--format", "json", "--output", str(out), "--targets", "openbsd"
    )
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == "anonmap-scan/1"
    fd = next(f for f in data["findings"] if f["rule"] == "anon-fd-not-minus-one")
    assert fd["documented"] == {"openbsd": "EINVAL"} and fd["idiom"]


@pytest.mark.skipif(not SARIF_SCHEMA.exists(), reason="unsupported: no SARIF 2.1.0 schema in shared/schemas")
def test_sarif_output_validates_against_the_schema(tmp_path: Path) -> None:
    import jsonschema

    out = tmp_path / "scan.sarif"
    done = anonmap_cli("scan", str(FIXTURES), "--format", "sarif", "--output", str(out))
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    (run,) = document["runs"]
    assert {r["ruleId"] for r in run["results"]} == set(scan.RULES)
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("selftests/")
        for r in run["results"]
    )


def test_sarif_carries_what_github_code_scanning_takes(tmp_path: Path) -> None:
    out = tmp_path / "scan.sarif"
    done = anonmap_cli("scan", str(FIXTURES), "--format", "sarif", "--output", str(out))
    assert done.returncode == EXIT_DIFFERENT, done.stderr
    (run,) = json.loads(out.read_text())["runs"]
    assert run["columnKind"] == "unicodeCodePoints" and run["automationDetails"]["id"]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/")
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["text"] and rule["defaultConfiguration"]["level"] in ("warning", "note", "error")
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "SRCROOT"
        region = location["region"]
        assert region["endLine"] >= region["startLine"] and "endColumn" in region
        assert result["partialFingerprints"], result
    # A path is a URI: percent-encoded where it holds what a URI cannot.
    spaced = tmp_path / "with space.c"
    spaced.write_bytes((FIXTURES / "hazards.c").read_bytes())
    anonmap_cli("scan", spaced.name, "--format", "sarif", "--output", str(out), cwd=tmp_path)
    (run,) = json.loads(out.read_text())["runs"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {
        "with%20space.c"
    }


def test_bad_input_is_one_line_with_the_input_status(tmp_path: Path) -> None:
    binary = tmp_path / "blob.c"
    binary.write_bytes(b"\x7fELF\0\0\0")
    huge = tmp_path / "huge.c"
    with huge.open("wb") as stream:
        stream.truncate(scan.MAX_BYTES + 1)
    for args, words in (
        ([str(tmp_path / "missing.c")], "no such file or directory"),
        ([str(binary)], "a binary file"),
        ([str(huge)], "over the 8 MiB"),
        ([str(FIXTURES / "safe.c"), "--targets", "plan9"], "neither a results file nor a profile"),
    ):
        done = anonmap_cli("scan", *args)
        assert done.returncode == EXIT_INPUT, (args, done.stdout, done.stderr)
        (line,) = done.stderr.splitlines()
        assert line.startswith("anonmap: ") and words in line, line


def test_a_baseline_keeps_known_findings_from_failing_the_scan_and_a_bad_one_is_one_line(
    tmp_path: Path,
) -> None:
    baseline = tmp_path / "baseline.json"
    source = str(FIXTURES / "hazards.c")
    written = anonmap_cli("scan", source, "--write-baseline", str(baseline))
    assert written.returncode == EXIT_DIFFERENT, written.stderr
    again = anonmap_cli("scan", source, "--baseline", str(baseline), "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    # The warnings are suppressed by it; the notes never gated the scan.
    suppressed = [f for f in json.loads(again.stdout)["findings"] if f["suppressed"] == "in the baseline"]
    assert len(suppressed) == len(json.loads(baseline.read_text())["fingerprints"]) > 0
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    refused = anonmap_cli("scan", source, "--baseline", str(bad))
    assert refused.returncode == EXIT_INPUT and len(refused.stderr.strip().splitlines()) == 1
