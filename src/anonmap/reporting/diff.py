"""Porting from A to B: the cases whose outcome differs, with what each platform documents."""

from __future__ import annotations

import dataclasses

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
from anonmap.reporting.runs import Run
from anonmap.results.records import Record


@dataclasses.dataclass(frozen=True)
class Difference:
    behaviour: str
    case: str
    a: Record
    b: Record


def outcome(run: Run, record: Record) -> str:
    """What a side says of a case: observed in a run, or documented by a profile ('' when
    neither says anything comparable: not observed, or documented as unknown)."""
    said = record.expected if run.documented else record.observed
    return "" if said == outcomes.UNKNOWN else said


def differences(a: Run, b: Run) -> tuple[list[Difference], int]:
    """The cases both sides speak of whose outcomes differ, and how many could not be compared.
    A documented outcome allowing alternatives (EINVAL|EBADF) agrees with any of them."""
    in_b = {(r.behaviour, r.case): r for r in b.records}
    found, incomparable = [], 0
    for record in a.records:
        other = in_b.get((record.behaviour, record.case))
        mine, theirs = outcome(a, record), outcome(b, other) if other else ""
        if other is None or not mine or not theirs:
            incomparable += 1
            continue
        if not set(outcomes.alternatives(mine)) & set(outcomes.alternatives(theirs)):
            found.append(Difference(record.behaviour, record.case, record, other))
    order = list(behaviours())
    found.sort(key=lambda d: (order.index(d.behaviour) if d.behaviour in order else len(order), d.case))
    return found, incomparable


def render(a: Run, b: Run) -> str:
    found, incomparable = differences(a, b)
    catalogue = behaviours()
    lines = [f"# Porting from {a.label} to {b.label}", ""]
    lines += [f"- from: {a.label}, {a.kind} ({a.source})", f"- to: {b.label}, {b.kind} ({b.source})", ""]
    lines.append(f"{len(found)} case(s) behave differently." if found else "No observed outcome differs.")
    for run in (a, b):
        if not run.complete:
            # An interrupted run is not the platform's whole answer: say so before any "no difference".
            lines += [
                "",
                f"Note: the run of {run.label} is incomplete ({run.incomplete_reason}); the cases it did not record are not compared.",
            ]
    by_behaviour: dict[str, list[Difference]] = {}
    for difference in found:
        by_behaviour.setdefault(difference.behaviour, []).append(difference)
    for behaviour_id, group in by_behaviour.items():
        behaviour = catalogue.get(behaviour_id)
        lines += ["", f"## {behaviour.title if behaviour else behaviour_id} (`{behaviour_id}`)", ""]
        if behaviour:
            lines += [f"Portable idiom: {behaviour.idiom}", ""]
        for d in group:
            lines.append(f"- `{d.case}`: {outcome(a, d.a)} → {outcome(b, d.b)}")
        for label, records in ((a.label, [d.a for d in group]), (b.label, [d.b for d in group])):
            cites = list(dict.fromkeys(c for r in records for c in r.cite))
            if cites:
                lines += ["", f"{label} documents:"]
                lines += [f"  - {cite}" for cite in cites]
    if incomparable:
        lines += ["", f"{incomparable} case(s) were not observed on both and are not compared."]
    return "\n".join(lines) + "\n"
