"""sysctlbyname(3) through ctypes, for the BSDs and macOS; None wherever it cannot answer.

The probe reads a few facts this way (Rosetta, jails, NetBSD's machine_arch). A name the
kernel does not have (ENOENT: macOS without Rosetta, a FreeBSD without jails) is None, as
Apple's own tests treat it (xnu tests/setitimer.c processIsTranslated()).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

_HAS_SYSCTLBYNAME = sys.platform.startswith(("darwin", "freebsd", "netbsd", "openbsd", "dragonfly"))


@functools.cache
def _function() -> Callable[..., int] | None:
    if not _HAS_SYSCTLBYNAME:
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sysctlbyname
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = [
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    return function


def integer(name: str) -> int | None:
    """An int-valued sysctl, or None."""
    function = _function()
    if function is None:
        return None
    value = ctypes.c_int(0)
    size = ctypes.c_size_t(ctypes.sizeof(value))
    if function(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
        return None
    return value.value


def text(name: str) -> str | None:
    """A string-valued sysctl, or None."""
    function = _function()
    if function is None:
        return None
    buffer = ctypes.create_string_buffer(256)
    size = ctypes.c_size_t(ctypes.sizeof(buffer))
    if function(name.encode(), buffer, ctypes.byref(size), None, 0) != 0:
        return None
    return buffer.value.decode(errors="replace")
