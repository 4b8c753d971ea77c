"""The hazards in a porter's own code: each mmap call or pattern that a catalogue behaviour
shows to differ between platforms, found with a real C/C++ parser (tree-sitter's grammars).

Why tree-sitter rather than libclang: it parses a file alone, with no include paths, compile
flags or target (a porter's tree rarely builds on the machine that scans it), it recovers from
code it cannot parse, and its wheels are small. What it cannot do is preprocess: object-like
macros defined in the same file are expanded (to a small depth); a macro from a header, a
function-like macro or a value computed at run time leaves a finding marked uncertain.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Files the scanner reads, by suffix, with the grammar for each.
C_SUFFIXES = (".c", ".h")
CPP_SUFFIXES = (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".C", ".H")
#: A source file larger than this is refused rather than parsed.
MAX_BYTES = 8 * 1024 * 1024
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MMAP_NAMES = {"mmap", "mmap64"}
_ANON = {"MAP_ANON", "MAP_ANONYMOUS"}


#: Every rule, with what it looks for.
RULES = {
    "anon-fd-not-minus-one": "MAP_ANON(YMOUS) with an fd other than -1",
    "anon-offset-not-zero": "MAP_ANON(YMOUS) with a non-zero offset",
    "sharing-neither-or-both": "neither or both of MAP_SHARED and MAP_PRIVATE",
    "write-and-execute": "a mapping both writable and executable",
    "result-compared-with-null": "mmap's result tested against NULL instead of MAP_FAILED",
    "bsd-source-defined": "_BSD_SOURCE defined",
    "strict-feature-test-macro": "a strict feature-test macro that may hide MAP_ANON(YMOUS)",
    "dev-zero-mapped": "/dev/zero opened, as the fallback for anonymous memory",
    "dontneed-relied-on": "MADV_DONTNEED, whose effect on the contents differs",
    "anonymous-name-without-fallback": "MAP_ANONYMOUS or MAP_ANON used without the other",
}


class ScanError(Exception):
    """A path that cannot be scanned; the message names it."""


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    rule: str
    message: str
    behaviour: str
    """The catalogue behaviour it matches ('' where the catalogue has none yet)."""
    cases: tuple[str, ...]
    """The catalogue cases whose documented outcomes apply to it."""
    certain: bool
    """False where a value the finding depends on could not be resolved here."""


@dataclasses.dataclass
class _Source:
    path: str
    text: bytes
    macros: dict[str, str]
    tree: Any


def _parser(cpp: bool) -> Any:
    try:
        import tree_sitter
        import tree_sitter_c
        import tree_sitter_cpp
    except ImportError as error:
        raise ScanError("anonmap scan needs tree-sitter: pip install 'anonmap[scan]'") from error
    grammar = tree_sitter_cpp.language() if cpp else tree_sitter_c.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def _walk(node: Any) -> Iterator[Any]:
    """Every node under ``node``, in document order; iterative, as a file of deeply nested
    expressions would exhaust Python's recursion long before tree-sitter's parser tires."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.children))


def _text(node: Any) -> str:
    return str(node.text.decode("utf-8", errors="replace"))


def _macros(root: Any) -> dict[str, str]:
    """Object-like macros the file defines: name -> replacement text."""
    found = {}
    for node in _walk(root):
        if node.type == "preproc_def":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None:
                found[_text(name)] = _text(value).strip() if value is not None else ""
    return found


#: The longest an argument grows by macro expansion: a macro defined as several copies of
#: itself would otherwise grow exponentially with each round.
_MAX_EXPANSION = 4096


def _expand(text: str, macros: dict[str, str], depth: int = 8) -> tuple[str, bool]:
    """``text`` with the file's object-like macros replaced; whether every identifier left is
    one of the names a rule knows (MAP_*, PROT_*, NULL) rather than something unresolved."""
    for _ in range(depth):
        replaced = _IDENTIFIER.sub(
            lambda m: f"({macros[m.group()]})" if m.group() in macros else m.group(), text
        )
        if replaced == text:
            break
        if len(replaced) > _MAX_EXPANSION:
            # Left unexpanded, it is uncertain, as a macro from a header would be.
            return text, False
        text = replaced
    leftover = [w for w in _IDENTIFIER.findall(text) if not w.startswith(("MAP_", "PROT_")) and w != "NULL"]
    return text, not leftover


def _number(text: str) -> int | None:
    """The value of an integer literal expression such as '-1', '(0)', '0x1000', '4096L'."""
    stripped = text.replace(" ", "").replace("(", "").replace(")", "")
    match = re.fullmatch(r"(-?)(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", stripped)
    if match is None:
        return None
    value = int(match.group(2), 0)
    return -value if match.group(1) else value


