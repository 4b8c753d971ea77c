"""The real calls: libc's mmap family through ctypes, and CPython's ``mmap`` module.

Both layers hand back a ``Region`` with the same read/write surface, so one check serves both.
A refused call raises ``CallRefused`` carrying the errno's name: that name is the outcome.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import resource
import sys
from collections.abc import Callable, Iterator
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


class Observed(Exception):
    """Raised inside a check to end it with an outcome word other than its return value."""

    def __init__(self, outcome: str, detail: str) -> None:
        self.outcome = outcome
        super().__init__(detail)


class Unsupported(Exception):
    """Raised inside a check when the environment withholds what it needs (a descriptor slot,
    a temporary file, a nested fork): the case is unsupported here, with this reason."""


class CallRefused(Observed):
    """A call failed; its outcome is the errno's symbolic name."""

    def __init__(self, call: str, number: int) -> None:
        name = errno.errorcode.get(number, f"E{number}")
        super().__init__(name, f"{call}: {name} ({os.strerror(number)})")


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

MAP_FAILED = ctypes.c_void_p(-1).value


def _check(call: str, result: int) -> None:
    if result != 0:
        raise CallRefused(call, ctypes.get_errno())


class Region(Protocol):
    """A mapping, whichever call interface made it. Offsets are relative to its start."""

    length: int

    def read(self, offset: int, size: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...

    def advise(self, advice: int) -> None: ...

    def unmap(self) -> None: ...


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


class PythonRegion:
    """A mapping made by CPython's mmap module."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self.mapped = mapped
        self.length = len(mapped)

    def read(self, offset: int, size: int) -> bytes:
        return self.mapped[offset : offset + size]

    def write(self, offset: int, data: bytes) -> None:
        try:
            self.mapped[offset : offset + len(data)] = data
        except TypeError as error:  # a read-only mmap object refuses before any store
            raise Observed("TypeError", f"mmap write: {error}") from error

    def unmap(self) -> None:
        self.mapped.close()

    def advise(self, advice: int) -> None:
        with python_errors("mmap.madvise"):
            self.mapped.madvise(advice)


def limit_data(limit: int) -> None:
    """Lower this process's soft RLIMIT_DATA to ``limit`` (in a check's child only): a case
    about what the limit counts sets it itself. Unsupported where the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY and hard < limit:
        raise Unsupported(
            f"the hard RLIMIT_DATA is {hard >> 20} MiB, below the {limit >> 20} MiB the case sets"
        )
    if soft == resource.RLIM_INFINITY or soft > limit:
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        except (OSError, ValueError) as error:
            # macOS 12+ refuses a data limit below what the process maps already (its shared
            # region alone is gigabytes: xnu vm_map_set_data_limit()).
            raise Unsupported(f"RLIMIT_DATA cannot be lowered to {limit >> 20} MiB here: {error}") from error


def room_for(size: int, limits: tuple[str, ...] = ("RLIMIT_AS", "RLIMIT_DATA")) -> None:
    """Raise ``Unsupported`` when this environment cannot even ask for ``size`` bytes of
    address space: a 32-bit process, or one of ``limits`` below it."""
    if size > sys.maxsize:
        raise Unsupported(f"{size >> 30} GiB does not fit this process's address space")
    for name in limits:
        which = getattr(resource, name, None)
        soft = resource.RLIM_INFINITY if which is None else resource.getrlimit(which)[0]
        if soft != resource.RLIM_INFINITY and soft < size:
            raise Unsupported(
                f"{name} is {soft >> 20} MiB, below the {size >> 30} GiB this case maps: the environment's limit"
            )


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
        raise Observed("absent", "libc has no minherit()")
    _check("minherit", _minherit(address, length, inherit))


def map_libc(length: int, flags: int, fd: int = -1, offset: int = 0, prot: int = PROT_RW) -> LibcRegion:
    return LibcRegion(mmap_raw(None, length, prot, flags, fd, offset), length)


def map_python(length: int, flags: int, fd: int = -1, offset: int = 0, prot: int = PROT_RW) -> PythonRegion:
    """Through ``mmap.mmap``; its OSError becomes ``CallRefused`` like libc's, and an argument
    CPython itself refuses before calling mmap is observed by the exception's name."""
    with python_errors("mmap.mmap"):
        return PythonRegion(mmap.mmap(fd, length, flags=flags, prot=prot, offset=offset))


def map_python_defaults(length: int) -> PythonRegion:
    """``mmap.mmap(-1, length)`` with no flags or prot given: what CPython's defaults map."""
    with python_errors("mmap.mmap"):
        return PythonRegion(mmap.mmap(-1, length))


@contextlib.contextmanager
def python_errors(call: str) -> Iterator[None]:
    """A call into CPython's mmap module: its OSError becomes ``CallRefused`` like libc's, and
    an argument or operation CPython itself refuses is observed by the exception's name."""
    try:
        yield
    except OSError as error:
        if error.errno is None:
            raise
        raise CallRefused(call, error.errno) from error
    except (ValueError, TypeError, OverflowError, SystemError, AttributeError) as error:
        raise Observed(type(error).__name__, f"{call}: {error}") from error


#: The call interfaces, by their name in case ids (the catalogue's ``api`` parameter): each
#: maps anonymous or file memory and hands back a ``Region``.
APIS: dict[str, Callable[..., Region]] = {"libc": map_libc, "python": map_python}
#: The call interface whose cases run out of process, in the freestanding observer (raw system
#: calls, no libc: ``anonmap.observer``), and are judged from what it printed.
OBSERVER_API = "syscall"


def map_region(
    api: str, length: int, flags: int, fd: int = -1, offset: int = 0, prot: int = PROT_RW
) -> Region:
    """Map through the named call interface (see ``APIS``)."""
    if api not in APIS:
        raise ValueError(f"unknown call interface {api!r} (known: {', '.join(APIS)})")
    return APIS[api](length, flags, fd, offset, prot)
