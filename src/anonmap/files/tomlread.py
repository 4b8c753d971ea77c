"""TOML parsing on every supported Python (tomllib from 3.11, tomli before)."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib as toml
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as toml

loads = toml.loads
TOMLDecodeError = toml.TOMLDecodeError

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*[=.]")


class Lines:
    """Where tables and keys stand in the file, since the TOML parser does not say."""

    def __init__(self, text: str) -> None:
        self.tables: dict[str, list[int]] = {}
        self._keys: dict[int, dict[str, int]] = {}
        current = 0
        self._keys[0] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if header := _HEADER.match(line):
                current = number
                self.tables.setdefault(header.group(1), []).append(number)
                self._keys[current] = {}
            elif key := _KEY.match(line):
                self._keys[current].setdefault(key.group(1), number)

    def table(self, name: str, index: int = 0) -> int:
        found = self.tables.get(name, [])
        return found[index] if index < len(found) else 1

    def key(self, table_line: int, key: str) -> int:
        """The line of ``key`` in the table starting at ``table_line`` (0: the top level)."""
        return self._keys.get(table_line, {}).get(key, table_line or 1)
