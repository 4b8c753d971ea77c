"""Flag values: from the platform's own ``mmap`` module first, then from its ``<sys/mman.h>``
as this machine's C compiler reads it (``anonmap.host.headers``), then from the profile.

The profile supplies what CPython does not export (MAP_FIXED, a flag bit the platform leaves
unused), each with the header that defines it; where the run has the header itself, a name it
defines is never 'absent' for want of a profile entry.
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping

from anonmap.expect import shared_values
from anonmap.run.ending import EndsWith

#: The names under which the anonymous flag may appear, preferred first.
ANONYMOUS_NAMES = ("MAP_ANONYMOUS", "MAP_ANON")


class UndefinedName(EndsWith):
    """The name is defined neither by the mmap module nor by the profile."""

    def __init__(self, name: str) -> None:
        super().__init__("absent", shared_values.UNDEFINED_NAME.format(name=name))


class Flags:
    def __init__(self, from_profile: Mapping[str, int], from_header: Mapping[str, int] | None = None) -> None:
        self._from_profile = dict(from_profile)
        self._from_header = dict(from_header or {})

    def module_value(self, name: str) -> int | None:
        """The value CPython was built with, or None where its headers lack the name."""
        value = getattr(mmap, name, None)
        return value if isinstance(value, int) else None

    def known(self, name: str) -> int | None:
        """``value``, or None where neither the mmap module nor the profile defines the name."""
        try:
            return self.value(name)
        except UndefinedName:
            return None

    def value(self, name: str) -> int:
        module = self.module_value(name)
        if module is not None:
            return module
        if name in self._from_header:
            return self._from_header[name]
        if name in self._from_profile:
            return self._from_profile[name]
        raise UndefinedName(name)

    def anonymous(self) -> int:
        """The anonymous flag under whichever name the platform defines."""
        for name in ANONYMOUS_NAMES:
            if self.module_value(name) is not None or name in self._from_profile:
                return self.value(name)
        raise UndefinedName(" and ".join(ANONYMOUS_NAMES))
