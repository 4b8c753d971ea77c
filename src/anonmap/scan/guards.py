"""How code already handles a hazard: an errno fallback that covers every answer the profiles
document, a fallback on any failure, or a branch compiled only where the hazard cannot arise."""

from __future__ import annotations

import functools
import re
from typing import Any

from anonmap.scan.source import Conds

_ERRNO_TEST = re.compile(
    r"\berrno\s*[!=]=\s*(E[A-Z0-9]+)|\b(E[A-Z0-9]+)\s*[!=]=\s*errno\b|\bcase\s+(E[A-Z0-9]+)\s*:"
)
_ERRNO = re.compile(r"^E[A-Z0-9]+$")


@functools.cache
def answers(behaviour: str, case: str, unless_absent: str = "") -> dict[str, frozenset[str]]:
    """Each profiled platform's errnos for a case, as its profile documents them ('ok|ENOTSUP'
    gives ENOTSUP); a platform whose ``unless_absent`` case is 'absent' has no such memory at
    all, so no fallback could serve it: it is left out."""
    from anonmap.expect.profiles import profile_paths
    from anonmap.host.installation import profiles
    from anonmap.reporting import documented

    directory = profiles()
    found = {}
    for path in profile_paths(directory):
        run = documented.platform(path.stem, directory, documented.Target())
        by_case = {r.case: r.expected for r in run.records if r.behaviour == behaviour}
        if unless_absent and by_case.get(unless_absent) == "absent":
            continue
        errnos = frozenset(p for p in by_case.get(case, "").split("|") if _ERRNO.match(p))
        if errnos:
            found[path.stem] = errnos
    return found


def errno_tests(function_code: str) -> set[str]:
    """The errno values a function tests for."""
    return {next(g for g in m.groups() if g) for m in _ERRNO_TEST.finditer(function_code)}


def errno_fallback(function_code: str, behaviour: str, case: str, unless_absent: str) -> tuple[str, str]:
    """(guard, gap): how an errno fallback handles the case, or what it misses ('' each where
    the function tests no errno)."""
    tested = errno_tests(function_code)
    if not tested:
        return "", ""
    documented = answers(behaviour, case, unless_absent)
    missed = {p: e for p, e in documented.items() if not e & tested}
    if missed:
        gap = "; ".join(f"{p} answers {'|'.join(sorted(e))}" for p, e in sorted(missed.items()))
        return "", f"the code tests errno only for {', '.join(sorted(tested))}: {gap}"
    return f"falls back when errno is {', '.join(sorted(tested))}, which covers every profile's answer", ""


def compiled_only_where(conds: Conds, pattern: str) -> str:
    """The condition (if any) that limits the code to builds matching ``pattern``."""
    for cond, side in sorted(conds):
        # A platform named negated ('!defined(_WIN32) || ...') limits nothing to it.
        if side and any(
            not re.search(r"!\(?(?:defined\()?$", cond[: m.start()]) for m in re.finditer(pattern, cond)
        ):
            return f"compiled only where #if {cond}"
    return ""


def file_for(path: str, pattern: str) -> str:
    """Whether the file's own name says which platform it is built for (sljit's
    sljitExecAllocatorFreeBSD.c, libuv's linux.c)."""
    from pathlib import Path

    stem = Path(path).stem
    return f"in {Path(path).name}, built for that platform only" if re.search(pattern, stem) else ""


def negated(conds: Conds, pattern: str) -> str:
    for cond, side in sorted(conds):
        if not side and re.search(pattern, cond):
            return f"compiled only where not #if {cond}"
    return ""


def later_calls(calls: list[Any], node: Any) -> list[Any]:
    return [c for c in calls if c.node.start_byte > node.end_byte]
