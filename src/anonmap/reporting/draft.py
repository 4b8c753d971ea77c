"""A draft profile from an unprofiled platform's observations, for a person to complete.

Every entry is written with an empty ``cite``, which profile validation refuses: the draft
records what was observed, and cannot pass for documentation until someone cites the man page
and source that decide each outcome.

The draft is the fewest entries (found greedily) that give every observed case its observed
outcome under the profile rules (the entry naming the most case parameters wins; among equals,
the last in the file): for each behaviour, in catalogue order, an entry without ``case`` for
the most common outcome, then entries narrowing one parameter, then two, and so on, only where
the outcomes differ. Cases not observed (unsupported here) force no entry; they are decided by
whichever entry applies, and a comment above it names them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from anonmap.expect.catalogue import Behaviour, Case, behaviours
from anonmap.expect.outcomes import UNKNOWN
from anonmap.reporting.runs import Run

#: Characters a TOML comment cannot hold (a record's detail may span lines).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_WIDTH = 99

Narrowing = Mapping[str, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One [[expect]] entry of the draft: the parameter values it narrows to, and the outcome."""

    case: Narrowing
    outcome: str


@dataclasses.dataclass(frozen=True)
class BehaviourResults:
    """One behaviour's results, by the index of the case in the catalogue."""

    behaviour: Behaviour
    observed: Mapping[int, str]
    """The outcome of each case observed."""
    details: Mapping[int, str]
    """Why each case recorded without an outcome was not observed."""


def winner(rules: Sequence[Rule], case: Case) -> Rule | None:
    """The rule that decides ``case`` under the profile rules (``Profile.expectation``)."""
    best: Rule | None = None
    for rule in rules:
        if case.matches(case.behaviour, rule.case) and (best is None or len(rule.case) >= len(best.case)):
            best = rule
    return best


def _reproduces(rules: Sequence[Rule], cases: Sequence[Case], observed: Mapping[int, str]) -> bool:
    """Whether every case is covered and every observed one gets its observed outcome."""
    for index, case in enumerate(cases):
        rule = winner(rules, case)
        if rule is None or (index in observed and rule.outcome != observed[index]):
            return False
    return True


def _wrong(rules: Sequence[Rule], cases: Sequence[Case], observed: Mapping[int, str]) -> set[int]:
    """The observed cases ``rules`` give another outcome, or none."""
    found = set()
    for index, outcome in observed.items():
        rule = winner(rules, cases[index])
        if rule is None or rule.outcome != outcome:
            found.add(index)
    return found


