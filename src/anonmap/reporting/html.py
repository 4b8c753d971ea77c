"""The HTML report: one self-contained page (no script, no network at view time)."""

from __future__ import annotations

from html import escape

from anonmap.reporting import atlas
from anonmap.reporting.matrix import Matrix, cell_text
from anonmap.results.records import Record
from anonmap.results.verdicts import LOOKS, Verdict

#: Cell colours by verdict (anonmap.results.verdicts.LOOKS), and for cells with no record or no results;
#: the browser test looks for the pass and deviation colours in a screenshot.
COLOURS = {
    **{verdict.value: look.colour for verdict, look in LOOKS.items()},
    "missing": "#ffffff",
    "absent": "#e06666",
}

_STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 1.5rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; vertical-align: top; }
.scroll { overflow-x: auto; max-width: 100%; }
.matrix thead th { position: sticky; top: 0; background: #f4f4f4; z-index: 2; }
.matrix td.case, .matrix th.case { position: sticky; left: 0; background: #fafafa; z-index: 1; font-family: ui-monospace, monospace; font-size: 12px; }
.matrix tr.group td { background: #eef2f7; font-weight: normal; }
.matrix tr.group b { font-size: 1.05em; }
.claim { font-style: italic; } .idiom code { white-space: normal; }
details { margin: .2rem 0 .4rem; } summary { cursor: pointer; color: #34558b; }
.kind { font-size: 11px; color: #555; display: block; }
.absent { color: #9b1c1c; } th.v-absent { background: #e06666; color: #fff; } th.v-absent .kind { color: #fff; }
/*VERDICTS*/
@media (max-width: 600px) { body { margin: .4rem; font-size: 13px; } th, td { padding: .15rem .3rem; } }
"""


def _verdict_css() -> str:
    verdicts = "\n".join(f"td.v-{name} {{ background: {colour}; }}" for name, colour in COLOURS.items())
    happens = "\n".join(
        f"td.h-{name} {{ background: {colour}; }}" for name, (_, colour) in atlas.HAPPENS.items()
    )
    return verdicts + "\n" + happens


def _cell_class(record: Record | None, baseline: Record | None) -> str:
    """The atlas's cell design: coloured by what happens compared with the first platform's
    observation, except that a failing verdict (a deviation, a fixed bug, a harness error) and
    a case not run keep their verdict's colour, so a deviation stays red."""
    if record is None:
        return "v-missing"
    if LOOKS[record.verdict].fails or not record.observed:
        return f"v-{record.verdict.value}"
    return f"h-{atlas.happens(record.observed, baseline.observed if baseline else '')}"


def _absent_section(matrix: Matrix) -> list[str]:
    """The platforms with no results, named first, in red."""
    if not matrix.absent:
        return []
    items = "".join(
        f"<li><b>{escape(a.label)}</b>: {escape(a.reason)}"
        + (f" (stage: {escape(a.stage)})" if a.stage else "")
        + "</li>"
        for a in matrix.absent
    )
    return [
        f'<h2 class="absent">No results from {len(matrix.absent)} platform(s)</h2><ul class="absent">{items}</ul>'
    ]


def render(matrix: Matrix, title: str = "anonmap compatibility report") -> str:
    runs = matrix.runs
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE.replace('/*VERDICTS*/', _verdict_css())}</style>",
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
        *_absent_section(matrix),
        "<h2>Platforms</h2>",
        '<div class="scroll"><table class="platforms"><thead><tr><th>platform</th><th>kind</th><th>profile</th>',
        *(f"<th>{v.value}</th>" for v in Verdict),
        "</tr></thead><tbody>",
    ]
    for column, run in enumerate(runs):
        counts = matrix.counts(column)
        kind = run.kind
        profile = run.profile["name"] if run.profile else "none (unprofiled)"
        out.append(
            f"<tr><td>{escape(run.label)}</td><td>{escape(kind)}</td><td>{escape(str(profile))}</td>"
            + "".join(
                f'<td class="v-{v.value if counts[v] else "missing"}">{counts[v]}</td>' for v in Verdict
            )
            + "</tr>"
        )
    for missing in matrix.absent:
        out.append(
            f'<tr><td class="v-absent">{escape(missing.label)}</td>'
            f'<td class="v-absent" colspan="{len(Verdict) + 2}">no results: {escape(missing.reason)}</td></tr>'
        )
    out += [
        "</tbody></table></div>",
        "<h2>Matrix</h2>",
        '<div class="scroll"><table class="matrix"><thead><tr><th class="case">case</th>',
    ]
    for run in runs:
        kind = run.kind
        out.append(f'<th>{escape(run.label)}<span class="kind">{escape(kind)}</span></th>')
    for missing in matrix.absent:
        out.append(
            f'<th class="v-absent">{escape(missing.label)}<span class="kind">no results: {escape(missing.reason)}</span></th>'
        )
    out.append("</tr></thead><tbody>")
    width = len(runs) + len(matrix.absent) + 1
    for group in matrix.groups:
        behaviour = group.behaviour
        citations = "".join(
            f"<li>{escape(runs[column].label)}: {escape(cite)}</li>"
            for column in range(len(runs))
            for cite in group.citations(column)
        ) + "".join(
            f"<li>{escape(runs[column].label)}, note: {escape(note)}</li>"
            for column in range(len(runs))
            for note in group.notes(column)
        )
        meanings = "".join(
            f"<li><code>{escape(name)}</code>: {escape(meaning)} ({escape(values)})</li>"
            for name, meaning, values in group.meanings()
        )
        notes = f"<div>Note: {escape(behaviour.notes)}</div>" if behaviour.notes else ""
        out.append(
            f'<tr class="group" id="{escape(behaviour.id)}"><td colspan="{width}">'
            f"<b>{escape(behaviour.title)}</b> <code>{escape(behaviour.id)}</code>"
            f'<div class="claim">“{escape(behaviour.claim)}” — {escape(behaviour.claim_source)}</div>'
            f'<div class="idiom">Portable idiom: <code>{escape(behaviour.idiom)}</code></div>{notes}'
            + f"<details><summary>What the case ids mean</summary><ul>{meanings}</ul></details>"
            + (
                f"<details><summary>Citations and notes</summary><ul>{citations}</ul></details>"
                if citations
                else ""
            )
            + "</td></tr>"
        )
        for row in group.rows:
            out.append(f'<tr><td class="case">{escape(row.case)}</td>')
            baseline = row.cells[0] if row.cells else None
            for record in row.cells:
                css = _cell_class(record, baseline)
                tip = ""
                if record is not None:
                    tip = f"expected {record.expected or '(no profile)'}; observed {record.observed or '-'}; {record.source}"
                    if record.detail:
                        tip += f"; {record.detail}"
                mark = f"{LOOKS[record.verdict].symbol} " if record is not None else ""
                out.append(f'<td class="{css}" title="{escape(tip)}">{escape(mark + cell_text(record))}</td>')
            out += ['<td class="v-absent">no results</td>'] * len(matrix.absent)
            out.append("</tr>")
    out += ["</tbody></table></div>", "</body></html>"]
    return "\n".join(out) + "\n"
