"""The hazards in a porter's own code: each mmap call or pattern that a catalogue behaviour
shows to differ between platforms, found with a real C/C++ parser (tree-sitter's grammars).

Why tree-sitter rather than libclang: it parses a file alone, with no include paths, compile
flags or target (a porter's tree rarely builds on the machine that scans it), it recovers from
code it cannot parse, and its wheels are small. What it cannot do is preprocess: object-like
macros defined in the same file are followed through every #if branch; a macro from a header,
a function-like macro or a value computed at run time is left unresolved.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anonmap.scan import calls, filewide, suppress
from anonmap.scan.finding import Finding
from anonmap.scan.rules import rules
from anonmap.scan.source import C_SUFFIXES, CPP_SUFFIXES, MAX_BYTES, ScanError, Source, load
from anonmap.scan.values import Resolver

__all__ = ["MAX_BYTES", "RULES", "Finding", "ScanError", "Scanned", "scan", "scan_file", "sources"]

#: Every rule, with what it looks for.
RULES = {name: rule.summary for name, rule in rules().items()}


class InternalError(Exception):
    """A bug in the scanner met on one file: named, never a traceback."""


def _findings(source: Source) -> list[Finding]:
    if source.tree is None:
        return []
    found = [
        *filewide.feature_tests(source),
        *filewide.dev_zero(source),
        *filewide.dontneed(source),
        *filewide.platform_flags(source),
        *filewide.anonymous_name(source),
        *filewide.null_checks(source),
    ]
    resolver = Resolver(source)
    seen = set()
    for site in calls.sites(source, resolver):
        for finding in calls.findings_at(source, site, source.calls):
            # A wrapper's body and each of its callers may report the same hazard once each.
            key = (finding.line, finding.column, finding.rule)
            if key not in seen:
                seen.add(key)
                found.append(finding)
    lines = source.text.splitlines()
    found = [dataclasses.replace(f, suppressed=suppress.inline(f, lines)) for f in found]
    return sorted(set(found), key=lambda f: (f.line, f.column, f.rule))


def scan_file(path: Path) -> list[Finding]:
    source = load(path)
    try:
        with source:
            return _findings(source)
    except RecursionError as error:
        raise ScanError(f"{path}: nested too deeply to scan: skipped") from error
    except Exception as error:
        raise InternalError(
            f"{path}: internal error in the scanner: {type(error).__name__}: {error}"
        ) from error


def sources(paths: list[Path]) -> list[tuple[Path, bool]]:
    """The C and C++ files under ``paths``, each with whether it was named itself rather than
    found in a directory; a path that is neither is an error naming it."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                (p, False)
                for p in path.rglob("*")
                if p.suffix in (*C_SUFFIXES, *CPP_SUFFIXES) and p.is_file()
            )
        elif path.is_file():
            found.append((path, True))
        else:
            raise ScanError(f"{path}: no such file or directory, or not a regular file")
    return found


@dataclasses.dataclass(frozen=True)
class Scanned:
    findings: list[Finding]
    skipped: list[str]
    """Why each file found in a directory but not scanned was skipped (a binary file named
    .c, one too large): one line each. A file named itself is an error instead."""
    internal: list[str] = dataclasses.field(default_factory=list)
    """A scanner bug met on a file, one line each: the scan goes on, and ends with its own status."""


def scan(paths: list[Path]) -> Scanned:
    findings: list[Finding] = []
    skipped: list[str] = []
    internal: list[str] = []
    for path, named in sources(paths):
        try:
            findings += scan_file(path)
        except ScanError as error:
            if named:
                raise
            skipped.append(f"{error}: skipped" if not str(error).endswith("skipped") else str(error))
        except InternalError as error:
            internal.append(str(error))
    return Scanned(findings, skipped, internal)
