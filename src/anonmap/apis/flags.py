"""Flag values: from the platform's own ``mmap`` module first, then from the profile.

The profile supplies only what CPython does not export (MAP_FIXED, a flag bit the platform
leaves unused), each with the header that defines it.
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
    def __init__(self, from_profile: Mapping[str, int]) -> None:
        self._from_profile = dict(from_profile)

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
        if name in self._from_profile:
            return self._from_profile[name]
        raise UndefinedName(name)

    def anonymous(self) -> int:
        """The anonymous flag under whichever name the platform defines."""
        for name in ANONYMOUS_NAMES:
            if self.module_value(name) is not None or name in self._from_profile:
                return self.value(name)
        raise UndefinedName(" and ".join(ANONYMOUS_NAMES))