class _Planner:
    """The greedy search for one behaviour."""

    def __init__(self, behaviour: Behaviour, observed: Mapping[int, str]) -> None:
        self.cases = behaviour.cases
        self.observed = observed
        self.keys = list(behaviour.parameters)
        #: Each parameter's values, in the order the catalogue's cases first use them.
        self.values: dict[str, list[str]] = {key: [] for key in self.keys}
        for case in self.cases:
            for key, value in case.params.items():
                if value not in self.values[key]:
                    self.values[key].append(value)
        #: For each set of parameters, the cases by their values of those parameters.
        self.cells: dict[tuple[str, ...], dict[tuple[str, ...], list[int]]] = {}

    def cells_of(self, keys: tuple[str, ...]) -> dict[tuple[str, ...], list[int]]:
        if keys not in self.cells:
            cells: dict[tuple[str, ...], list[int]] = {}
            for index, case in enumerate(self.cases):
                if all(key in case.params for key in keys):
                    cells.setdefault(tuple(case.params[key] for key in keys), []).append(index)
            self.cells[keys] = cells
        return self.cells[keys]

    def gain(
        self, keys: tuple[str, ...], chosen: Sequence[Sequence[str]], outcome: str, residual: set[int]
    ) -> int | None:
        """How many wrong cases an entry narrowing ``keys`` to ``chosen`` would put right, or
        None if it would give an observed case an outcome other than its own."""
        cells = self.cells_of(keys)
        fixed = 0
        for values in itertools.product(*chosen):
            for index in cells.get(values, ()):
                if index not in self.observed:
                    continue
                if self.observed[index] != outcome:
                    return None
                fixed += index in residual
        return fixed

    def grow(
        self, keys: tuple[str, ...], seed: tuple[str, ...], outcome: str, residual: set[int]
    ) -> tuple[Rule, int]:
        """The entry for one cell, widened value by value while it stays right and helps."""
        chosen = [[value] for value in seed]
        widened = True
        while widened:
            widened = False
            for position, key in enumerate(keys):
                for value in self.values[key]:
                    if value in chosen[position]:
                        continue
                    trial = [*chosen[:position], [value], *chosen[position + 1 :]]
                    if self.gain(keys, trial, outcome, residual):
                        chosen[position].append(value)
                        widened = True
        narrowing = {
            key: tuple(sorted(values, key=self.values[key].index))
            for key, values in zip(keys, chosen, strict=True)
        }
        return Rule(narrowing, outcome), self.gain(keys, chosen, outcome, residual) or 0

    def first_case(self, rule: Rule) -> int:
        return next(
            (i for i, case in enumerate(self.cases) if case.matches(case.behaviour, rule.case)),
            len(self.cases),
        )

    def plan(self, default: str) -> list[Rule]:
        """Entries from a default of ``default``, narrowing only where it is wrong."""
        rules = [Rule({}, default)]
        for size in range(1, len(self.keys) + 1):
            residual = _wrong(rules, self.cases, self.observed)
            if not residual:
                break
            level: list[Rule] = []
            subsets = list(itertools.combinations(self.keys, size))
            while residual:
                best: tuple[Rule, int] | None = None
                for keys in subsets:
                    for seed, members in self.cells_of(keys).items():
                        wrong = [index for index in members if index in residual]
                        if not wrong:
                            continue
                        outcome = self.observed[wrong[0]]
                        if not self.gain(keys, [[value] for value in seed], outcome, residual):
                            continue
                        found = self.grow(keys, seed, outcome, residual)
                        if best is None or found[1] > best[1]:
                            best = found
                if best is None:
                    break
                level.append(best[0])
                residual -= {
                    i for i in residual if self.cases[i].matches(self.cases[i].behaviour, best[0].case)
                }
            # A case that no entry of its own number of parameters can put right without
            # wronging another of as many (only where cases differ in their parameters) gets an
            # entry of its own; the cases it wrongs have more parameters, and are put right later.
            level += [
                Rule({key: (value,) for key, value in self.cases[index].params.items()}, self.observed[index])
                for index in sorted(residual)
                if len(self.cases[index].params) == size
            ]
            level.sort(key=self.first_case)
            rules += level
        return rules

    def pruned(self, rules: list[Rule]) -> list[Rule]:
        """``rules`` without the entries it can do without, last first."""
        for position in reversed(range(len(rules))):
            fewer = rules[:position] + rules[position + 1 :]
            if _reproduces(fewer, self.cases, self.observed):
                rules = fewer
        return rules

    def one_per_case(self, default: str) -> list[Rule]:
        """An entry per observed case (always right), after a default where one is needed."""
        own = [
            Rule({key: (value,) for key, value in self.cases[index].params.items()}, outcome)
            for index, outcome in sorted(self.observed.items())
            if self.cases[index].params
        ]
        needs_default = len(own) < len(self.cases)
        return [Rule({}, default), *own] if needs_default else own


def minimal(behaviour: Behaviour, observed: Mapping[int, str]) -> list[Rule]:
    """The fewest entries found that cover every case of ``behaviour`` and give each observed
    one (by catalogue index) its outcome; one 'unknown' entry when none was observed."""
    if not observed:
        return [Rule({}, UNKNOWN)]
    planner = _Planner(behaviour, observed)
    counts = Counter(observed[index] for index in sorted(observed))
    # most_common keeps first-seen order among equal counts: the order is the catalogue's.
    candidates = [planner.pruned(planner.plan(outcome)) for outcome, _ in counts.most_common()]
    bare = [observed[i] for i, case in enumerate(behaviour.cases) if not case.params and i in observed]
    candidates.append(planner.pruned(planner.one_per_case(bare[0] if bare else counts.most_common(1)[0][0])))
    right = [rules for rules in candidates if _reproduces(rules, behaviour.cases, observed)]
    # Only a catalogue with two cases of the same parameters could leave none right.
    return min(right, key=len) if right else candidates[-1]


