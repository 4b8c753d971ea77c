"""The Markdown report: for the terminal and for $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from anonmap.reporting.matrix import Matrix, cell_text
from anonmap.results.records import Record
from anonmap.results.verdicts import LOOKS, Verdict

_ABSENT = f"{LOOKS[Verdict.DEVIATION].mark} no results"


def cell(record: Record | None) -> str:
    text = cell_text(record)
    return text if record is None else f"{LOOKS[record.verdict].mark} {text}"


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def absent_and_incomplete(matrix: Matrix) -> list[str]:
    """The platforms with no results, then the runs cut short: what a reader must see first."""
    runs = matrix.runs
    lines: list[str] = []
    if matrix.absent:
        # First, so a CI summary names the platforms that vanished before anything else.
        lines += [f"## {LOOKS[Verdict.DEVIATION].mark} No results from {len(matrix.absent)} platform(s)", ""]
        lines += [
            f"- **{escape(a.label)}**: {escape(a.reason)}" + (f" (stage: {a.stage})" if a.stage else "")
            for a in matrix.absent
        ]
        lines.append("")
    incomplete = [run for run in runs if not run.complete]
    if incomplete:
        lines += ["## Incomplete runs", ""]
        lines += [f"- **{escape(run.label)}**: {escape(run.incomplete_reason)}" for run in incomplete]
        lines.append("")
    return lines


def counts(matrix: Matrix) -> list[str]:
    """A row a platform, a column a verdict; the platforms with no results last."""
    runs = matrix.runs
    lines = ["| platform | kind | profile | " + " | ".join(v.value for v in Verdict) + " |"]
    lines.append("|---|---|---|" + "---|" * len(Verdict))
    for column, run in enumerate(runs):
        tally = matrix.counts(column)
        profile = run.profile["name"] if run.profile else "none (unprofiled)"
        lines.append(
            f"| {run.label} | {run.kind} | {profile} | " + " | ".join(str(tally[v]) for v in Verdict) + " |"
        )
    for missing in matrix.absent:
        lines.append(
            f"| {escape(missing.label)} | {_ABSENT} | — | " + " | ".join("—" for _ in Verdict) + " |"
        )
    return lines


def render(matrix: Matrix, title: str = "anonmap compatibility report") -> str:
    runs = matrix.runs
    lines = [f"# {title}", "", *absent_and_incomplete(matrix), *counts(matrix)]
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
        lines.append(f"> {escape(behaviour.claim)} — {behaviour.claim_source}")
        lines += ["", f"**Portable idiom:** {escape(behaviour.idiom)}"]
        if behaviour.notes:
            lines += ["", f"**Note:** {escape(behaviour.notes)}"]
        headers = [escape(run.label) for run in runs] + [escape(a.label) for a in matrix.absent]
        lines += ["", "| case | " + " | ".join(headers) + " |"]
        lines.append("|---|" + "---|" * len(headers))
        for row in group.rows:
            cells = [escape(cell(c)) for c in row.cells] + [_ABSENT] * len(matrix.absent)
            lines.append(f"| `{row.case}` | " + " | ".join(cells) + " |")
        lines += ["", "<details><summary>What the case ids mean</summary>", ""]
        lines += [
            f"- `{name}`: {escape(meaning)} ({escape(values)})" for name, meaning, values in group.meanings()
        ]
        lines += ["", "</details>"]
        cited = [(run.label, group.citations(column), group.notes(column)) for column, run in enumerate(runs)]
        if any(cites or notes for _, cites, notes in cited):
            lines += ["", "<details><summary>Citations and notes</summary>", ""]
            for label, cites, notes in cited:
                lines += [f"- {escape(label)}: {escape(cite)}" for cite in cites]
                lines += [f"- {escape(label)}, note: {escape(note)}" for note in notes]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
