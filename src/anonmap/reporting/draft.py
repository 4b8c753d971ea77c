"""A draft profile from an unprofiled platform's observations, for a person to complete.

Every entry is written with an empty ``cite``, which profile validation refuses: the draft
records what was observed, and cannot pass for documentation until someone cites the man page
and source that decide each outcome.
"""

from __future__ import annotations

import json

from anonmap.reporting.runs import Run


def render(run: Run) -> str:
    info = run.run_info
    os_name = str(info.get("os", "unknown"))
    lines = [
        f"# DRAFT profile for {os_name}, from observations on {info.get('release')} {info.get('arch')}",
        f"# ({run.source}, {run.started_at}). Every outcome below was OBSERVED, not documented:",
        "# for each entry, find the man page and the kernel or libc source that decide it, put",
        "# them in cite, and correct the outcome where the documentation says otherwise.",
        "# Validation refuses this file until every cite is filled.",
        "",
        "[platform]",
        f"os = [{json.dumps(os_name)}]",
        f"title = {json.dumps(os_name)}",
        "sources = []",
    ]
    for record in sorted(run.records, key=lambda r: (r.behaviour, r.case)):
        outcome = record.observed if record.observed else "unknown"
        case = ", ".join(f"{key} = {json.dumps(value)}" for key, value in record.params.items())
        lines += [
            "",
            "[[expect]]",
            f"behaviour = {json.dumps(record.behaviour)}",
            f"case = {{ {case} }}",
            f"outcome = {json.dumps(outcome)}",
            "cite = []  # UNCITED",
        ]
        if not record.observed:
            lines.append(f"note = {json.dumps('not observed: ' + record.detail)}")
    return "\n".join(lines) + "\n"
