"""Version strings as comparable tuples, and the constraints profiles write over them."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

Version = tuple[int, ...]

_LEADING_NUMBERS = re.compile(r"\d+(?:\.\d+)*")
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*")
_COMPARE: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_version(text: str) -> Version | None:
    """The leading dotted numbers of ``text``: '6.1.0-18-amd64' -> (6, 1, 0), '14.1-RELEASE' -> (14, 1)."""
    found = _LEADING_NUMBERS.search(text)
    if found is None:
        return None
    return tuple(int(part) for part in found.group(0).split("."))


def _padded(a: Version, b: Version) -> tuple[Version, Version]:
    # 4.15 must equal 4.15.0 and be below 4.15.1.
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def constraint_error(constraint: str) -> str | None:
    """What is wrong with a constraint such as '>=4.15,<6', or None when it is well formed."""
    for clause in constraint.split(","):
        if _CLAUSE.fullmatch(clause) is None:
            return (
                f"version constraint {constraint!r}: clause {clause.strip()!r} is not "
                "an operator (>=, <=, ==, !=, >, <) followed by a dotted version"
            )
    return None


def satisfies(version: Version, constraint: str) -> bool:
    """Whether ``version`` meets every comma-separated clause of ``constraint``."""
    for clause in constraint.split(","):
        found = _CLAUSE.fullmatch(clause)
        if found is None:
            raise ValueError(constraint_error(constraint))
        op, bound_text = found.groups()
        left, right = _padded(version, tuple(int(p) for p in bound_text.split(".")))
        if not _COMPARE[op](left, right):
            return False
    return True
