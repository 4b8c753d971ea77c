"""The behaviours the suite checks and their cases, read from ``data/behaviours.toml``."""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping
from importlib import resources

from anonmap.probe import Capability
from anonmap.tomlread import loads

#: Parameters whose values are self-explanatory in a case id, so the key is left out.
_BARE_KEYS = ("api", "sharing", "compiler")


@dataclasses.dataclass(frozen=True)
class Case:
    behaviour: str
    params: Mapping[str, str]
    requires: tuple[Capability, ...]

    @property
    def id(self) -> str:
        return "-".join(
            value if key in _BARE_KEYS else f"{key}={value}" for key, value in self.params.items()
        )

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def matches(self, behaviour: str, narrowed: Mapping[str, tuple[str, ...]]) -> bool:
        """Whether a profile or manifest entry (a behaviour, and values allowed per parameter)
        covers this case."""
        return behaviour == self.behaviour and all(self.params.get(k) in v for k, v in narrowed.items())


@dataclasses.dataclass(frozen=True)
class Behaviour:
    id: str
    title: str
    claim: str
    claim_source: str
    idiom: str
    notes: str
    """What a report should add: where the seed or the documentation misleads."""
    cases: tuple[Case, ...]

    @property
    def parameters(self) -> dict[str, set[str]]:
        """Every parameter the cases use, with every value it takes."""
        found: dict[str, set[str]] = {}
        for case in self.cases:
            for key, value in case.params.items():
                found.setdefault(key, set()).add(value)
        return found


def _cases(behaviour_id: str, blocks: list[dict[str, list[str]]]) -> tuple[Case, ...]:
    cases: list[Case] = []
    for block in blocks:
        requires = (Capability.FORK, *(Capability(name) for name in block.get("requires", [])))
        axes = {key: values for key, values in block.items() if key != "requires"}
        for values in itertools.product(*axes.values()):
            cases.append(Case(behaviour_id, dict(zip(axes, values, strict=True)), requires))
    return tuple(cases)


@functools.cache
def behaviours() -> dict[str, Behaviour]:
    """The catalogue, by behaviour id, in the order the file lists them."""
    text = resources.files("anonmap").joinpath("data/behaviours.toml").read_text()
    return {
        entry["id"]: Behaviour(
            id=entry["id"],
            title=entry["title"],
            claim=entry["claim"],
            claim_source=entry["claim_source"],
            idiom=entry["idiom"],
            notes=entry.get("notes", ""),
            cases=_cases(entry["id"], entry["matrix"]),
        )
        for entry in loads(text)["behaviour"]
    }


def cases(behaviour_id: str) -> tuple[Case, ...]:
    return behaviours()[behaviour_id].cases
