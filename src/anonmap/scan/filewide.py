"""The rules on a file's names rather than one call: flags only some platforms define, the
feature-test macros, /dev/zero, MADV_DONTNEED relied on, and mmap's result tested for NULL."""

from __future__ import annotations

import re
from collections.abc import Iterator

from anonmap.scan import guards
from anonmap.scan.finding import Finding, at
from anonmap.scan.source import Source, conditions, enclosing_function, function_name

#: Flags some platforms lack: rule, and the conditions that show the code was written for it.
_PLATFORM_FLAGS = {
    "MAP_NORESERVE": ("map-noreserve", r"MAP_NORESERVE|__linux__|__sun"),
    "MAP_STACK": ("map-stack", r"MAP_STACK|__OpenBSD__|__linux__"),
    "MAP_JIT": ("map-jit", r"MAP_JIT|__APPLE__|__MACH__|TARGET_OS"),
}
_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|undef|endif)\b.*$", re.M)


def _uses(source: Source, name: str) -> Iterator[re.Match[str]]:
    """Where ``name`` is used in code: not in a comment, an #if test or the name of its own
    #define, nor cleared with ~."""
    code = _DIRECTIVE.sub(lambda m: " " * len(m.group()), source.code_only)
    for match in re.finditer(rf"(?<![\w~])(~\s*)?\b{name}\b", code):
        line_start = code.rfind("\n", 0, match.start()) + 1
        if match.group(1) or re.match(rf"[ \t]*#[ \t]*define[ \t]+{name}\b", code[line_start:]):
            continue
        yield match


def _fallback_defined(source: Source, name: str) -> bool:
    """'#ifndef NAME / #define NAME 0' (or 'MAP_ANON'): the file compiles where NAME is not."""
    return any(
        not side
        for define in source.defines.get(name, [])
        for cond, side in define.conds
        if cond == f"defined({name})"
    )


def platform_flags(source: Source) -> Iterator[Finding]:
    for name, (rule, guarded_by) in _PLATFORM_FLAGS.items():
        for match in _uses(source, name):
            conds = conditions(source.node_at(match.start()))
            guard = guards.compiled_only_where(conds, guarded_by) or (
                f"#ifndef {name} defines a fallback" if _fallback_defined(source, name) else ""
            )
            yield at(
                source,
                match.start(),
                match.end(),
                rule,
                f"{name}: {_ABSENT[name]}",
                guard=guard,
            )


_ABSENT = {
    "MAP_NORESERVE": "FreeBSD and DragonFly do not define it, and OpenBSD refuses a huge writable reservation with it (ENOMEM)",
    "MAP_STACK": "macOS and illumos do not define it, OpenBSD requires it for a stack",
    "MAP_JIT": "only macOS defines it",
}


def anonymous_name(source: Source) -> Iterator[Finding]:
    uses = list(_uses(source, "MAP_ANONYMOUS"))
    if not uses or re.search(r"\bMAP_ANON\b", source.code) or not _maps(source):
        return
    for match in uses:
        conds = conditions(source.node_at(match.start()))
        if guards.compiled_only_where(conds, r"MAP_ANONYMOUS|__linux__|__gnu_linux__"):
            continue
        yield at(
            source,
            match.start(),
            match.end(),
            "anonymous-name-without-fallback",
            "MAP_ANONYMOUS with no mention of MAP_ANON: defined on every platform profiled here, "
            "but not on macOS before OS X 10.11 or on older BSDs, which have MAP_ANON only",
        )
        return


def _maps(source: Source) -> bool:
    """Whether the file maps memory: a call, or one inside a macro's replacement text."""
    return re.search(r"\bmmap(?:64)?\s*\(", source.code_only) is not None


