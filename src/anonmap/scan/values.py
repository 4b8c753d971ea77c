"""What an argument can be: its text with the file's object-like macros (every definition, in
every #if branch), the function's local variables (and the file's globals) and a thin
wrapper's parameters replaced, as alternatives that each carry the preprocessor conditions they
need. Bounded everywhere: a macro never expands inside itself, and the alternatives, the steps
and the length of a text are capped, past which the value is left unresolved.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

from anonmap.scan.source import NO_CONDS, Conds, Source, conditions, consistent, text
from anonmap.scan.source import parameters as _parameters

MAX_ALTERNATIVES = 32
MAX_STEPS = 400
MAX_LENGTH = 2048
_IDENTIFIER = re.compile(r"(?<![\w.>])[A-Za-z_]\w*")
#: Names a rule knows: whatever else is left in a value is unresolved.
_KNOWN = re.compile(r"(MAP|PROT)_\w+|NULL")
#: Parts of a value that never set a flag: NetBSD's PROT_MPROTECT(...) and FreeBSD's
#: PROT_MAX(...) ask for later permissions, and ~X clears X.
_NOT_SET = re.compile(r"PROT_(?:MPROTECT|MAX)\s*\(|~\s*\(|~\s*\w+")
#: The innermost 'c ? a : b': either side is one alternative of the value.
_TERNARY = re.compile(r"\(([^()?:]*)\?([^()?:]*):([^()?:]*)\)")
_ASSIGNMENT_QUERY = """
(assignment_expression left: (identifier) @left operator: _ @op right: (_) @right) @assign
(init_declarator declarator: (identifier) @left value: (_) @right) @assign
"""


@dataclasses.dataclass(frozen=True)
class Value:
    text: str
    conds: Conds
    complete: bool

    @functools.cached_property
    def names(self) -> frozenset[str]:
        return frozenset(_IDENTIFIER.findall(_strip_not_set(self.text)))

    def number(self) -> int | None:
        """The value where it is an integer literal expression ('-1', '(0)', '(void *)0x1000')."""
        stripped = re.sub(r"\([A-Za-z_][\w\s]*\**\s*\)", "", self.text)
        stripped = stripped.replace(" ", "").replace("(", "").replace(")", "")
        match = re.fullmatch(r"(-?)(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", stripped)
        if match is None:
            return None
        number = int(match.group(2), 0)
        return -number if match.group(1) else number

    def is_call(self) -> bool:
        return re.fullmatch(r"\s*\(*\s*[A-Za-z_]\w*\s*\(.*\)\s*\)*\s*", self.text, re.S) is not None


@dataclasses.dataclass(frozen=True)
class _Piece:
    operator: str
    value: str
    conds: Conds


class Resolver:
    def __init__(self, source: Source) -> None:
        self.source = source

    @functools.cached_property
    def _globals(self) -> dict[str, list[_Piece]]:
        # Assignments anywhere in the file: a global is often set in one function, used in another.
        return _assignments(self.source, self.source.tree.root_node, top_level_only=False)

    @functools.cache  # noqa: B019 - one resolver per file, dropped with it
    def _locals(self, function: Any) -> dict[str, list[_Piece]]:
        return _assignments(self.source, function, top_level_only=False)

    def values(
        self, node: Any, function: Any | None, params: dict[str, list[Value]] | None = None
    ) -> list[Value]:
        """The alternatives for an argument node, read in ``function``'s scope."""
        return self.resolve(text(node), conditions(node), function, params or {})

    def resolve(
        self, start: str, conds: Conds, function: Any | None, params: dict[str, list[Value]]
    ) -> list[Value]:
        done: list[Value] = []
        pending = [(start, conds, frozenset[str](), True)]
        steps = 0
        while pending and len(done) < MAX_ALTERNATIVES:
            current, where, expanded, complete = pending.pop()
            steps += 1
            choice = None if steps > MAX_STEPS else self._first_known(current, expanded, function, params)
            if choice is None:
                leftover = {n for n in _IDENTIFIER.findall(current) if not _KNOWN.fullmatch(n)}
                done += _split_ternaries(
                    Value(current, where, complete and not leftover and steps <= MAX_STEPS)
                )
                continue
            match, alternatives = choice
            for alternative in alternatives:
                if not consistent(where, alternative.conds):
                    continue
                replaced = f"{current[: match.start()]}({alternative.text}){current[match.end() :]}"
                if len(replaced) > MAX_LENGTH:
                    done.append(Value(current, where, False))
                    continue
                pending.append(
                    (
                        replaced,
                        where | alternative.conds,
                        expanded | {match.group()},
                        complete and alternative.complete,
                    )
                )
        return done

    def _first_known(
        self, current: str, expanded: frozenset[str], function: Any | None, params: dict[str, list[Value]]
    ) -> tuple[re.Match[str], list[Value]] | None:
        for match in _IDENTIFIER.finditer(current):
            name = match.group()
            if name in expanded or _KNOWN.fullmatch(name):
                continue
            if name in params:
                return match, params[name]
            local = self._locals(function).get(name) if function is not None else None
            # A parameter is the caller's to say (a wrapper's site passes it); never a global.
            shadowed = function is not None and name in _parameters(function)
            pieces = local or (None if shadowed else self._globals.get(name))
            if pieces:
                return match, _combine(pieces)
            if defines := self.source.defines.get(name):
                return match, [Value(d.value, d.conds, True) for d in defines]
        return None


