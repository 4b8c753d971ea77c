"""The rules on mmap and mprotect calls, direct or through a thin wrapper in the same file,
with every argument followed through macros, variables and the wrapper's parameters."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from anonmap.scan import guards
from anonmap.scan.finding import Finding, at
from anonmap.scan.source import Call, Source, consistent, enclosing_function, function_name, parameters
from anonmap.scan.values import Resolver, Value

_ANON = {"MAP_ANON", "MAP_ANONYMOUS"}
_MMAP = {"mmap", "mmap64"}
#: Flags that make MAP_FIXED refuse rather than replace an existing mapping.
_NO_REPLACE = {"MAP_EXCL", "MAP_FIXED_NOREPLACE", "MAP_TRYFIXED"}
#: Platforms whose profiles document writable-and-executable mappings as allowed ('ok'), as a
#: condition or a file name names them.
_RWX_ALLOWED = r"\b(?:__linux__|__FreeBSD__|__DragonFly__|__sun|_WIN32|__APPLE__|TARGET_OS_\w+)\b"
_RWX_ALLOWED_FILES = r"(?i)linux|freebsd|dragonfly|solaris|illumos|win32|windows|apple|darwin"


@dataclasses.dataclass(frozen=True)
class Site:
    """One mmap or mprotect, as its caller sees it: the call node to report at, the function
    whose code surrounds it (the caller's, for a wrapper), and each argument's values."""

    target: str
    node: Any
    function: Any | None
    args: list[list[Value]]
    through: str
    """The wrapper's name where the site is a call to one ('' for a direct call)."""
    passed: frozenset[int] = frozenset(range(6))
    """The target's arguments the site gives: a wrapper's caller gives only its parameters,
    so a hazard in the others is the wrapper's own, reported once, at the wrapper."""


def sites(source: Source, resolver: Resolver) -> Iterator[Site]:
    targets = [c for c in source.calls if c.name in _MMAP or c.name == "mprotect"]
    wrappers: dict[str, tuple[Call, Any, list[str]]] = {}
    for call in targets:
        function = enclosing_function(call.node)
        expected = 6 if call.name in _MMAP else 3
        if len(call.args) != expected:
            continue
        yield Site(call.name, call.node, function, [resolver.values(a, function) for a in call.args], "")
        if function is not None:
            names = parameters(function)
            if any(re.fullmatch(r"\s*\w+\s*", _t(a)) and _t(a).strip() in names for a in call.args):
                wrappers[function_name(function)] = (call, function, names)
    for name, (call, function, names) in wrappers.items():
        if not name:
            continue
        for match in re.finditer(rf"\b{re.escape(name)}\s*\(", source.code):
            node = source.node_at(match.start())
            while node is not None and node.type != "call_expression":
                node = node.parent
            if node is None or node.start_byte != match.start() or _inside(node, function):
                continue
            arguments = node.child_by_field_name("arguments")
            given = [c for c in arguments.named_children if c.type != "comment"] if arguments else []
            if len(given) != len(names):
                continue
            caller = enclosing_function(node)
            params = {n: resolver.values(a, caller) for n, a in zip(names, given, strict=True) if n}
            passed = frozenset(i for i, a in enumerate(call.args) if _t(a).strip() in names)
            yield Site(
                call.name,
                node,
                caller,
                [resolver.values(a, function, params) for a in call.args],
                name,
                passed,
            )


def _t(node: Any) -> str:
    return str(node.text.decode("latin-1"))


def _inside(node: Any, function: Any) -> bool:
    return bool(function.start_byte <= node.start_byte < function.end_byte)


def findings(source: Source, site: Site, all_calls: list[Call]) -> Iterator[Finding]:
    if site.target in _MMAP:
        yield from _mmap_findings(source, site, all_calls)
    else:
        yield from _mprotect_findings(source, site, all_calls)


#: The arguments each rule's verdict depends on, by index in mmap's (or mprotect's) arguments.
_DEPENDS = {
    "anon-fd-not-minus-one": {3, 4},
    "anon-offset-not-zero": {3, 5},
    "sharing-neither-or-both": {3},
    "write-and-execute": {2, 3},
    "fixed-may-replace": {0, 3},
    "rw-then-rx": {2},
}


def findings_at(source: Source, site: Site, all_calls: list[Call]) -> Iterator[Finding]:
    for finding in findings(source, site, all_calls):
        if _DEPENDS[finding.rule] & site.passed:
            yield finding


def _where(source: Source, site: Site, rule: str, message: str, **kwargs: Any) -> Finding:
    via = f" (through {site.through}())" if site.through else ""
    return at(source, site.node.start_byte, site.node.end_byte, rule, message + via, **kwargs)


def _mmap_findings(source: Source, site: Site, all_calls: list[Call]) -> Iterator[Finding]:
    addrs, _, prots, flags, fds, offsets = site.args
    anon = [f for f in flags if f.names & _ANON]
    for rule, values, test, describe in (
        ("anon-fd-not-minus-one", fds, lambda v: v.number() not in (None, -1) or v.is_call(), _fd_case),
        ("anon-offset-not-zero", offsets, lambda v: v.number() not in (None, 0), _offset_case),
    ):
        pair = next(((f, v) for f in anon for v in values if consistent(f.conds, v.conds) and test(v)), None)
        if pair is not None:
            flag, value = pair
            guard = (
                "compiled only for macOS, which reads an anonymous mapping's fd as its VM tag"
                if "VM_MAKE_TAG" in value.text
                and guards.compiled_only_where(value.conds, r"__APPLE__|__MACH__|VM_MAKE_TAG")
                else ""
            )
            sharing = "shared" if "MAP_SHARED" in flag.names else "private"
            what = "fd" if rule.startswith("anon-fd") else "offset"
            yield _where(
                source,
                site,
                rule,
                f"MAP_ANON(YMOUS) with {what} {value.text}, not {'-1' if what == 'fd' else '0'}"
                + (f" (flags {flag.text})" if flag.text != _t(site_arg(site, 3)) else ""),
                cases=(describe(sharing, value),),
                guard=guard,
            )
    for flag in flags:
        if not flag.complete or not flag.names & _ANON:
            continue
        both = {"MAP_SHARED", "MAP_PRIVATE"} <= flag.names
        if both or not flag.names & {"MAP_SHARED", "MAP_PRIVATE"}:
            form = "both-shared-and-private" if both else "neither-shared-nor-private"
            yield _where(
                source,
                site,
                "sharing-neither-or-both",
                f"flags {flag.text} give {'both' if both else 'neither'} of MAP_SHARED and MAP_PRIVATE",
                cases=(f"libc-form={form}",),
            )
            break
    yield from _write_and_execute(source, site, prots, flags, all_calls, "libc-code=rwx-at-mmap")
    for flag in flags:
        if "MAP_FIXED" in flag.names and not flag.names & _NO_REPLACE:
            address = next((a for a in addrs if consistent(a.conds, flag.conds) and a.number()), None)
            if address is not None:
                yield _where(
                    source,
                    site,
                    "fixed-may-replace",
                    f"MAP_FIXED at {address.text}: replaces whatever is mapped there, where "
                    "MAP_FIXED_NOREPLACE (or MAP_EXCL) would refuse",
                )
                break


def site_arg(site: Site, index: int) -> Any:
    arguments = site.node.child_by_field_name("arguments")
    named = [c for c in arguments.named_children if c.type != "comment"] if arguments else []
    return named[index] if index < len(named) and not site.through else site.node


def _fd_case(sharing: str, value: Value) -> str:
    number = value.number()
    kind = "0" if number == 0 else "-2" if number is not None and number < 0 else "regular-file"
    return f"libc-{sharing}-fd={kind}"


def _offset_case(sharing: str, value: Value) -> str:
    number = value.number() or 0
    return f"libc-{sharing}-source=anonymous-offset={'unaligned' if number % 4096 else 'page'}"


def _mprotect_findings(source: Source, site: Site, all_calls: list[Call]) -> Iterator[Finding]:
    prots = site.args[2]
    yield from _write_and_execute(source, site, prots, [], all_calls, "libc-code=rw-then-rwx")
    to_exec = next((p for p in prots if "PROT_EXEC" in p.names and "PROT_WRITE" not in p.names), None)
    if to_exec is not None:
        asked = re.search(r"\bPROT_MPROTECT\b", source.code)
        yield _where(
            source,
            site,
            "rw-then-rx",
            f"mprotect to {to_exec.text}: NetBSD's PaX MPROTECT refuses it (EACCES) unless mmap "
            "asked for PROT_MPROTECT(PROT_EXEC)",
            guard="the file asks for PROT_MPROTECT(PROT_EXEC) at mmap, NetBSD's idiom" if asked else "",
        )


def _write_and_execute(
    source: Source, site: Site, prots: list[Value], flags: list[Value], all_calls: list[Call], case: str
) -> Iterator[Finding]:
    for prot in prots:
        # A prot with PROT_EXEC and a value from elsewhere (a parameter) may be writable too:
        # reported only where the code's own errno fallback shows it expects a refusal.
        maybe = "PROT_EXEC" in prot.names and not prot.complete and "~" not in prot.text
        if not {"PROT_WRITE", "PROT_EXEC"} <= prot.names and not maybe:
            continue
        jit = next((f for f in flags if "MAP_JIT" in f.names and consistent(f.conds, prot.conds)), None)
        guard, gap = "", ""
        platform = guards.compiled_only_where(prot.conds, _RWX_ALLOWED) or guards.file_for(
            source.path, _RWX_ALLOWED_FILES
        )
        if jit is not None:
            guard = "with MAP_JIT, macOS's way to map JIT memory"
        elif platform:
            guard = f"{platform}, which allows it"
        elif site.function is not None:
            code = source.code[site.function.start_byte : site.function.end_byte]
            guard, gap = guards.errno_fallback(
                code, "exec-memory", "libc-code=rwx-at-mmap", "libc-code=rw-then-rx"
            )
            if not guard and not gap:
                later = [
                    c
                    for c in guards.later_calls(all_calls, site.node)
                    if c.name in (*_MMAP, "mprotect") and _inside(c.node, site.function)
                ]
                if any("PROT_EXEC" not in _t(c.args[2]) for c in later if len(c.args) > 2):
                    guard = "falls back to a mapping without PROT_EXEC|PROT_WRITE when this one fails"
        if not {"PROT_WRITE", "PROT_EXEC"} <= prot.names and not gap:
            continue
        message = (
            f"{prot.text}: writable and executable at once; OpenBSD refuses it (ENOTSUP) outside "
            "wxallowed filesystems, NetBSD's PaX MPROTECT (EACCES) and hardened macOS too"
        )
        yield _where(
            source,
            site,
            "write-and-execute",
            message + (f"; {gap}" if gap else ""),
            cases=(case,),
            guard=guard,
        )
        return
