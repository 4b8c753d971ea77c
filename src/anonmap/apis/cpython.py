"""The ``python`` api: CPython's ``mmap`` module, its exceptions observed as outcomes."""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator

from anonmap.apis.region import PROT_RW
from anonmap.run.ending import CallRefused, EndsWith


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
            raise EndsWith("TypeError", f"mmap write: {error}") from error

    def unmap(self) -> None:
        self.mapped.close()

    def advise(self, advice: int) -> None:
        with python_errors("mmap.madvise"):
            self.mapped.madvise(advice)


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
        raise EndsWith(type(error).__name__, f"{call}: {error}") from error