def _strip_not_set(value: str) -> str:
    """``value`` without the parts that set no flag, parentheses matched."""
    while (match := _NOT_SET.search(value)) is not None:
        end = match.end()
        if value[end - 1] == "(":
            depth = 1
            while end < len(value) and depth:
                depth += {"(": 1, ")": -1}.get(value[end], 0)
                end += 1
        value = value[: match.start()] + " " + value[end:]
    return value


def _split_ternaries(value: Value) -> list[Value]:
    """A value with 'c ? a : b' in it, as the alternatives with a and with b."""
    found: list[Value] = []
    pending = [value]
    while pending and len(found) < MAX_ALTERNATIVES:
        current = pending.pop()
        match = _TERNARY.search(current.text)
        if match is None:
            found.append(current)
            continue
        for side in (match.group(2), match.group(3)):
            text = f"{current.text[: match.start()]}({side}){current.text[match.end() :]}"
            pending.append(Value(text, current.conds, current.complete))
    return found


def _combine(pieces: list[_Piece]) -> list[Value]:
    """A variable's values: each plain assignment, with every '|=' added (a '|=' under an #if
    both with and without it), flow-insensitively."""
    bases = [p for p in pieces if p.operator == "="]
    ors = [p for p in pieces if p.operator == "|="]
    found = [Value(b.value, b.conds, True) for b in bases] or [Value("0", NO_CONDS, False)]
    for piece in ors:
        grown = [Value(f"{v.text} | ({piece.value})", v.conds | piece.conds, v.complete) for v in found]
        found = (grown + found if piece.conds else grown)[:MAX_ALTERNATIVES]
    return found


def _assignments(source: Source, scope: Any, top_level_only: bool) -> dict[str, list[_Piece]]:
    import tree_sitter

    query = _assignment_query(source.tree.language)
    found: dict[str, list[_Piece]] = {}
    for _, captured in tree_sitter.QueryCursor(query).matches(scope):
        (assign,), (left,), (right,) = captured["assign"], captured["left"], captured["right"]
        if top_level_only and _inside_function(assign):
            continue
        operator = text(captured["op"][0]) if "op" in captured else "="
        if operator in ("=", "|="):
            found.setdefault(text(left), []).append(_Piece(operator, text(right), conditions(assign)))
    return found


def _inside_function(node: Any) -> bool:
    current = node.parent
    while current is not None:
        if current.type == "function_definition":
            return True
        current = current.parent
    return False


@functools.cache
def _assignment_query(language: Any) -> Any:
    import tree_sitter

    return tree_sitter.Query(language, _ASSIGNMENT_QUERY)
