"""One word per errno: the name an errno number is recorded by, whichever api met it.

A platform may give one number two names (on Linux, ENOTSUP and EOPNOTSUPP are both 95). The
outcome is then always the canonical name, so that the libc and python apis (through Python's
errno table) and the observer (through its own, ``data/observer/abi.h``) record the same word.
"""

from __future__ import annotations

import errno

#: Each alias and its canonical name, applied only where the platform gives both one number
#: (OpenBSD's ENOTSUP 91 and EOPNOTSUPP 45 stay two outcomes).
CANONICAL = {
    # Linux include/uapi/asm-generic/errno.h and FreeBSD sys/sys/errno.h define EOPNOTSUPP
    # and make ENOTSUP the same number; the kernels return it under that name (Linux
    # mm/mmap.c do_mmap(): MAP_SHARED_VALIDATE), and the observer reports it so.
    "ENOTSUP": "EOPNOTSUPP",
    # POSIX documents EAGAIN for mmap() and mlock(); EWOULDBLOCK is defined as EAGAIN.
    "EWOULDBLOCK": "EAGAIN",
    # POSIX's name; Linux asm-generic/errno.h has "#define EDEADLOCK EDEADLK".
    "EDEADLOCK": "EDEADLK",
}


def name(number: int) -> str:
    """The outcome word for errno ``number`` on this platform: its canonical name, or
    E<number> where the platform names it not (as the observer does)."""
    word = errno.errorcode.get(number, f"E{number}")
    canonical = CANONICAL.get(word)
    if canonical is not None and getattr(errno, canonical, None) == number:
        return canonical
    return word


def by_number() -> dict[int, str]:
    """Every errno number this platform's Python knows, with its outcome word: the observer's
    table when it is built for this machine."""
    return {number: name(number) for number in sorted(errno.errorcode)}


def spellings() -> tuple[str, ...]:
    """Every errno name Python knows anywhere, canonical names first: a C-library observer
    looks each up in its target's <errno.h>, and the first entry a number matches names it."""
    known = {name for name in dir(errno) if name.startswith("E") and isinstance(getattr(errno, name), int)}
    known |= set(CANONICAL) | set(CANONICAL.values())
    return (*sorted(known - set(CANONICAL)), *sorted(CANONICAL))
