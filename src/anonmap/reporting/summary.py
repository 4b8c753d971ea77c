"""The CI job summary ($GITHUB_STEP_SUMMARY): the platforms with no results and the deviations
first, then a count per platform and verdict, and where the full pages are. Small whatever the
number of platforms (GitHub caps a step's summary at 1 MiB, and nobody reads that much): the
deviations are one line per case and outcome, naming a few platforms each, and at most
``MOST_DEVIATIONS`` lines; the matrix itself is in the pages the summary links to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from anonmap.reporting import markdown, variants
from anonmap.reporting.matrix import Matrix
from anonmap.results.verdicts import LOOKS, Verdict

#: Deviation lines shown; the rest are counted and left to the full pages.
MOST_DEVIATIONS = 40
#: Platforms a deviation line names; the rest are counted.
MOST_PLATFORMS = 5


def _deviations(matrix: Matrix) -> list[str]:
    """One line per case (its interfaces folded) and observed/expected pair, with its platforms."""
    found: dict[tuple[str, str, str, str], tuple[list[str], list[str]]] = {}
    for group in matrix.groups:
        for row in group.rows:
            for column, record in enumerate(row.cells):
                if record is None or record.verdict is not Verdict.DEVIATION:
                    continue
                key, interface = variants.split(group.behaviour.id, row.case)
                interfaces, platforms = found.setdefault(
                    (group.behaviour.id, key if interface else row.case, record.observed, record.expected),
                    ([], []),
                )
                for listed, value in ((interfaces, interface), (platforms, matrix.runs[column].label)):
                    if value and value not in listed:
                        listed.append(value)
    if not found:
        return []
    mark = LOOKS[Verdict.DEVIATION].mark
    lines = [f"## {mark} Deviations: {len(found)}", ""]
    for (behaviour, case, observed, expected), (interfaces, platforms) in list(found.items())[
        :MOST_DEVIATIONS
    ]:
        through = f" ({', '.join(interfaces)})" if interfaces else ""
        more = len(platforms) - MOST_PLATFORMS
        on = ", ".join(platforms[:MOST_PLATFORMS]) + (f" and {more} more" if more > 0 else "")
        lines.append(
            f"- **{behaviour}** `{case}`{through} on {markdown.escape(on)}: observed `{observed}`, expected `{expected}`"
        )
    if len(found) > MOST_DEVIATIONS:
        lines.append(f"- … and {len(found) - MOST_DEVIATIONS} more: see the full matrix")
    return [*lines, ""]


def render(matrix: Matrix, title: str, pages: str = "") -> str:
    """``pages`` says where the full pages are (a sentence, Markdown), or '' for nowhere."""
    lines = [f"# {title}", "", *markdown.absent_and_incomplete(matrix), *_deviations(matrix)]
    lines += ["## Platforms", "", *markdown.counts(matrix)]
    if pages:
        lines += ["", pages]
    return "\n".join(lines) + "\n"


#: The variables GitHub Actions sets that name the run, whose page lists its artifacts.
_RUN = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")


def pages(files: Sequence[str], environ: Mapping[str, str]) -> str:
    """Where the full pages are: their names, and under Actions a link to the run's artifacts."""
    if not files:
        return ""
    named = ", ".join(f"`{name}`" for name in files)
    server, repository, run = (environ.get(name, "") for name in _RUN)
    if server and repository and run:
        return f"The full pages ({named}) are in [this run's artifacts]({server}/{repository}/actions/runs/{run}#artifacts)."
    return f"The full pages: {named}."
