"""The atlas: every profile side by side, as a porter asks "what happens there?".

Behaviours and cases down, every platform with a profile across; each cell the documented
outcome, coloured by what happens compared with a baseline platform (the same, refused with an
errno, a fault, otherwise different, unknown) and marked with where the knowledge comes from: a
real run that agreed, a deviation a run saw, an emulated run, or the documentation alone. Cases
that differ from the baseline come first in each behaviour; a second page shows only those,
after what to change by cause. Self-contained pages (anonmap.reporting.page): style and script
inline, nothing fetched when viewed; filters, search, permalinks, linked citations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
from anonmap.reporting import causes, page, variants
from anonmap.reporting.runs import Run
from anonmap.results.records import Record
from anonmap.results.verdicts import Verdict

#: What happens, compared with the baseline: the colour of a cell.
HAPPENS = {
    "same": ("as on the baseline", "#cdeccd"),
    "refused": ("refused with an errno", "#f7c99b"),
    "faults": ("faults with a signal", "#d9c2f0"),
    "different": ("interpreted differently", "#fbe7a6"),
    "unknown": ("not documented", "#e4e4e4"),
}
#: Where a cell's knowledge comes from: the mark before its outcome (plain symbols, which every
#: system font has; emoji do not render everywhere a page is read).
SOURCES = {
    "observed": ("✓", "a real run observed the documented outcome"),
    "deviation": ("✗", "a real run observed something else (shown after the arrow)"),
    "emulated": ("≈", "an emulated run agreed"),
    "documented": ("○", "documented only: no run here"),
}


#: Compatibility layers (the probe's compat words) whose own kernel answers the system calls:
#: a run under one says what that layer does, not the platform's kernel, so it is a column of
#: its own (its cells the outcomes its profile documents for that layer), never a mark on the
#: platform's.
OWN_KERNELS = ("gvisor", "wsl1", "qemu-user", "freebsd-linux-abi")


def layer(run: Run) -> str:
    """The layer whose kernel answered ``run``'s system calls instead of its platform's, or ''."""
    compat = run.run_info.get("compat") or ()
    return next((word for word in OWN_KERNELS if word in compat), "")


def layered(runs: Sequence[Run]) -> list[Run]:
    """The runs that are columns of their own: each made under a layer with its own kernel."""
    return [run for run in runs if not run.documented and layer(run)]


@dataclasses.dataclass(frozen=True)
class Cell:
    documented: str
    observed: str
    source: str
    happens: str


def happens(outcome: str, baseline: str) -> str:
    """What an outcome is compared with the baseline's: a key of HAPPENS."""
    if outcome == outcomes.UNKNOWN or not outcome:
        return "unknown"
    if set(outcomes.alternatives(outcome)) & set(outcomes.alternatives(baseline)):
        return "same"
    first = outcomes.alternatives(outcome)[0]
    if first.startswith("SIG"):
        return "faults"
    if first.startswith("E"):
        return "refused"
    return "different"


def _source(record: Record | None, run: Run | None) -> str:
    if record is None or run is None or not record.observed:
        return "documented"
    if run.emulation:
        return "emulated"
    return "deviation" if record.verdict is Verdict.DEVIATION else "observed"


def cells(documented: Sequence[Run], runs: Sequence[Run], baseline: str) -> dict[tuple[str, str], list[Cell]]:
    """Per (behaviour, case), one cell per documented platform, in the order given."""
    observed: dict[str, tuple[Run, dict[tuple[str, str], Record]]] = {}
    for observed_run in runs:
        if not observed_run.documented and not layer(observed_run):
            observed[observed_run.os] = (
                observed_run,
                {(r.behaviour, r.case): r for r in observed_run.records},
            )
    base = next(d for d in documented if d.profile and d.profile["name"] == baseline)
    base_outcome = {(r.behaviour, r.case): r.expected for r in base.records}
    table: dict[tuple[str, str], list[Cell]] = {}
    for platform in documented:
        name = str(platform.profile["name"]) if platform.profile else platform.os
        entry = observed.get(name)
        run: Run | None = entry[0] if entry else None
        seen = entry[1] if entry else {}
        for record in platform.records:
            key = (record.behaviour, record.case)
            got = seen.get(key)
            table.setdefault(key, []).append(
                Cell(
                    record.expected,
                    got.observed if got else "",
                    _source(got, run),
                    happens(record.expected, base_outcome.get(key, "")),
                )
            )
    for run in layered(runs):
        # Its expected outcomes are what its profile documents under the layer.
        seen = {(r.behaviour, r.case): r for r in run.records}
        for key, row in table.items():
            got = seen.get(key)
            expected = got.expected if got and got.expected else "unknown"
            row.append(
                Cell(
                    expected,
                    got.observed if got else "",
                    _source(got, run),
                    happens(expected, base_outcome.get(key, "")),
                )
            )
    return table


def column_names(documented: Sequence[Run], runs: Sequence[Run]) -> list[str]:
    """The columns' headings, in the order ``cells`` gives each row: every documented platform,
    then every run under a layer with its own kernel ('linux under gvisor')."""
    names = [str(d.profile["name"]) if d.profile else d.os for d in documented]
    return names + [f"{run.os} under {layer(run)}" for run in layered(runs)]


def _legend(baseline: str) -> str:
    return page.legend(
        [(f"h-{name}", words.replace("the baseline", baseline)) for name, (words, _) in HAPPENS.items()],
        [f"{mark} {words}" for mark, words in SOURCES.values()],
    )


