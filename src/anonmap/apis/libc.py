"""The ``libc`` api: libc's mmap family through ctypes, each refusal a ``CallRefused``."""

from __future__ import annotations

import ctypes
import sys

from anonmap.apis.region import PROT_RW
from anonmap.run.ending import CallRefused, EndsWith

# Resolved from the global symbol scope, not a libc handle, so that a preloaded library
# that interposes mmap (the project's emulation shims) is the one called.
_libc = ctypes.CDLL(None, use_errno=True)
# off_t is 64-bit on the BSDs, macOS and 64-bit Linux; on 32-bit Linux the plain mmap symbol
# takes a 32-bit off_t, which is C long there.
_OFF_T = ctypes.c_long if sys.platform.startswith("linux") else ctypes.c_int64

_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, _OFF_T]
_munmap = _libc.munmap
_munmap.restype = ctypes.c_int
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_mprotect = _libc.mprotect
_mprotect.restype = ctypes.c_int
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_madvise = _libc.madvise
_madvise.restype = ctypes.c_int
_madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

# minherit(2) is the BSDs' and macOS's; glibc and musl have none, and then the case is 'absent'.
_minherit = getattr(_libc, "minherit", None)
if _minherit is not None:
    _minherit.restype = ctypes.c_int
    _minherit.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

# Apple silicon's per-thread switch between writing and executing MAP_JIT memory (macOS 11).
_jit_write_protect = getattr(_libc, "pthread_jit_write_protect_np", None)
if _jit_write_protect is not None:
    _jit_write_protect.restype = None
    _jit_write_protect.argtypes = [ctypes.c_int]

# getpagesize(3): glibc, musl, the BSDs and macOS all define it (POSIX.1-2001 removed it).
_getpagesize = getattr(_libc, "getpagesize", None)
if _getpagesize is not None:
    _getpagesize.restype = ctypes.c_int
    _getpagesize.argtypes = []

MAP_FAILED = ctypes.c_void_p(-1).value


def _check(call: str, result: int) -> None:
    if result != 0:
        raise CallRefused(call, ctypes.get_errno())


class LibcRegion:
    """A mapping made by libc's mmap; it knows its address, so it can also fault."""

    def __init__(self, address: int, length: int) -> None:
        self.address = address
        self.length = length

    def read(self, offset: int, size: int) -> bytes:
        return ctypes.string_at(self.address + offset, size)

    def write(self, offset: int, data: bytes) -> None:
        ctypes.memmove(self.address + offset, data, len(data))

    def unmap(self) -> None:
        munmap(self.address, self.length)

    def protect(self, prot: int) -> None:
        mprotect(self.address, self.length, prot)

    def advise(self, advice: int) -> None:
        madvise(self.address, self.length, advice)

    def inherit(self, inherit: int) -> None:
        minherit(self.address, self.length, inherit)


def mmap_raw(address: int | None, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """libc mmap; the mapped address, or ``CallRefused``."""
    ctypes.set_errno(0)
    result = _mmap(address, length, prot, flags, fd, offset)
    if result == MAP_FAILED or result is None:
        raise CallRefused("mmap", ctypes.get_errno())
    return int(result)


def munmap(address: int, length: int) -> None:
    _check("munmap", _munmap(address, length))


def mprotect(address: int, length: int, prot: int) -> None:
    _check("mprotect", _mprotect(address, length, prot))


def madvise(address: int, length: int, advice: int) -> None:
    _check("madvise", _madvise(address, length, advice))


def jit_write_protect(enabled: bool) -> None:
    """pthread_jit_write_protect_np() where libc has it: MAP_JIT memory is writable by this
    thread while it is off, executable while it is on; nothing to do elsewhere."""
    if _jit_write_protect is not None:
        _jit_write_protect(int(enabled))


def run_code(address: int) -> int:
    """Call the machine code at ``address`` as ``int f(void)``."""
    return int(ctypes.CFUNCTYPE(ctypes.c_int)(address)())


def minherit(address: int, length: int, inherit: int) -> None:
    if _minherit is None:
        raise EndsWith("absent", "libc has no minherit()")
    _check("minherit", _minherit(address, length, inherit))


def getpagesize() -> int:
    if _getpagesize is None:
        raise EndsWith("absent", "libc has no getpagesize()")
    return int(_getpagesize())


def map_libc(length: int, flags: int, fd: int = -1, offset: int = 0, prot: int = PROT_RW) -> LibcRegion:
    return LibcRegion(mmap_raw(None, length, prot, flags, fd, offset), length)
