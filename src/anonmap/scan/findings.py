"""anonmap scan's findings as a porter reads them (text), as data (JSON), and as SARIF 2.1.0
for code-scanning tools: each with the documented outcome on every target platform and the
portable idiom, from the catalogue and the profiles."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anonmap.expect.catalogue import behaviours
from anonmap.host.installation import VERSION
from anonmap.reporting.runs import Run
from anonmap.scan.hazards import RULES, Finding
from anonmap.scan.rules import rules
from anonmap.scan.suppress import fingerprint

SCHEMA = "anonmap-scan/1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def documented(finding: Finding, targets: Sequence[Run]) -> dict[str, str]:
    """Each target platform's documented outcome for the finding's cases ('a / b' for several)."""
    found = {}
    for run in targets:
        by_case = {(r.behaviour, r.case): r.expected for r in run.records}
        outcomes = [by_case.get((finding.behaviour, case), "unknown") for case in finding.cases]
        if outcomes:
            found[str(run.profile["name"] if run.profile else run.os)] = " / ".join(outcomes)
    return found


def _idiom(finding: Finding) -> str:
    behaviour = behaviours().get(finding.behaviour)
    return behaviour.idiom if behaviour else ""


def text(findings: Sequence[Finding], targets: Sequence[Run]) -> str:
    lines = []
    for f in findings:
        where = f"{f.behaviour} {', '.join(f.cases)}" if f.behaviour else "no catalogue case yet"
        uncertain = " (uncertain: a value it depends on is not known here)" if not f.certain else ""
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.rule}: {f.message} [{where}]{uncertain}")
        if f.guard:
            lines.append(f"    handled (a note): {f.guard}")
        if f.suppressed:
            lines.append(f"    suppressed: {f.suppressed}")
        if outcomes := documented(f, targets):
            lines.append("    documented: " + "; ".join(f"{p}: {o}" for p, o in outcomes.items()))
        if idiom := _idiom(f):
            lines.append(f"    idiom: {idiom}")
    count = len(findings)
    lines.append(f"{count} finding(s)" if count else "no findings")
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding], targets: Sequence[Run]) -> str:
    return (
        json.dumps(
            {
                "schema": SCHEMA,
                "findings": [
                    {**dataclasses.asdict(f), "documented": documented(f, targets), "idiom": _idiom(f)}
                    for f in findings
                ],
            },
            indent=1,
        )
        + "\n"
    )


def _rule(rule: str) -> Mapping[str, Any]:
    spec = rules()[rule]
    return {
        "id": rule,
        "name": rule,
        "shortDescription": {"text": RULES[rule]},
        "fullDescription": {"text": spec.help},
        # No helpUri or informationUri: the project publishes no address yet, and SARIF 2.1.0
        # makes both optional; the rule's help travels in the file itself.
        "help": {"text": spec.help},
        "defaultConfiguration": {"level": spec.level},
    }


def sarif(findings: Sequence[Finding], targets: Sequence[Run], root: Path) -> str:
    """SARIF 2.1.0: one run, a rule per hazard, a result per finding (a note where uncertain)."""
    rules = sorted({f.rule for f in findings})
    results = []
    for f in findings:
        path = Path(f.path)
        try:
            # Relative to the root (SRCROOT), percent-encoded, as code scanning matches them.
            location: dict[str, str] = {
                "uri": quote(path.resolve().relative_to(root.resolve()).as_posix()),
                "uriBaseId": "SRCROOT",
            }
        except ValueError:
            location = {"uri": path.resolve().as_uri()}
        outcomes = documented(f, targets)
        message = f.message + (
            f". Documented: {'; '.join(f'{p}: {o}' for p, o in outcomes.items())}" if outcomes else ""
        )
        if idiom := _idiom(f):
            message += f". Portable idiom: {idiom}"
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": rules.index(f.rule),
                "level": f.level,
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": location,
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endLine": f.end_line,
                                "endColumn": f.end_column,
                            },
                        }
                    }
                ],
                "partialFingerprints": {"anonmapFingerprint/v1": fingerprint(f, root)},
                **(
                    {
                        "suppressions": [
                            {
                                "kind": "inSource" if f.suppressed != "in the baseline" else "external",
                                "justification": f.suppressed,
                            }
                        ]
                    }
                    if f.suppressed
                    else {}
                ),
                "properties": {
                    "guard": f.guard,
                    "behaviour": f.behaviour,
                    "cases": list(f.cases),
                    "certain": f.certain,
                    "documented": outcomes,
                },
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "anonmap",
                        "version": VERSION,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
                "automationDetails": {"id": "anonmap-scan/"},
                "originalUriBaseIds": {"SRCROOT": {"uri": root.resolve().as_uri() + "/"}},
            }
        ],
    }
    return json.dumps(document, indent=1) + "\n"
