"""From an expectation and an observation to a verdict, and the words that explain it."""

from __future__ import annotations

import dataclasses
import enum

from anonmap.expect import outcomes
from anonmap.expect.profiles import Expectation
from anonmap.run.isolate import Isolated


class Verdict(str, enum.Enum):
    """What a case came to; reports list the verdicts in this order, and the results file
    records each by its value."""

    PASS = "pass"
    DEVIATION = "deviation"
    """The platform did not do what its documentation says."""
    KNOWN_DEVIATION = "known-deviation"
    """It did what a reported bug (the profile entry's ``known``) makes it do: not a failure."""
    FIXED = "fixed"
    """It did what its documentation says although the profile records a known bug: a failure
    until the profile drops the ``known`` (as lit's XPASS)."""
    UNSUPPORTED = "unsupported"
    """The environment withholds something the case needs; nothing was observed."""
    UNPROFILED = "unprofiled"
    """Observed, but no profile says what to expect here."""
    ERROR = "error"
    """The harness itself broke."""
    DOCUMENTED = "documented"
    """Nothing ran: what the platform's profile documents (``anonmap diff linux freebsd``)."""


@dataclasses.dataclass(frozen=True)
class Look:
    """How every report shows a verdict: one place, for the summary and both renderers."""

    mark: str
    """For Markdown, where emoji render (a GitHub job summary)."""
    colour: str
    fails: bool
    """Whether it fails the test (and so the run)."""
    symbol: str
    """For HTML pages: a plain symbol every system font has."""


LOOKS: dict[Verdict, Look] = {
    Verdict.PASS: Look("✅", "#cdeccd", False, "✓"),
    Verdict.DEVIATION: Look("❌", "#f4b6b6", True, "✗"),
    Verdict.KNOWN_DEVIATION: Look("🐞", "#f7d9b5", False, "!"),
    Verdict.FIXED: Look("🎉", "#b9d7f4", True, "✓!"),
    Verdict.UNSUPPORTED: Look("⏭️", "#dcdcdc", False, "⊘"),
    Verdict.UNPROFILED: Look("❔", "#fbe7a6", False, "?"),
    Verdict.ERROR: Look("💥", "#e58f8f", True, "‼"),
    Verdict.DOCUMENTED: Look("📄", "#eef2f7", False, "○"),
}


def decide(expectation: Expectation | None, isolated: Isolated) -> Verdict:
    if isolated.harness_error:
        return Verdict.ERROR
    if expectation is None or expectation.outcome == outcomes.UNKNOWN:
        return Verdict.UNPROFILED
    known = expectation.known_observed
    if outcomes.matches(expectation.outcome, isolated.outcome):
        return Verdict.FIXED if known else Verdict.PASS
    if known and outcomes.matches(known, isolated.outcome):
        return Verdict.KNOWN_DEVIATION
    return Verdict.DEVIATION
