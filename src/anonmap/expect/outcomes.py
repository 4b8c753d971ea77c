"""The outcome vocabulary: what a check observes and what a profile expects.

An outcome is one word; an expectation may allow several, separated by ``|``, where the
documentation lets a platform answer either way (``EINVAL|EBADF``).
"""

from __future__ import annotations

import re

#: Words with a fixed meaning. Errno names, signal names, hex values and Python
#: exception names are recognised by shape (see ``is_outcome``).
WORDS: dict[str, str] = {
    "ok": "the call succeeded (or the access did not fault)",
    "zero": "mapped, and every byte read back as zero",
    "nonzero": "mapped, but some byte read back as neither zero nor the file's bytes",
    "file-bytes": "mapped, and read back the bytes of the file behind the fd",
    "shared": "a write on one side of fork is seen on the other",
    "private": "a write on one side of fork is not seen on the other",
    "independent": "a write to one mapping is not seen through the other",
    "aliased": "a write to one mapping is seen through the other",
    "inherited": "the child read what the parent wrote before fork",
    "not-inherited": "the child read something other than what the parent wrote",
    "preserved": "the contents written before the call are still there after it",
    "equal": "the two names have the same value",
    "different": "the two names have different values",
    "absent": "the name is not defined on this platform",
    "timeout": "the check did not finish within its time limit",
    "replaced": "mapped at the address asked for, and what was mapped there is gone",
    "at-address": "mapped at the address asked for, where nothing was mapped",
    "elsewhere": "mapped, but not at the address asked for; what was there is untouched",
    "aligned": "mapped at an address aligned as asked",
    "not-aligned": "mapped, but at an address not aligned as asked",
    "warns": "the compiler printed a warning",
    "quiet": "the compiler printed no warning",
    "compile-error": "the program did not compile",
    "unexpected-output": "the program ran but printed something other than either expected result",
}

#: Only a profile may say this: the outcome is not documented, report the case unprofiled.
UNKNOWN = "unknown"

_SHAPES = (
    re.compile(r"E[A-Z0-9]+"),  # errno name (E2BIG), or E<number> where it has none (errnos.name)
    re.compile(r"SIG[A-Z][A-Z0-9]*"),  # signal name
    re.compile(r"0x[0-9a-f]+"),  # a constant's value
    re.compile(r"[A-Z][A-Za-z]*Error"),  # a Python exception raised before any call
)


def is_errno(word: str) -> bool:
    """Whether the outcome word is an errno's name (EINVAL, or E<number> where it has none)."""
    return _SHAPES[0].fullmatch(word) is not None


def is_outcome(word: str) -> bool:
    """Whether ``word`` is one observable outcome."""
    return word in WORDS or any(shape.fullmatch(word) for shape in _SHAPES)


def alternatives(expected: str) -> tuple[str, ...]:
    """The outcomes an expectation allows, in the order written."""
    return tuple(part.strip() for part in expected.split("|"))


def invalid_words(expected: str) -> list[str]:
    """The parts of an expectation that are not outcomes (empty when it is valid)."""
    if expected == UNKNOWN:
        return []
    return [part for part in alternatives(expected) if not is_outcome(part)]


def matches(expected: str, observed: str) -> bool:
    """Whether the observed outcome is one of those the expectation allows."""
    return observed in alternatives(expected)


def hex_value(value: int) -> str:
    """The outcome word for a constant's value."""
    return f"{value:#x}"
