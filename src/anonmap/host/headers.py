"""What this platform's own ``<sys/mman.h>`` defines, asked of its C compiler: the flag values a
check's program names, so that a name the header defines is never 'absent' because the mmap
module and the profile leave it out."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence

from anonmap.host import compilers

#: The catalogue's names that headers spell otherwise, each spelling tried in order: minherit's
#: values are INHERIT_* on FreeBSD (sys/sys/mman.h) and MAP_INHERIT_* on OpenBSD and NetBSD
#: (their sys/sys/mman.h); MAP_ALIGNED_21 is the macro MAP_ALIGNED(21) of FreeBSD and NetBSD.
SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "INHERIT_NONE": ("INHERIT_NONE", "MAP_INHERIT_NONE"),
    "INHERIT_ZERO": ("INHERIT_ZERO", "MAP_INHERIT_ZERO"),
    "INHERIT_SHARE": ("INHERIT_SHARE", "MAP_INHERIT_SHARE"),
    "MAP_ALIGNED_21": ("MAP_ALIGNED(21)",),
}
_SUFFIXED = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b")
_BINARY: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
}
_UNARY: dict[type[ast.unaryop], Callable[[int], int]] = {ast.USub: lambda a: -a, ast.Invert: lambda a: ~a}


def _value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if left is None or right is None or (isinstance(node.op, ast.LShift) and not 0 <= right < 64):
            return None
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _value(node.operand)
        return None if operand is None else _UNARY[type(node.op)](operand)
    return None


def evaluate(expansion: str) -> int | None:
    """An integer constant expression of literals, parentheses, shifts, | & + - ~, or None
    (a cast, a name, anything else the header's macro expands to)."""
    try:
        tree = ast.parse(_SUFFIXED.sub(lambda m: m.group(1), expansion), mode="eval")
    except SyntaxError:
        return None
    return _value(tree.body)


def _native(paths: Mapping[str, str], arch: str, time_limit: float) -> str:
    """The first of ``compilers.NATIVE`` in ``paths`` that builds and runs programs for
    ``arch`` (another architecture's header is not this platform's), or ''. ``compilers.check``
    is once a process, shared with the observer's build and the C layer."""
    for compiler in compilers.NATIVE:
        path = paths.get(compiler, "")
        if path and not compilers.check(path, arch, time_limit).unsupported:
            return path
    return ""


def mman_values(
    paths: Mapping[str, str], arch: str, names: Sequence[str], time_limit: float
) -> dict[str, int]:
    """Each of ``names`` the header defines, with its value, as the first native compiler for
    ``arch`` reads it; empty where there is none or the header cannot be read."""
    path = _native(paths, arch, time_limit)
    if not path:
        return {}
    spelled = {name: SPELLINGS.get(name, (name,)) for name in names}
    expressions = list(dict.fromkeys(s for spellings in spelled.values() for s in spellings))
    keys = {expression: f"k{i}" for i, expression in enumerate(expressions)}
    done, expanded = compilers.expansions(path, (), {keys[e]: e for e in expressions}, time_limit)
    if not done.ok:
        return {}
    # An undefined macro expands to itself, a name or a call: no constant, so no value.
    found = {
        name: next((v for s in spellings if (v := evaluate(expanded.get(keys[s], ""))) is not None), None)
        for name, spellings in spelled.items()
    }
    return {name: value for name, value in found.items() if value is not None}