def by_behaviour(run: Run) -> tuple[list[BehaviourResults], list[str]]:
    """Each catalogue behaviour's results in ``run``, and the records that are no case of
    this catalogue (``behaviour[case]``). A record is matched to its case by its parameters,
    or else by its case id."""
    found = {
        behaviour.id: (behaviour, dict[int, str](), dict[int, str]()) for behaviour in behaviours().values()
    }
    strays: list[str] = []
    for record in run.records:
        if record.behaviour not in found:
            strays.append(f"{record.behaviour}[{record.case}]")
            continue
        behaviour, observed, details = found[record.behaviour]
        index = next(
            (i for i, case in enumerate(behaviour.cases) if dict(case.params) == dict(record.params)),
            next((i for i, case in enumerate(behaviour.cases) if case.id == record.case), None),
        )
        if index is None or index in observed or index in details:
            strays.append(f"{record.behaviour}[{record.case}]")
        elif record.observed:
            observed[index] = record.observed
        else:
            details[index] = record.detail
    return [BehaviourResults(b, observed, details) for b, observed, details in found.values()], strays


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(_one_line(text), _WIDTH - 2, break_on_hyphens=False)]


def _why(found: BehaviourResults, indices: Iterable[int]) -> str:
    reasons = dict.fromkeys(_one_line(found.details.get(i, "")) or "no result" for i in indices)
    return "; ".join(reasons)


def _named(cases: Sequence[Case], unobserved: Sequence[int], decided: Sequence[int]) -> str:
    """The cases ``unobserved``, of those an entry decides (``decided``): by one parameter's
    values where those pick out exactly them, or else by their ids."""
    for key in dict.fromkeys(key for i in unobserved for key in cases[i].params):
        values = dict.fromkeys(cases[i].params.get(key) for i in unobserved)
        if None not in values and [i for i in decided if cases[i].params.get(key) in values] == list(
            unobserved
        ):
            return f"its cases with {key} = {' or '.join(map(str, values))} ({len(unobserved)})"
    return ", ".join(cases[i].id for i in unobserved)


def _entry(found: BehaviourResults, rule: Rule, decided: Sequence[int]) -> list[str]:
    cases = found.behaviour.cases
    unobserved = [i for i in decided if i not in found.observed]
    lines = [""]
    if found.observed and unobserved:
        lines += _comment(
            f"Decided here without evidence, not observed ({_why(found, unobserved)}):"
            f" {_named(cases, unobserved, decided)}"
        )
    lines += ["[[expect]]", f"behaviour = {json.dumps(found.behaviour.id)}"]
    if rule.case:
        narrowed = ", ".join(
            f"{key} = {json.dumps(values[0] if len(values) == 1 else list(values))}"
            for key, values in rule.case.items()
        )
        lines.append(f"case = {{ {narrowed} }}")
    lines += [f"outcome = {json.dumps(rule.outcome)}", "cite = []  # UNCITED"]
    if not found.observed:
        lines.append(f"note = {json.dumps('not observed: ' + _why(found, range(len(cases))))}")
    return lines


def render(run: Run) -> str:
    info = run.run_info
    os_name = str(info.get("os", "unknown"))
    lines = [
        f"# DRAFT profile for {os_name}, from observations on {info.get('release')} {info.get('arch')}",
        f"# ({run.source}, {run.started_at}). Every outcome below was OBSERVED, not documented:",
        "# for each entry, find the man page and the kernel or libc source that decide it, put",
        "# them in cite, and correct the outcome where the documentation says otherwise.",
        "# An entry decides every case its `case` narrows to (all, without one); where several",
        "# apply, the one naming the most parameters wins, and among equals the last.",
        "# Validation refuses this file until every cite is filled.",
    ]
    found, strays = by_behaviour(run)
    if strays:
        lines += _comment(f"Left out, no case of this anonmap's catalogue: {', '.join(strays)}")
    lines += [
        "",
        "[platform]",
        f"os = [{json.dumps(os_name)}]",
        f"title = {json.dumps(os_name)}",
        "sources = []",
    ]
    for behaviour in found:
        cases = behaviour.behaviour.cases
        rules = minimal(behaviour.behaviour, behaviour.observed)
        lines += [
            "",
            f"# ---------------------------------------------------------------- {behaviour.behaviour.id}:"
            f" {len(behaviour.observed)} of {len(cases)} cases observed",
        ]
        deciding = [winner(rules, case) for case in cases]
        for rule in rules:
            lines += _entry(behaviour, rule, [i for i, decider in enumerate(deciding) if decider is rule])
    return "\n".join(lines) + "\n"
