"""Values read back from a JSON file, checked before anything trusts them: each problem a
``Malformed`` that names the key and shows the value, quoted and cut short."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

# Line breaks and other control characters would break the one-line places these go: a
# Markdown table cell, a comment in a draft profile, a terminal line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Malformed(ValueError):
    """A value in a results file that is not what the schema says; the message names the key."""


def quoted(value: object) -> str:
    """A value as an error message shows it: a string as Python quotes it (control characters
    escaped), anything else as JSON, cut short."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= 60 else f"{text[:57]}..."


def quoted_names(names: Sequence[object], most: int = 5) -> str:
    """Names as an error message lists them: quoted, and no more than ``most``."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(quoted(name) for name in names[:most]) + more


def checked_text(key: str, value: object, *, one_line: bool = True, empty: bool = True) -> str:
    """``value``, if it is text fit for ``key``; Malformed naming the key otherwise."""
    if not isinstance(value, str):
        raise Malformed(f"key {key!r}: expected a string, found {quoted(value)}")
    if not (empty or value):
        raise Malformed(f"key {key!r}: is empty")
    if one_line and _CONTROL.search(value):
        raise Malformed(f"key {key!r}: holds a line break or control character: {quoted(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            # JSON's \ud800 escapes decode to lone surrogates, which no output can encode.
            raise Malformed(
                f"key {key!r}: is not Unicode text (a lone surrogate): {quoted(value)}"
            ) from error
    return value
