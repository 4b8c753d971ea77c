"""The matrix every report shows: behaviours and their cases down, platforms across."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from anonmap.expect.catalogue import Behaviour, behaviours
from anonmap.reporting.runs import NoResults, Run
from anonmap.results.records import Record
from anonmap.results.verdicts import Verdict


def cell_text(record: Record | None) -> str:
    """What a cell says, in every report: the outcome, and against what where it matters."""
    if record is None:
        return "·"
    texts = {
        Verdict.UNSUPPORTED: "unsupported",
        Verdict.DEVIATION: f"{record.observed} ≠ {record.expected}",
        Verdict.KNOWN_DEVIATION: f"{record.observed} (known bug; documented {record.expected})",
        Verdict.FIXED: f"{record.observed} (fixed: a known bug no longer shows)",
        Verdict.ERROR: "harness error",
    }
    return texts.get(record.verdict, record.observed)


@dataclasses.dataclass(frozen=True)
class Row:
    case: str
    cells: tuple[Record | None, ...]
    """One per run, None where that run has no record of the case."""


@dataclasses.dataclass(frozen=True)
class Group:
    behaviour: Behaviour
    rows: tuple[Row, ...]

    def citations(self, column: int) -> list[str]:
        """The distinct citations one platform's profile gives for this behaviour."""
        found: dict[str, None] = {}
        for row in self.rows:
            cell = row.cells[column]
            if cell is not None:
                found.update(dict.fromkeys(cell.cite))
        return list(found)

    def notes(self, column: int) -> list[str]:
        """The distinct notes one platform's profile entries add for this behaviour."""
        return list(
            dict.fromkeys(cell.note for row in self.rows if (cell := row.cells[column]) and cell.note)
        )

    def meanings(self) -> list[tuple[str, str, str]]:
        """What each parameter of the case ids means, and each value this behaviour's cases
        give it: (parameter, its meaning, 'value: meaning; ...'), from the catalogue's glossary."""
        used = self.behaviour.parameters
        return [
            (
                name,
                parameter.meaning,
                "; ".join(
                    f"{v}: {meaning}" for v, meaning in parameter.values.items() if v in used.get(name, ())
                ),
            )
            for name, parameter in self.behaviour.glossary.items()
        ]


@dataclasses.dataclass(frozen=True)
class Matrix:
    runs: tuple[Run, ...]
    groups: tuple[Group, ...]
    absent: tuple[NoResults, ...] = ()
    """Platforms expected (or noted by their jobs) with no results: columns of their own."""

    def counts(self, column: int) -> dict[Verdict, int]:
        counts = dict.fromkeys(Verdict, 0)
        for group in self.groups:
            for row in group.rows:
                cell = row.cells[column]
                if cell is not None:
                    counts[cell.verdict] += 1
        return counts


def build(runs: Sequence[Run], absent: Sequence[NoResults] = ()) -> Matrix:
    """Rows in catalogue order; a case only some runs have still gets its row."""
    indexed = [{(r.behaviour, r.case): r for r in run.records} for run in runs]
    groups = []
    for behaviour in behaviours().values():
        case_ids = [case.id for case in behaviour.cases]
        extra = sorted(
            {case for index in indexed for (b, case) in index if b == behaviour.id} - set(case_ids)
        )
        rows = tuple(
            Row(case_id, tuple(index.get((behaviour.id, case_id)) for index in indexed))
            for case_id in [*case_ids, *extra]
        )
        if any(cell is not None for row in rows for cell in row.cells):
            groups.append(Group(behaviour, rows))
    return Matrix(tuple(runs), tuple(groups), tuple(absent))
