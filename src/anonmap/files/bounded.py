"""Input files read whole, but only when they are regular files of a bounded size: a FIFO
would block the reader forever, /dev/zero would never end, and a file far larger than any the
reader expects is not one of them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Unreadable(Exception):
    """The file cannot be read as an input; the message is one line naming it."""


def _checked(path: Path, info: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise Unreadable(f"{path}: is {kind}, not {what}")
    if info.st_size > limit:
        raise Unreadable(f"{path}: is {info.st_size} bytes, more than the {limit >> 20} MiB {what} may be")


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` (``what`` names what it should be, as in "a results file"),
    refused before a byte is read unless it is a regular file of at most ``limit`` bytes."""
    try:
        _checked(path, os.stat(path), limit, what)
        # O_NONBLOCK: should the path become a FIFO after the stat, opening it does not wait.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        raise Unreadable(f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}") from error
    with os.fdopen(handle, "rb") as stream:
        try:
            _checked(path, os.fstat(handle), limit, what)
            data = stream.read(limit + 1)
        except OSError as error:
            raise Unreadable(f"{path}: cannot be read: {error.strerror or error}") from error
    if len(data) > limit:
        raise Unreadable(f"{path}: grew past the {limit >> 20} MiB {what} may be while read")
    return data
