"""The compact table printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from anonmap.expect.catalogue import behaviours
from anonmap.results.records import Record
from anonmap.results.verdicts import Verdict


def table(records: Sequence[Record]) -> list[str]:
    """One row per behaviour, in catalogue order, with a count per verdict."""
    order = list(behaviours())
    rows: dict[str, dict[Verdict, int]] = {}
    for record in sorted(
        records, key=lambda r: order.index(r.behaviour) if r.behaviour in order else len(order)
    ):
        row = rows.setdefault(record.behaviour, dict.fromkeys(Verdict, 0))
        row[record.verdict] += 1
    width = max([len("behaviour"), *map(len, rows)])
    cell = max(11, *(len(c.value) for c in Verdict))
    lines = [f"{'behaviour':<{width}}  " + "  ".join(f"{c.value:>{cell}}" for c in Verdict)]
    totals = dict.fromkeys(Verdict, 0)
    for behaviour, row in rows.items():
        lines.append(f"{behaviour:<{width}}  " + "  ".join(f"{row[c] or '.':>{cell}}" for c in Verdict))
        for column in Verdict:
            totals[column] += row[column]
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[c]:>{cell}}" for c in Verdict))
    return lines


def deviations(records: Sequence[Record]) -> list[str]:
    """The deviations, and the known bugs that no longer show (fixed), one line each."""
    return [
        f"{r.verdict.value.upper()} {r.behaviour}[{r.case}]: expected {r.expected}, observed {r.observed} ({r.source})"
        for r in records
        if r.verdict in (Verdict.DEVIATION, Verdict.FIXED)
    ]
