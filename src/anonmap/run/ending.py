"""How a check ends other than by returning its outcome word: with another outcome (a call
refused, by its errno's name), or unsupported because the environment withholds what it needs."""

from __future__ import annotations

import os

from anonmap.expect import errnos


class EndsWith(Exception):
    """Raised inside a check to end it with an outcome word other than its return value."""

    def __init__(self, outcome: str, detail: str) -> None:
        self.outcome = outcome
        super().__init__(detail)


class Unsupported(Exception):
    """Raised inside a check when the environment withholds what it needs (a descriptor slot,
    a temporary file, a nested fork): the case is unsupported here, with this reason."""


class CallRefused(EndsWith):
    """A call failed; its outcome is the errno's canonical name (``errnos.name``)."""

    def __init__(self, call: str, number: int) -> None:
        name = errnos.name(number)
        super().__init__(name, f"{call}: {name} ({os.strerror(number)})")