def _cell(cell: Cell, tips: page.Tips) -> str:
    mark = SOURCES[cell.source][0]
    text = cell.documented + (f" → {cell.observed}" if cell.source == "deviation" else "")
    return f"<td class=h-{cell.happens}{tips.ref(SOURCES[cell.source][1])}>{mark} {escape(text)}"


def _by_cause(
    names: Sequence[str], table: Mapping[tuple[str, str], list[Cell]], differs: Iterable[tuple[str, str]]
) -> str:
    """What to change, by cause: how many cases, on which platforms, and the idiom."""
    items = []
    for by in causes.group(differs):
        where = dict.fromkeys(
            name
            for column, name in enumerate(names)
            if any(table[key][column].happens not in ("same", "unknown") for key in by.cases)
        )
        items.append(
            f"<li><b>{escape(by.cause.summary)}</b>: {len(by.cases)} case(s), on {escape(', '.join(where))}; "
            f"<code>{escape(by.cause.idiom)}</code></li>"
        )
    return f'<h2>What to change</h2><ul class="causes">{"".join(items)}</ul>' if items else ""


def _citations(documented: Sequence[Run], behaviour: str) -> str:
    given: dict[str, list[str]] = {}
    for platform in documented:
        who = str(platform.profile["name"]) if platform.profile else platform.os
        for record in platform.records:
            if record.behaviour == behaviour:
                for text in [*record.cite, *([f"note: {record.note}"] if record.note else [])]:
                    given.setdefault(text, [])
                    if who not in given[text]:
                        given[text].append(who)
    return f"<details><summary>Citations</summary><ul>{page.citations(given)}</ul></details>" if given else ""


def page_html(
    documented: Sequence[Run], runs: Sequence[Run], baseline: str, only_differences: bool = False
) -> str:
    """One atlas page: every case, or (``only_differences``) those that differ from the baseline,
    after what to change by cause."""
    # The baseline stands first, so each row reads against it from the left.
    documented = sorted(documented, key=lambda d: not (d.profile and d.profile["name"] == baseline))
    table = cells(documented, runs, baseline)
    names = column_names(documented, runs)
    columns = page.slugs(names)
    title = f"anonmap atlas: {'only what differs from ' + baseline if only_differences else 'every platform'}"
    catalogue = behaviours()
    differs = [key for key, row in table.items() if any(c.happens not in ("same", "unknown") for c in row)]
    shown = [b for b in catalogue.values() if any((b.id, c.id) in table for c in b.cases)]
    out = [
        *page.head(title, {f"h-{name}": colour for name, (_, colour) in HAPPENS.items()}),
        f"<p>Documented outcomes from each platform's profile (the newest release documented), "
        f"coloured against {escape(baseline)}. "
        + (
            '<a href="index.html">Every case</a>'
            if only_differences
            else '<a href="differences.html">Only what differs</a>'
        )
        + "</p>",
        _by_cause(names, table, differs) if only_differences else "",
        _legend(baseline),
        page.tools(
            list(zip(columns, names, strict=True)),
            [(b.id, b.title) for b in shown],
            [(f"h-{n}", w) for n, (w, _) in HAPPENS.items()],
        ),
        '<div class="scroll"><table class="matrix"><thead><tr><th class="case">case</th>',
        *(f'<th data-p="{escape(c)}">{escape(name)}</th>' for c, name in zip(columns, names, strict=True)),
        "</tr></thead>",
    ]
    tips = page.Tips()
    different = set(differs)
    for behaviour in shown:
        # The cases that differ first; on the differences page, only they.
        keys = sorted(
            (c.id for c in behaviour.cases if (behaviour.id, c.id) in table),
            key=lambda case: (behaviour.id, case) not in different,
        )
        if only_differences:
            keys = [case for case in keys if (behaviour.id, case) in different]
        if not keys:
            continue
        says = {case: tuple(table[(behaviour.id, case)]) for case in keys}
        lines = variants.fold(behaviour.id, keys, says.__getitem__)
        out.append(
            f'<tbody id="{escape(behaviour.id)}"><tr class="g"><td colspan="{len(names) + 1}">'
            f'{escape(behaviour.title)} <a href="#{escape(behaviour.id)}"><code>{escape(behaviour.id)}</code></a>'
            f" — portable idiom: <code>{escape(behaviour.idiom)}</code>{_citations(documented, behaviour.id)}</td></tr>"
        )
        for line, (row_id, label) in zip(lines, page.row_ids(lines), strict=True):
            row = table[(behaviour.id, line.cases[0])]
            differs_here = " d" if (behaviour.id, line.cases[0]) in different else ""
            out.append(
                f'<tr class="r{differs_here}" id="{escape(row_id)}"><td class="case">{label}</td>'
                + "".join(_cell(c, tips) for c in row)
            )
        out.append("</tbody>")
    out += ["</table></div>", tips.script(), *page.tail()]
    return "\n".join(out) + "\n"


def write(
    directory: Path, documented: Sequence[Run], runs: Sequence[Run], baseline: str
) -> list[tuple[Path, str]]:
    """The atlas's pages: (path, text) for index.html and differences.html."""
    return [
        (directory / "index.html", page_html(documented, runs, baseline)),
        (directory / "differences.html", page_html(documented, runs, baseline, only_differences=True)),
    ]