def _names(text: str) -> set[str]:
    return set(_IDENTIFIER.findall(text))


def _load(path: Path) -> _Source:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScanError(f"{path}: {size} bytes, over the {MAX_BYTES >> 20} MiB a source file may have")
        data = path.read_bytes()
    except OSError as error:
        raise ScanError(f"{path}: cannot be read: {error.strerror or error}") from error
    if b"\0" in data[:8192]:
        raise ScanError(f"{path}: a binary file, not C or C++ source")
    tree = _parser(path.suffix in CPP_SUFFIXES).parse(data)
    return _Source(str(path), data, _macros(tree.root_node), tree)


def _at(source: _Source, node: Any) -> tuple[str, int, int]:
    return source.path, node.start_point[0] + 1, node.start_point[1] + 1


def _mmap_calls(source: _Source) -> Iterator[tuple[Any, list[Any]]]:
    for node in _walk(source.tree.root_node):
        if node.type != "call_expression":
            continue
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or arguments is None or _text(function) not in _MMAP_NAMES:
            continue
        args = [child for child in arguments.named_children if child.type != "comment"]
        if len(args) == 6:
            yield node, args


def _sharing(flags: set[str]) -> str:
    return "shared" if "MAP_SHARED" in flags else "private"


def _call_findings(source: _Source, call: Any, args: list[Any]) -> Iterator[Finding]:
    flags_text, flags_known = _expand(_text(args[3]), source.macros)
    flags = _names(flags_text)
    at = _at(source, call)
    if not flags & _ANON:
        return
    sharing = _sharing(flags)
    fd_text, _ = _expand(_text(args[4]), source.macros)
    fd = _number(fd_text)
    if fd != -1:
        kind = "0" if fd == 0 else "-2" if fd is not None and fd < 0 else "regular-file"
        yield Finding(
            *at,
            "anon-fd-not-minus-one",
            f"MAP_ANON(YMOUS) with fd {_text(args[4])}, not -1",
            "fd-argument",
            (f"libc-{sharing}-fd={kind}",),
            fd is not None,
        )
    offset_text, _ = _expand(_text(args[5]), source.macros)
    offset = _number(offset_text)
    if offset != 0:
        kind = "unaligned" if offset is not None and offset % 4096 else "page"
        yield Finding(
            *at,
            "anon-offset-not-zero",
            f"MAP_ANON(YMOUS) with offset {_text(args[5])}, not 0",
            "offset-argument",
            (f"libc-{sharing}-source=anonymous-offset={kind}",),
            offset is not None,
        )
    both = {"MAP_SHARED", "MAP_PRIVATE"} <= flags
    if both or not flags & {"MAP_SHARED", "MAP_PRIVATE"}:
        form = "both-shared-and-private" if both else "neither-shared-nor-private"
        yield Finding(
            *at,
            "sharing-neither-or-both",
            f"flags {_text(args[3])} give {'both' if both else 'neither'} of MAP_SHARED and MAP_PRIVATE",
            "argument-contract",
            (f"libc-form={form}",),
            flags_known,
        )
    prot = _names(_expand(_text(args[2]), source.macros)[0])
    if {"PROT_WRITE", "PROT_EXEC"} <= prot:
        yield Finding(
            *at,
            "write-and-execute",
            "PROT_WRITE|PROT_EXEC: OpenBSD refuses it unless the filesystem is wxallowed, and hardened macOS and NetBSD's PaX MPROTECT refuse it too",
            "",
            (),
            True,
        )


def _null_checks(source: _Source) -> Iterator[Finding]:
    """mmap's result tested against NULL (or with !) where it fails as MAP_FAILED."""
    holders: set[str] = set()
    for node in _walk(source.tree.root_node):
        if node.type in ("init_declarator", "assignment_expression"):
            value = node.child_by_field_name("value") or node.child_by_field_name("right")
            target = node.child_by_field_name("declarator") or node.child_by_field_name("left")
            if value is not None and target is not None and _is_mmap_call(value):
                names = _IDENTIFIER.findall(_text(target))
                if names:
                    holders.add(names[-1])
    for node in _walk(source.tree.root_node):
        operand = None
        if node.type == "binary_expression" and _text(node.child_by_field_name("operator") or node) in (
            "==",
            "!=",
        ):
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            sides = [_text(s).strip() for s in (left, right) if s is not None]
            if any(s in ("NULL", "0", "nullptr") for s in sides):
                operand = next((s for s in sides if s not in ("NULL", "0", "nullptr")), None)
                if (left is not None and _is_mmap_call(left)) or (right is not None and _is_mmap_call(right)):
                    operand = "mmap("
        elif node.type == "unary_expression" and _text(node).startswith("!"):
            argument = node.child_by_field_name("argument")
            operand = _text(argument).strip() if argument is not None else None
        if operand is not None and (operand in holders or operand == "mmap("):
            yield Finding(
                *_at(source, node),
                "result-compared-with-null",
                f"{_text(node)}: mmap() fails with MAP_FAILED ((void *) -1), never NULL, on every platform here",
                "",
                (),
                True,
            )


