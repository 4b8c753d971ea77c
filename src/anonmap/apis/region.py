"""What every call interface hands a check: a ``Region`` with one read/write surface, and the
mmap constants every platform's mmap module exports."""

from __future__ import annotations

import mmap
from typing import Protocol

PAGE = mmap.PAGESIZE
PROT_READ = mmap.PROT_READ
PROT_WRITE = mmap.PROT_WRITE
PROT_RW = PROT_READ | PROT_WRITE
#: 0 in every sys/mman.h here (Linux's mman-common.h, the BSDs', XNU's, illumos'); the mmap
#: module does not export it.
PROT_NONE = 0
PROT_EXEC = mmap.PROT_EXEC
MAP_SHARED = mmap.MAP_SHARED
MAP_PRIVATE = mmap.MAP_PRIVATE

SHARING_FLAGS = {"shared": MAP_SHARED, "private": MAP_PRIVATE}


class Region(Protocol):
    """A mapping, whichever call interface made it. Offsets are relative to its start."""

    length: int

    def read(self, offset: int, size: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...

    def advise(self, advice: int) -> None: ...

    def unmap(self) -> None: ...