def feature_tests(source: Source) -> Iterator[Finding]:
    defined = set(source.defines)
    for define in source.defines.get("_BSD_SOURCE", []):
        yield at(
            source,
            define.node.start_byte,
            define.node.end_byte,
            "bsd-source-defined",
            "_BSD_SOURCE: deprecated in glibc 2.20 and later, which warns unless _DEFAULT_SOURCE is defined too",
            guard="_DEFAULT_SOURCE is defined too, which glibc takes instead"
            if "_DEFAULT_SOURCE" in defined
            else "",
        )
    uses_anon = any(next(_uses(source, n), None) for n in ("MAP_ANON", "MAP_ANONYMOUS"))
    for name, config in (("_POSIX_C_SOURCE", "c99-posix2008"), ("_XOPEN_SOURCE", "xopen700")):
        for define in source.defines.get(name, []) if uses_anon else []:
            guard = guards.compiled_only_where(define.conds, r"linux|__sun|GLIBC|_AIX|hpux") or (
                "_DARWIN_C_SOURCE and __BSD_VISIBLE are defined too"
                if {"_DARWIN_C_SOURCE", "__BSD_VISIBLE"} <= defined
                else ""
            )
            yield at(
                source,
                define.node.start_byte,
                define.node.end_byte,
                "strict-feature-test-macro",
                f"{name} in a file that uses MAP_ANON(YMOUS): hides both names on macOS, FreeBSD and DragonFly",
                cases=(f"cc-config={config}-name=MAP_ANONYMOUS", f"cc-config={config}-name=MAP_ANON"),
                guard=guard,
            )


def dev_zero(source: Source) -> Iterator[Finding]:
    if not _maps(source):
        return
    for match in re.finditer(r'"/dev/zero"', source.code):
        conds = conditions(source.node_at(match.start()))
        yield at(
            source,
            match.start(),
            match.end(),
            "dev-zero-mapped",
            '"/dev/zero": not mappable on every platform (macOS refuses it); MAP_ANON with fd -1 is',
            guard=guards.negated(conds, r"ANON"),
        )


def dontneed(source: Source) -> Iterator[Finding]:
    """MADV_DONTNEED where the function relies on the pages reading back as zero (it speaks of
    zero), unless the file checks that at run time in a function of its own."""
    checker = next(
        (
            function_name(f)
            for c in source.calls
            if c.name in ("mmap", "mmap64")
            and (f := enclosing_function(c.node)) is not None
            and "zero" in function_name(f).lower()
            and "MADV_DONTNEED" in source.code[f.start_byte : f.end_byte]
        ),
        "",
    )
    for match in _uses(source, "MADV_DONTNEED"):
        node = source.node_at(match.start())
        function = enclosing_function(node)
        if function is None or (checker and function_name(function) == checker):
            continue
        body = source.code[function.start_byte : function.end_byte].lower()
        # Speaking of zero, not of /dev/zero or its fd.
        if "zero" not in re.sub(r"\w*zero_fd\w*|dev_zero|/dev/zero", "", body):
            continue
        yield at(
            source,
            match.start(),
            match.end(),
            "dontneed-relied-on",
            "MADV_DONTNEED relied on to zero: the pages read back as zero on Linux, keep their contents on the BSDs and macOS",
            guard=f"checked at run time by {checker}()" if checker else "",
        )


def null_checks(source: Source) -> Iterator[Finding]:
    """mmap's result tested against NULL (or with !) in the function that holds it."""
    functions = {}
    for call in source.calls:
        if call.name in ("mmap", "mmap64") and (f := enclosing_function(call.node)) is not None:
            functions[f.id] = f
    direct = r"\(\s*(?:\([^()]*\)\s*)?mmap(?:64)?\s*\([^;]*\)\s*\)\s*[!=]=\s*(?:NULL|0|nullptr)\b"
    for function in functions.values():
        body = source.code[function.start_byte : function.end_byte]
        holders = set(re.findall(r"([A-Za-z_][\w.\->]*)\s*=\s*(?:\([^()]*\)\s*)*mmap(?:64)?\s*\(", body))
        patterns = [direct]
        for holder in holders:
            if re.search(
                rf"{re.escape(holder)}\s*[!=]=\s*MAP_FAILED|MAP_FAILED\s*[!=]=\s*{re.escape(holder)}", body
            ):
                continue
            h = re.escape(holder)
            patterns.append(
                rf"(?<![\w.>]){h}\s*[!=]=\s*(?:NULL|0|nullptr)\b|\b(?:NULL|nullptr)\s*[!=]=\s*{h}(?![\w.\-])|!\s*\(?\s*{h}(?![\w.\-])"
            )
        for match in re.finditer("|".join(f"(?:{p})" for p in patterns), body):
            start = function.start_byte + match.start()
            yield at(
                source,
                start,
                function.start_byte + match.end(),
                "result-compared-with-null",
                f"{match.group().strip()}: mmap() fails with MAP_FAILED ((void *) -1), never NULL, on every platform here",
            )