def _is_mmap_call(node: Any) -> bool:
    while node.type in ("parenthesized_expression", "cast_expression"):
        node = node.named_children[-1]
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    return function is not None and _text(function) in _MMAP_NAMES


def _file_findings(source: _Source) -> Iterator[Finding]:
    root = source.tree.root_node
    for node in _walk(root):
        if node.type == "preproc_def":
            # A definition tree-sitter recovered from broken code may lack its name.
            named = node.child_by_field_name("name")
            name = _text(named) if named is not None else ""
            if name == "_BSD_SOURCE":
                yield Finding(
                    *_at(source, node),
                    "bsd-source-defined",
                    "_BSD_SOURCE: deprecated in glibc (a warning), and a strict feature-test set elsewhere",
                    "c-feature-warnings",
                    ("cc-config=bsd-source",),
                    True,
                )
            elif name in ("_POSIX_C_SOURCE", "_XOPEN_SOURCE"):
                config = "xopen700" if name == "_XOPEN_SOURCE" else "c99-posix2008"
                yield Finding(
                    *_at(source, node),
                    "strict-feature-test-macro",
                    f"{name}: hides MAP_ANON and MAP_ANONYMOUS on some platforms",
                    "c-header-visibility",
                    (f"cc-config={config}-name=MAP_ANONYMOUS", f"cc-config={config}-name=MAP_ANON"),
                    True,
                )
        elif node.type == "string_literal" and _text(node).strip('"') == "/dev/zero":
            yield Finding(
                *_at(source, node),
                "dev-zero-mapped",
                '"/dev/zero": not mappable on every platform (macOS refuses it); MAP_ANON with fd -1 is',
                "dev-zero",
                ("libc-private-property=zero-fill", "libc-shared-property=zero-fill"),
                True,
            )
        elif node.type == "call_expression" and _text(node.child_by_field_name("function") or node) in (
            "madvise",
            "posix_madvise",
        ):
            arguments = node.child_by_field_name("arguments")
            if arguments is not None and "MADV_DONTNEED" in _text(arguments):
                yield Finding(
                    *_at(source, node),
                    "dontneed-relied-on",
                    "MADV_DONTNEED: the pages read back as zero on Linux, keep their contents on the BSDs and macOS",
                    "madvise",
                    ("libc-private-advice=MADV_DONTNEED",),
                    True,
                )
    # Names the code uses (comments aside), macro replacement texts included.
    used = {_text(n) for n in _walk(root) if n.type == "identifier"} | {
        name for n in _walk(root) if n.type == "preproc_arg" for name in _names(_text(n))
    }
    for name, other in (("MAP_ANONYMOUS", "MAP_ANON"), ("MAP_ANON", "MAP_ANONYMOUS")):
        if name in used and other not in used:
            # The name may stand only in a macro's replacement text, with no identifier node.
            node = next(
                (n for n in _walk(root) if n.type == "identifier" and _text(n) == name), None
            ) or next(n for n in _walk(root) if n.type == "preproc_arg" and name in _names(_text(n)))
            yield Finding(
                *_at(source, node),
                "anonymous-name-without-fallback",
                f"{name} with no mention of {other}: older BSDs and macOS define only MAP_ANON",
                "names-values",
                (f"python-constant={name}",),
                True,
            )
            break


def scan_file(path: Path) -> list[Finding]:
    source = _load(path)
    found = [*_file_findings(source), *_null_checks(source)]
    for call, args in _mmap_calls(source):
        found.extend(_call_findings(source, call, args))
    return sorted(found, key=lambda f: (f.line, f.column, f.rule))


def sources(paths: list[Path]) -> list[tuple[Path, bool]]:
    """The C and C++ files under ``paths``, each with whether it was named itself rather than
    found in a directory; a path that is neither is an error naming it."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                (p, False)
                for p in path.rglob("*")
                if p.is_file() and p.suffix in (*C_SUFFIXES, *CPP_SUFFIXES)
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


def scan(paths: list[Path]) -> Scanned:
    findings: list[Finding] = []
    skipped: list[str] = []
    for path, named in sources(paths):
        try:
            findings += scan_file(path)
        except ScanError as error:
            if named:
                raise
            skipped.append(f"{error}: skipped")
    return Scanned(findings, skipped)
