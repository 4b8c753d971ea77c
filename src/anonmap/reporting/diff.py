"""Porting from A to B: what to change, by cause, then the cases whose outcome differs, with
what each platform documents."""

from __future__ import annotations

import dataclasses

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
from anonmap.reporting import causes, variants
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


def _folded(a: Run, b: Run, behaviour: str, group: list[Difference]) -> list[variants.Folded]:
    """The lines of one behaviour's differences: a case's interfaces that say the same, one."""
    said = {d.case: (outcome(a, d.a), outcome(b, d.b)) for d in group}
    return variants.fold(behaviour, said, said.__getitem__)


def _detail(a: Run, b: Run, behaviour_id: str, group: list[Difference]) -> list[str]:
    """One behaviour's differences: a line a case, its interfaces that agree folded into one;
    then what each side documents."""
    behaviour = behaviours().get(behaviour_id)
    lines = ["", f"### {behaviour.title if behaviour else behaviour_id} (`{behaviour_id}`)", ""]
    if behaviour:
        lines += [f"Portable idiom: {behaviour.idiom}", ""]
    said = {d.case: (outcome(a, d.a), outcome(b, d.b)) for d in group}
    for line in _folded(a, b, behaviour_id, group):
        mine, theirs = said[line.cases[0]]
        key = line.key if line.interfaces else line.cases[0]
        through = f" ({', '.join(line.interfaces)})" if line.interfaces else ""
        lines.append(f"- {f'`{key}`' if key else 'the case'}{through}: {mine} → {theirs}")
    for label, records in ((a.label, [d.a for d in group]), (b.label, [d.b for d in group])):
        cites = list(dict.fromkeys(c for r in records for c in r.cite))
        if cites:
            lines += ["", f"{label} documents:"]
            lines += [f"  - {cite}" for cite in cites]
    return lines


def render(a: Run, b: Run) -> str:
    """What to change first, by cause, with the idiom and how many cases each covers (fits a
    screen); then the detail, cause by cause and behaviour by behaviour."""
    found, incomparable = differences(a, b)
    lines = [f"# Porting from {a.label} to {b.label}", ""]
    lines += [f"- from: {a.label}, {a.kind} ({a.source})", f"- to: {b.label}, {b.kind} ({b.source})", ""]
    by_behaviour: dict[str, list[Difference]] = {}
    for difference in found:
        by_behaviour.setdefault(difference.behaviour, []).append(difference)
    folded = sum(len(_folded(a, b, behaviour, group)) for behaviour, group in by_behaviour.items())
    lines.append(
        f"{len(found)} case(s) behave differently ({folded} once the call interfaces are folded)."
        if found
        else "No observed outcome differs."
    )
    for run in (a, b):
        if not run.complete:
            # An interrupted run is not the platform's whole answer: say so before any "no difference".
            lines += [
                "",
                f"Note: the run of {run.label} is incomplete ({run.incomplete_reason}); the cases it did not record are not compared.",
            ]
    grouped = causes.group((d.behaviour, d.case) for d in found)
    caused = {key for by in grouped for key in by.cases}
    uncaused = [
        behaviour
        for behaviour in by_behaviour
        if any((behaviour, d.case) not in caused for d in by_behaviour[behaviour])
    ]
    if found:
        lines += ["", "## What to change", ""]
        lines += [f"- **{by.cause.summary}**: {len(by.cases)} case(s); `{by.cause.idiom}`" for by in grouped]
        if uncaused:
            lines.append(
                f"- **no cause in the catalogue**: {sum(len(by_behaviour[x]) for x in uncaused)} case(s)"
            )
        lines += ["", "## Detail"]
    for by in grouped:
        lines += ["", f"## {by.cause.summary[0].upper()}{by.cause.summary[1:]}"]
        for behaviour_id in by.behaviours:
            group = [d for d in by_behaviour[behaviour_id] if (d.behaviour, d.case) in by.cases]
            lines += _detail(a, b, behaviour_id, group)
    for behaviour_id in uncaused:
        lines += _detail(
            a, b, behaviour_id, [d for d in by_behaviour[behaviour_id] if (d.behaviour, d.case) not in caused]
        )
    if incomparable:
        lines += ["", f"{incomparable} case(s) were not observed on both and are not compared."]
    return "\n".join(lines) + "\n"
