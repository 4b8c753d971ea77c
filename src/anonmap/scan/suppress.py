"""Findings a porter has looked at: an inline 'anonmap: ignore[RULE] reason' comment on the
line or the line above, and a baseline file of fingerprints (the rule, the file and the
line's text, so a finding keeps its fingerprint when code above it moves)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from anonmap.scan.finding import Finding

BASELINE_SCHEMA = "anonmap-scan-baseline/1"
_MARK = "anonmap: ignore["


class BaselineError(Exception):
    """A baseline that cannot be read; the message names it."""


def fingerprint(finding: Finding, root: Path) -> str:
    try:
        path = Path(finding.path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        path = Path(finding.path).as_posix()
    text = " ".join(finding.snippet.split())
    return hashlib.sha256(f"{finding.rule}\0{path}\0{text}".encode()).hexdigest()[:32]


def inline(finding: Finding, lines: Sequence[str]) -> str:
    """The reason given by an ignore comment for this finding's rule ('' where none)."""
    for number in (finding.line, finding.line - 1):
        if 1 <= number <= len(lines) and (start := lines[number - 1].find(_MARK)) >= 0:
            rest = lines[number - 1][start + len(_MARK) :]
            names, _, reason = rest.partition("]")
            if finding.rule in {n.strip() for n in names.split(",")}:
                reason = reason.strip().removesuffix("*/").strip()
                return reason or "ignored inline"
    return ""


def read_baseline(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineError(f"{path}: not a readable baseline: {error}") from error
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise BaselineError(f"{path}: not a baseline (schema {BASELINE_SCHEMA} expected)")
    prints = data.get("fingerprints")
    if not isinstance(prints, list) or not all(isinstance(p, str) for p in prints):
        raise BaselineError(f"{path}: 'fingerprints' must be a list of strings")
    return set(prints)


def baseline_text(findings: Sequence[Finding], root: Path) -> str:
    prints = sorted({fingerprint(f, root) for f in findings if f.gates})
    return json.dumps({"schema": BASELINE_SCHEMA, "fingerprints": prints}, indent=1) + "\n"


def apply_baseline(findings: Sequence[Finding], known: set[str], root: Path) -> list[Finding]:
    return [
        dataclasses.replace(f, suppressed="in the baseline")
        if not f.suppressed and fingerprint(f, root) in known
        else f
        for f in findings
    ]
