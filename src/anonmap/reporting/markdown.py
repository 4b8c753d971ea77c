"""The Markdown report: for the terminal and for $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from anonmap.reporting.matrix import Matrix, cell_text
from anonmap.results.records import Record
from anonmap.results.verdicts import LOOKS, Verdict

_ABSENT = f"{LOOKS[Verdict.DEVIATION].mark} no results"


def cell(record: Record | None) -> str:
    text = cell_text(record)
    return text if record is None else f"{LOOKS[record.verdict].mark} {text}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(matrix: Matrix, title: str = "anonmap compatibility report") -> str:
    runs = matrix.runs
    lines = [f"# {title}", ""]
    if matrix.absent:
        # First, so a CI summary names the platforms that vanished before anything else.
        lines += [f"## {LOOKS[Verdict.DEVIATION].mark} No results from {len(matrix.absent)} platform(s)", ""]
        lines += [
            f"- **{_escape(a.label)}**: {_escape(a.reason)}" + (f" (stage: {a.stage})" if a.stage else "")
            for a in matrix.absent
        ]
        lines.append("")
    incomplete = [run for run in runs if not run.complete]
    if incomplete:
        lines += ["## Incomplete runs", ""]
        lines += [f"- **{_escape(run.label)}**: {_escape(run.incomplete_reason)}" for run in incomplete]
        lines.append("")
    lines.append("| platform | kind | profile | " + " | ".join(v.value for v in Verdict) + " |")
    lines.append("|---|---|---|" + "---|" * len(Verdict))
    for column, run in enumerate(runs):
        counts = matrix.counts(column)
        kind = run.kind
        profile = run.profile["name"] if run.profile else "none (unprofiled)"
        lines.append(
            f"| {run.label} | {kind} | {profile} | " + " | ".join(str(counts[v]) for v in Verdict) + " |"
        )
    for missing in matrix.absent:
        lines.append(
            f"| {_escape(missing.label)} | {_ABSENT} | — | " + " | ".join("—" for _ in Verdict) + " |"
        )
    deviations = [
        (group.behaviour.id, row.case, runs[column].label, record)
        for group in matrix.groups
        for row in group.rows
        for column, record in enumerate(row.cells)
        if record is not None and record.verdict is Verdict.DEVIATION
    ]
    if deviations:
        lines += ["", "## Deviations", ""]
        for behaviour_id, case, label, record in deviations:
            lines.append(
                f"- **{behaviour_id}** `{case}` on {label}: observed `{record.observed}`, expected `{record.expected}` ({record.source})"
            )
    lines += ["", "## Matrix"]
    for group in matrix.groups:
        behaviour = group.behaviour
        lines += ["", f"### {behaviour.title} (`{behaviour.id}`)", ""]
        lines.append(f"> {_escape(behaviour.claim)} — {behaviour.claim_source}")
        lines += ["", f"**Portable idiom:** {_escape(behaviour.idiom)}"]
        if behaviour.notes:
            lines += ["", f"**Note:** {_escape(behaviour.notes)}"]
        headers = [_escape(run.label) for run in runs] + [_escape(a.label) for a in matrix.absent]
        lines += ["", "| case | " + " | ".join(headers) + " |"]
        lines.append("|---|" + "---|" * len(headers))
        for row in group.rows:
            cells = [_escape(cell(c)) for c in row.cells] + [_ABSENT] * len(matrix.absent)
            lines.append(f"| `{row.case}` | " + " | ".join(cells) + " |")
        lines += ["", "<details><summary>What the case ids mean</summary>", ""]
        lines += [
            f"- `{name}`: {_escape(meaning)} ({_escape(values)})"
            for name, meaning, values in group.meanings()
        ]
        lines += ["", "</details>"]
        cited = [(run.label, group.citations(column), group.notes(column)) for column, run in enumerate(runs)]
        if any(cites or notes for _, cites, notes in cited):
            lines += ["", "<details><summary>Citations and notes</summary>", ""]
            for label, cites, notes in cited:
                lines += [f"- {_escape(label)}: {_escape(cite)}" for cite in cites]
                lines += [f"- {_escape(label)}, note: {_escape(note)}" for note in notes]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
