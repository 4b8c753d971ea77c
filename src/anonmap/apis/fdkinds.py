"""The file descriptors the checks pass, made for real in the check's child, and how what a
mapping reads back is named."""

from __future__ import annotations

import os
import resource
import tempfile

from anonmap.apis.region import PAGE
from anonmap.expect import shared_values
from anonmap.expect.shared_values import PLACED_FD
from anonmap.run.ending import Unsupported

FILE_BYTE = bytes([shared_values.FILE_BYTE])


def placed(handle: int) -> int:
    """Move ``handle`` to PLACED_FD and return PLACED_FD. In the check's child a descriptor
    inherited at that number is the runner's, not the child's business: dup2 replaces it."""
    try:
        os.dup2(handle, PLACED_FD)
    except OSError as error:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        raise Unsupported(
            f"{shared_values.PLACED_FD_REFUSED}: {error.strerror} (RLIMIT_NOFILE is {limit})"
        ) from error
    os.close(handle)
    return PLACED_FD


def regular_file() -> int:
    """An fd on an unlinked temporary file of FILE_PAGES pages of FILE_BYTE, read-write."""
    try:
        handle, path = tempfile.mkstemp(prefix="anonmap-")
        os.unlink(path)
        data = FILE_BYTE * (PAGE * shared_values.FILE_PAGES)
        if os.write(handle, data) != len(data):
            raise OSError(0, "short write")
    except OSError as error:
        raise Unsupported(f"{shared_values.NO_REGULAR_FILE}: {error.strerror or error}") from error
    return handle


def dev_zero(flags: int = os.O_RDWR) -> int:
    try:
        return os.open("/dev/zero", flags)
    except OSError as error:
        raise Unsupported(f"{shared_values.NO_DEV_ZERO}: {error.strerror}") from error


def closed() -> int:
    """The number of a descriptor that was open a moment ago and is now closed."""
    handle = placed(os.open(os.devnull, os.O_RDONLY))
    os.close(handle)
    return handle


def content(data: bytes) -> str:
    """'zero', 'file-bytes' or 'nonzero' for what a mapping read back."""
    if not data.strip(b"\0"):
        return "zero"
    if not data.strip(FILE_BYTE):
        return "file-bytes"
    return "nonzero"


def apart(seen: bytes) -> str:
    """What a second mapping reads once shared_values.FIRST was written to the first:
    'aliased' only when it shows those bytes, 'independent' when it reads zero, else what it
    holds (memory that is merely not zero is not a sign of aliasing)."""
    if seen == shared_values.FIRST:
        return "aliased"
    return "independent" if not seen.strip(b"\0") else content(seen)
