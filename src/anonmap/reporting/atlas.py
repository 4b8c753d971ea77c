"""The atlas: every profile side by side, as a porter asks "what happens there?".

Behaviours and cases down, every platform with a profile across; each cell the documented
outcome, coloured by what happens compared with a baseline platform (the same, refused with an
errno, a fault, otherwise different, unknown) and marked with where the knowledge comes from: a
real run that agreed, a deviation a run saw, an emulated run, or the documentation alone. Cases
that differ from the baseline come first; a second page shows only those. Self-contained pages:
no script, nothing fetched when viewed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from html import escape
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
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


_STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 1.5rem; }
table { border-collapse: collapse; } th, td { border: 1px solid #bbb; padding: .25rem .45rem; vertical-align: top; }
.scroll { overflow-x: auto; max-width: 100%; }
thead th { position: sticky; top: 0; background: #f4f4f4; z-index: 2; }
td.case { position: sticky; left: 0; background: #fafafa; z-index: 1; font-family: ui-monospace, monospace; font-size: 12px; }
tr.group td { background: #eef2f7; } .legend span { display: inline-block; padding: .1rem .4rem; margin: .1rem; border: 1px solid #bbb; }
/*HAPPENS*/
@media (max-width: 600px) { body { margin: .4rem; font-size: 13px; } th, td { padding: .15rem .3rem; } }
"""


def _css() -> str:
    return "\n".join(f".h-{name} {{ background: {colour}; }}" for name, (_, colour) in HAPPENS.items())


def _legend(baseline: str) -> str:
    colours = "".join(
        f'<span class="h-{name}">{escape(words.replace("the baseline", baseline))}</span>'
        for name, (words, _) in HAPPENS.items()
    )
    marks = "".join(f"<span>{mark} {escape(words)}</span>" for mark, words in SOURCES.values())
    return f'<p class="legend">{colours}</p><p class="legend">{marks}</p>'


def _cell(cell: Cell) -> str:
    mark = SOURCES[cell.source][0]
    text = cell.documented + (f" → {cell.observed}" if cell.source == "deviation" else "")
    return f'<td class="h-{cell.happens}">{mark} {escape(text)}</td>'


def page(
    documented: Sequence[Run], runs: Sequence[Run], baseline: str, only_differences: bool = False
) -> str:
    # The baseline stands first, so each row reads against it from the left.
    documented = sorted(documented, key=lambda d: not (d.profile and d.profile["name"] == baseline))
    table = cells(documented, runs, baseline)
    names = column_names(documented, runs)
    title = f"anonmap atlas: {'only what differs from ' + baseline if only_differences else 'every platform'}"
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE.replace('/*HAPPENS*/', _css())}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Documented outcomes from each platform's profile (the newest release documented), "
        f"coloured against {escape(baseline)}. "
        + (
            '<a href="index.html">Every case</a>'
            if only_differences
            else '<a href="differences.html">Only what differs</a>'
        )
        + "</p>",
        _legend(baseline),
        '<div class="scroll"><table><thead><tr><th class="case">case</th>',
        *(f"<th>{escape(name)}</th>" for name in names),
        "</tr></thead><tbody>",
    ]
    catalogue = behaviours()
    differs = {key for key, row in table.items() if any(c.happens not in ("same", "unknown") for c in row)}
    sections = [("Differs from " + baseline, True)] + (
        [] if only_differences else [("As on " + baseline + " everywhere documented", False)]
    )
    for heading, differing in sections:
        out.append(f'<tr class="group"><td colspan="{len(names) + 1}"><b>{escape(heading)}</b></td></tr>')
        for behaviour in catalogue.values():
            rows = [
                (case.id, table[(behaviour.id, case.id)])
                for case in behaviour.cases
                if ((behaviour.id, case.id) in differs) == differing
            ]
            if not rows:
                continue
            out.append(
                f'<tr class="group"><td colspan="{len(names) + 1}">{escape(behaviour.title)} <code>{escape(behaviour.id)}</code>'
                f" — portable idiom: <code>{escape(behaviour.idiom)}</code></td></tr>"
            )
            for case_id, row in rows:
                out.append(
                    f'<tr><td class="case">{escape(case_id)}</td>' + "".join(_cell(c) for c in row) + "</tr>"
                )
    out += ["</tbody></table></div></body></html>"]
    return "\n".join(out) + "\n"


def write(
    directory: Path, documented: Sequence[Run], runs: Sequence[Run], baseline: str
) -> list[tuple[Path, str]]:
    """The atlas's pages: (path, text) for index.html and differences.html."""
    return [
        (directory / "index.html", page(documented, runs, baseline)),
        (directory / "differences.html", page(documented, runs, baseline, only_differences=True)),
    ]
