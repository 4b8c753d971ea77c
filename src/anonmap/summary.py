"""The compact table printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from anonmap.catalogue import behaviours
from anonmap.results import Record
from anonmap.verdicts import Verdict

_COLUMNS = [v.value for v in Verdict]


def table(records: Sequence[Record]) -> list[str]:
    """One row per behaviour, in catalogue order, with a count per verdict."""
    order = list(behaviours())
    rows: dict[str, dict[str, int]] = {}
    for record in sorted(
        records, key=lambda r: order.index(r.behaviour) if r.behaviour in order else len(order)
    ):
        row = rows.setdefault(record.behaviour, dict.fromkeys(_COLUMNS, 0))
        row[record.verdict] += 1
    width = max([len("behaviour"), *map(len, rows)])
    lines = [f"{'behaviour':<{width}}  " + "  ".join(f"{c:>11}" for c in _COLUMNS)]
    totals = dict.fromkeys(_COLUMNS, 0)
    for behaviour, row in rows.items():
        lines.append(f"{behaviour:<{width}}  " + "  ".join(f"{row[c] or '.':>11}" for c in _COLUMNS))
        for column in _COLUMNS:
            totals[column] += row[column]
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[c]:>11}" for c in _COLUMNS))
    return lines


def deviations(records: Sequence[Record]) -> list[str]:
    return [
        f"{r.behaviour}[{r.case}]: expected {r.expected}, observed {r.observed} ({r.source})"
        for r in records
        if r.verdict == Verdict.DEVIATION.value
    ]
