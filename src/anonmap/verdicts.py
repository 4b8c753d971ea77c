"""From an expectation and an observation to a verdict, and the words that explain it."""

from __future__ import annotations

import enum

from anonmap import outcomes
from anonmap.isolate import Isolated
from anonmap.profiles import Expectation


class Verdict(str, enum.Enum):
    PASS = "pass"
    DEVIATION = "deviation"
    """The platform did not do what its documentation says."""
    UNSUPPORTED = "unsupported"
    """The environment withholds something the case needs; nothing was observed."""
    UNPROFILED = "unprofiled"
    """Observed, but no profile says what to expect here."""
    ERROR = "error"
    """The harness itself broke."""


def decide(expectation: Expectation | None, isolated: Isolated) -> Verdict:
    if isolated.harness_error:
        return Verdict.ERROR
    if expectation is None or expectation.outcome == outcomes.UNKNOWN:
        return Verdict.UNPROFILED
    if outcomes.matches(expectation.outcome, isolated.outcome):
        return Verdict.PASS
    return Verdict.DEVIATION
