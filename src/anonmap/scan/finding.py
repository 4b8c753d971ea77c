"""A finding: where, which rule, what the code does, and whether the code already handles it."""

from __future__ import annotations

import dataclasses

from anonmap.scan.rules import rules
from anonmap.scan.source import Source


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    rule: str
    message: str
    behaviour: str
    """The catalogue behaviour it matches ('' where the catalogue has none yet)."""
    cases: tuple[str, ...]
    """The catalogue cases whose documented outcomes apply to it."""
    certain: bool
    """False where a value the finding depends on could not be resolved here."""
    guard: str = ""
    """How the code already handles it ('' where it does not): such a finding is a note."""
    suppressed: str = ""
    """Why it is suppressed (an inline 'anonmap: ignore[rule] reason', or the baseline)."""
    snippet: str = ""
    """The source line, stripped: what the baseline's fingerprint is made of."""

    @property
    def level(self) -> str:
        return "note" if self.guard or not self.certain else rules()[self.rule].level

    @property
    def gates(self) -> bool:
        """Whether it fails a CI gate: an unsuppressed warning."""
        return self.level == "warning" and not self.suppressed


def at(
    source: Source,
    start: int,
    end: int,
    rule: str,
    message: str,
    cases: tuple[str, ...] | None = None,
    certain: bool = True,
    guard: str = "",
) -> Finding:
    """A finding over the bytes start..end of the source, for ``rule``."""
    line, column = source.position(start)
    end_line, end_column = source.position(max(end, start + 1))
    spec = rules()[rule]
    return Finding(
        source.path,
        line,
        column,
        end_line,
        end_column,
        rule,
        message,
        spec.behaviour,
        spec.cases if cases is None else cases,
        certain,
        guard,
        "",
        source.line_text(line),
    )
