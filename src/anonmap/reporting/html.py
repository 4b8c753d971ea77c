"""The HTML report: one self-contained page (its style and script inline, nothing fetched when
viewed), which filters by platform, behaviour and verdict, searches, shows differences only,
and gives every behaviour, case and cell a permalink (anonmap.reporting.page)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from anonmap.reporting import atlas, page, variants
from anonmap.reporting.matrix import Group, Matrix, cell_text
from anonmap.results.records import Record
from anonmap.results.verdicts import LOOKS, Verdict

#: Cell colours by verdict (anonmap.results.verdicts.LOOKS), and for cells with no record or no results;
#: the browser test looks for the pass and deviation colours in a screenshot.
COLOURS = {
    **{verdict.value: look.colour for verdict, look in LOOKS.items()},
    "missing": "#ffffff",
    "absent": "#e06666",
}


def _colours() -> dict[str, str]:
    """Every cell class and its colour: by verdict, and by what happens against the first column."""
    return {
        **{f"v-{name}": colour for name, colour in COLOURS.items()},
        **{f"h-{name}": colour for name, (_, colour) in atlas.HAPPENS.items()},
    }


def _cell_class(record: Record | None, baseline: Record | None) -> str:
    """The atlas's cell design for a pass: coloured by what happens compared with the first
    platform's observation; every other verdict (a deviation, an unprofiled outcome, a case
    not run) keeps its verdict's colour, so a deviation stays red. One class a cell: the
    verdict filter reads it (a pass is any h-)."""
    if record is None:
        return "v-missing"
    if record.verdict is not Verdict.PASS or not record.observed:
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


def _legend(first: str) -> str:
    verdicts = [
        (f"v-{v.value}", f"{LOOKS[v].symbol} {v.value}") for v in Verdict if v is not Verdict.DOCUMENTED
    ]
    happens = [
        (f"h-{name}", f"passes, {words.replace('the baseline', first)}")
        for name, (words, _) in atlas.HAPPENS.items()
    ]
    return page.legend([*verdicts, *happens, ("v-missing", "· not run"), ("v-absent", "no results")])


def _platforms(matrix: Matrix) -> list[str]:
    runs = matrix.runs
    out = [
        "<h2>Platforms</h2>",
        '<div class="scroll"><table class="platforms"><thead><tr><th>platform</th><th>kind</th><th>profile</th>',
        *(f"<th>{v.value}</th>" for v in Verdict),
        "</tr></thead><tbody>",
    ]
    for column, run in enumerate(runs):
        counts = matrix.counts(column)
        profile = run.profile["name"] if run.profile else "none (unprofiled)"
        out.append(
            f"<tr><td>{escape(run.label)}</td><td>{escape(run.kind)}</td><td>{escape(str(profile))}</td>"
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
    out.append("</tbody></table></div>")
    return out


def _says(record: Record | None) -> tuple[str, str, str, str] | None:
    """What a cell shows and tells: equal for cells a reader cannot tell apart."""
    return None if record is None else (record.verdict.value, record.observed, record.expected, record.detail)


def _cell(record: Record | None, baseline: Record | None, tips: page.Tips, span: int = 1) -> str:
    css = _cell_class(record, baseline)
    text = escape((f"{LOOKS[record.verdict].symbol} " if record else "") + cell_text(record))
    tip = ""
    # Only where it tells more than the cell and its colour: why it failed or did not run.
    if record is not None and (LOOKS[record.verdict].fails or record.detail):
        words = f"expected {record.expected or '(no profile)'}; observed {record.observed or '-'}"
        if LOOKS[record.verdict].fails:
            words += f"; {record.source}"
        tip = tips.ref(words + (f"; {record.detail}" if record.detail else ""))
    if span > 1:
        text += f'<span class="kind">the same on all {span} platforms</span>'
    # Unquoted class, no </td>: a merged page holds a cell per platform and case.
    return f"<td class={css}" + (f" colspan={span}" if span > 1 else "") + f"{tip}>{text}"


def _differs(cells: Sequence[Record | None]) -> bool:
    present = [c for c in cells if c is not None]
    return len({c.observed for c in present}) > 1 or any(c.verdict is not Verdict.PASS for c in present)


def _group(matrix: Matrix, group: Group, width: int, tips: page.Tips) -> list[str]:
    runs = matrix.runs
    behaviour = group.behaviour
    given: dict[str, list[str]] = {}
    for column, run in enumerate(runs):
        who = str(run.profile["name"]) if run.profile else run.label
        for text in group.citations(column) + [f"note: {n}" for n in group.notes(column)]:
            given.setdefault(text, [])
            if who not in given[text]:
                given[text].append(who)
    meanings = "".join(
        f"<li><code>{escape(name)}</code>: {escape(meaning)} ({escape(values)})</li>"
        for name, meaning, values in group.meanings()
    )
    notes = f"<div>Note: {escape(behaviour.notes)}</div>" if behaviour.notes else ""
    out = [
        f'<tbody id="{escape(behaviour.id)}"><tr class="g"><td colspan="{width}">'
        f'<b>{escape(behaviour.title)}</b> <a href="#{escape(behaviour.id)}"><code>{escape(behaviour.id)}</code></a>'
        f'<div class="claim">“{escape(behaviour.claim)}” — {escape(behaviour.claim_source)}</div>'
        f'<div class="idiom">Portable idiom: <code>{escape(behaviour.idiom)}</code></div>{notes}'
        + f"<details><summary>What the case ids mean</summary><ul>{meanings}</ul></details>"
        + (
            f"<details><summary>Citations and notes</summary><ul>{page.citations(given)}</ul></details>"
            if given
            else ""
        )
        + "</td></tr>"
    ]
    rows = {row.case: row for row in group.rows}
    lines = variants.fold(behaviour.id, rows, lambda case: tuple(map(_says, rows[case].cells)))
    absent = "<td class=v-absent>no results" * len(matrix.absent)
    for line, (row_id, label) in zip(lines, page.row_ids(lines), strict=True):
        cells = rows[line.cases[0]].cells
        baseline = cells[0] if cells else None
        same = len(cells) > 1 and None not in cells and len(set(map(_says, cells))) == 1
        body = (
            _cell(cells[0], baseline, tips, len(cells))
            if same
            else "".join(_cell(c, baseline, tips) for c in cells)
        )
        differs = " d" if _differs(cells) else ""
        out.append(
            f'<tr class="r{differs}" id="{escape(row_id)}"><td class="case">{label}</td>{body}{absent}'
        )
    out.append("</tbody>")
    return out


def render(matrix: Matrix, title: str = "anonmap compatibility report") -> str:
    runs = matrix.runs
    labels = [run.label for run in runs]
    # A permalink names a column by its CI label where it has one: two runs may share a label
    # (two Pythons on one Linux), never a CI label.
    slugs = page.slugs([run.ci_label or run.label for run in runs] + [a.label for a in matrix.absent])
    out = [
        *page.head(title, _colours()),
        *_absent_section(matrix),
        *_platforms(matrix),
        "<h2>Matrix</h2>",
        _legend(labels[0] if labels else "the first platform"),
        page.tools(
            list(zip(slugs, [*labels, *(a.label for a in matrix.absent)], strict=True)),
            [(g.behaviour.id, g.behaviour.title) for g in matrix.groups],
            [
                (" ".join(f"h-{h}" for h in atlas.HAPPENS) if v is Verdict.PASS else f"v-{v.value}", v.value)
                for v in Verdict
                if v is not Verdict.DOCUMENTED
            ],
        ),
        '<div class="scroll"><table class="matrix"><thead><tr><th class="case">case</th>',
    ]
    for run, slug in zip(runs, slugs, strict=False):
        out.append(
            f'<th data-p="{escape(slug)}">{escape(run.label)}<span class="kind">{escape(run.kind)}</span></th>'
        )
    for missing, slug in zip(matrix.absent, slugs[len(runs) :], strict=True):
        out.append(
            f'<th class="v-absent" data-p="{escape(slug)}">{escape(missing.label)}'
            f'<span class="kind">no results: {escape(missing.reason)}</span></th>'
        )
    out.append("</tr></thead>")
    width = len(runs) + len(matrix.absent) + 1
    tips = page.Tips()
    for group in matrix.groups:
        out += _group(matrix, group, width, tips)
    out += ["</table></div>", tips.script(), *page.tail()]
    return "\n".join(out) + "\n"
