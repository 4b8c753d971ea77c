"""One C or C++ file as the rules read it: its bytes, tree-sitter's tree, the calls and macro
definitions one query finds, its text with the comments blanked, and the preprocessor
conditions (#if/#ifdef branches) any node sits under.

Why one query and a byte prefilter rather than a walk over every node: a Python walk was 81 %
of the scan's time; a file with no mmap-family name or MAP_ flag in it is not parsed at all.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from pathlib import Path
from typing import Any

#: Files the scanner reads, by suffix, with the grammar for each (.inc: C fragments included
#: by other files, as LuaJIT and sljit ship them).
C_SUFFIXES = (".c", ".h", ".inc")
CPP_SUFFIXES = (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".C", ".H")
#: A source file larger than this is refused rather than parsed.
MAX_BYTES = 8 * 1024 * 1024
#: The calls a rule looks at, besides wrappers of them found in the same file.
TARGETS = ("mmap", "mmap64", "mprotect", "madvise", "posix_madvise", "process_madvise")
#: A file none of these occur in can have no finding: it is not parsed.
_RELEVANT = re.compile(rb"mmap|mprotect|madvise|MAP_[A-Z]|_BSD_SOURCE|_POSIX_C_SOURCE|_XOPEN_SOURCE")
_QUERY = """
(call_expression function: (identifier) @fn (#any-of? @fn {names}) arguments: (argument_list) @args) @call
(preproc_def name: (identifier) @name) @def
(function_definition) @function
[(preproc_if) (preproc_ifdef) (preproc_elif) (preproc_elifdef)] @conditional
"""
_COMMENT_OR_STRING = re.compile(r"(\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')|(//[^\n]*|/\*[\s\S]*?\*/)")
_CONDITIONALS = ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef")

#: A preprocessor condition and whether the node is on its true side.
Conds = frozenset[tuple[str, bool]]
NO_CONDS: Conds = frozenset()


class ScanError(Exception):
    """A path that cannot be scanned; the message names it."""


@dataclasses.dataclass(frozen=True)
class Call:
    name: str
    node: Any
    args: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Define:
    name: str
    value: str
    node: Any
    conds: Conds


class Source:
    def __init__(self, path: str, data: bytes, tree: Any | None) -> None:
        self.path = path
        self.data = data
        # Latin-1: one character per byte, so tree-sitter's byte offsets index the text.
        self.text = data.decode("latin-1")
        self.tree: Any = tree
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    @functools.cached_property
    def code(self) -> str:
        """The text with every comment blanked (newlines kept): offsets still match."""
        return _COMMENT_OR_STRING.sub(lambda m: m.group(1) or re.sub(r"[^\n]", " ", m.group(2)), self.text)

    @functools.cached_property
    def code_only(self) -> str:
        """The text with comments and the contents of string literals blanked."""
        return _COMMENT_OR_STRING.sub(
            lambda m: (
                re.sub(r"[^\n]", " ", m.group())
                if m.group(2)
                else m.group()[0] + re.sub(r"[^\n]", " ", m.group()[1:-1]) + m.group()[-1]
            ),
            self.text,
        )

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a byte offset."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        return self.text[self._line_starts[line - 1] : end].strip()

    def node_at(self, offset: int) -> Any:
        return self.tree.root_node.descendant_for_byte_range(offset, offset + 1)

    @functools.cached_property
    def _captures(self) -> dict[str, list[Any]]:
        if self.tree is None:
            return {}
        import tree_sitter

        query = _query(self.tree.language)
        return dict(tree_sitter.QueryCursor(query).captures(self.tree.root_node))

    def __enter__(self) -> Source:
        _ACTIVE.insert(0, self)
        return self

    def __exit__(self, *_: object) -> None:
        _ACTIVE.remove(self)

    @functools.cached_property
    def _functions(self) -> list[tuple[int, int, Any]]:
        return sorted((n.start_byte, n.end_byte, n) for n in self._captures.get("function", []))

    def _function_at(self, offset: int) -> Any | None:
        inside = [(s, n) for s, e, n in self._functions if s <= offset < e]
        return max(inside, key=lambda pair: pair[0])[1] if inside else None

    @functools.cached_property
    def _conditionals(self) -> list[tuple[int, int, int, tuple[str, bool]]]:
        """Each #if's span, where its alternative starts, and its condition."""
        found = []
        for node in self._captures.get("conditional", []):
            alternative = node.child_by_field_name("alternative")
            split = alternative.start_byte if alternative is not None else node.end_byte
            found.append((node.start_byte, node.end_byte, split, _condition(node)))
        return found

    def _conditions_at(self, offset: int) -> Conds:
        return frozenset(
            (cond, positive != (offset >= split))
            for start, end, split, (cond, positive) in self._conditionals
            if start <= offset < end
        )

    @functools.cached_property
    def calls(self) -> list[Call]:
        found = []
        for node in self._captures.get("call", []):
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            args = tuple(c for c in arguments.named_children if c.type != "comment")
            found.append(Call(text(function), node, args))
        return sorted(found, key=lambda c: c.node.start_byte)

    @functools.cached_property
    def defines(self) -> dict[str, list[Define]]:
        """Object-like macros: every definition of each name, in every #if branch."""
        found: dict[str, list[Define]] = {}
        for node in self._captures.get("def", []):
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is None:
                continue
            found.setdefault(text(name), []).append(
                Define(text(name), text(value).strip() if value is not None else "", node, conditions(node))
            )
        return found


@functools.cache
def _query(language: Any) -> Any:
    import tree_sitter

    names = " ".join(f'"{n}"' for n in TARGETS)
    return tree_sitter.Query(language, _QUERY.format(names=names))


def text(node: Any) -> str:
    return str(node.text.decode("latin-1"))


def enclosing_function(node: Any) -> Any | None:
    """The innermost function definition around the node, found by the bytes it spans rather
    than by walking up: tree-sitter finds a parent by descending from the root, so a walk up a
    1,000-deep else-if chain costs a million steps per node."""
    return _ACTIVE[0]._function_at(node.start_byte) if _ACTIVE else None


#: The file being scanned, whose spans enclosing_function() and conditions() look in.
_ACTIVE: list[Source] = []


def function_name(function: Any) -> str:
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return ""
    name = declarator.child_by_field_name("declarator")
    return text(name) if name is not None else ""


def parameters(function: Any) -> list[str]:
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    found: list[str] = []
    params = declarator.child_by_field_name("parameters") if declarator is not None else None
    for param in params.named_children if params is not None else ():
        names = re.findall(r"[A-Za-z_]\w*", text(param))
        found.append(names[-1] if names else "")
    return found


def _condition(node: Any) -> tuple[str, bool]:
    """The condition an #if/#ifdef/#elif node tests, normalised so the same test written as
    '#ifdef X', '#if defined(X)' or '#if defined X' compares equal; '#ifndef X' and
    '#if !defined(X)' are the same test, negated."""
    if node.type in ("preproc_ifdef", "preproc_elifdef"):
        name = node.child_by_field_name("name")
        negated = node.children[0].type in ("#ifndef", "#elifndef")
        return f"defined({text(name) if name is not None else ''})", not negated
    condition = node.child_by_field_name("condition")
    raw = re.sub(r"\s+", "", text(condition)) if condition is not None else ""
    raw = re.sub(r"defined\(?([A-Za-z_]\w*)\)?", r"defined(\1)", raw)
    while raw.startswith("(") and raw.endswith(")") and raw.count("(") == 1:
        raw = raw[1:-1]
    if re.fullmatch(r"!defined\(\w+\)", raw):
        return raw[1:], False
    return raw, True


def conditions(node: Any) -> Conds:
    """Every preprocessor condition the node sits under, with the side it is on."""
    return _ACTIVE[0]._conditions_at(node.start_byte) if _ACTIVE else NO_CONDS


def consistent(*sets: Conds) -> bool:
    """Whether one build can hold every condition: no test both true and false."""
    merged: dict[str, bool] = {}
    for conds in sets:
        for cond, side in conds:
            if merged.setdefault(cond, side) != side:
                return False
    return True


def _parser(cpp: bool) -> Any:
    try:
        import tree_sitter
        import tree_sitter_c
        import tree_sitter_cpp
    except ImportError as error:
        raise ScanError("anonmap scan needs tree-sitter: pip install 'anonmap[scan]'") from error
    grammar = tree_sitter_cpp.language() if cpp else tree_sitter_c.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


@functools.cache
def parser(cpp: bool) -> Any:
    return _parser(cpp)


def load(path: Path) -> Source:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScanError(f"{path}: {size} bytes, over the {MAX_BYTES >> 20} MiB a source file may have")
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise ScanError(f"{path}: cannot be read: {error.strerror or error}") from error
    if len(data) > MAX_BYTES:
        raise ScanError(f"{path}: over the {MAX_BYTES >> 20} MiB a source file may have")
    if b"\0" in data[:8192]:
        raise ScanError(f"{path}: a binary file, not C or C++ source")
    if _RELEVANT.search(data) is None:
        return Source(str(path), data, None)
    return Source(str(path), data, parser(path.suffix in CPP_SUFFIXES).parse(data))
