"""The call interfaces, by their name in case ids: one entry for each value of the catalogue's
``api`` parameter, all of one shape (``interface.CallInterface``)."""

from __future__ import annotations

from anonmap.apis.cpython import map_python
from anonmap.apis.interface import CallInterface, InProcess
from anonmap.apis.libc import map_libc
from anonmap.apis.region import PROT_RW, Region
from anonmap.apis.syscall.entry import Observer
from anonmap.expect.catalogue import Case

APIS: dict[str, CallInterface] = {
    entry.name: entry for entry in (InProcess("libc", map_libc), InProcess("python", map_python), Observer())
}


class UnknownInterface(LookupError):
    """A name the registry has no entry for."""


def entry(name: str) -> CallInterface:
    """The entry named ``name``; every api the catalogue declares has one (a selftest holds
    the two to each other)."""
    if name not in APIS:
        raise UnknownInterface(f"unknown call interface {name!r} (known: {', '.join(APIS)})")
    return APIS[name]


def unregistered(apis: tuple[str, ...]) -> str:
    """What is wrong when the catalogue's ``api`` values are not the registry's entries, or ''."""
    missing = [name for name in apis if name not in APIS]
    if not missing:
        return ""
    return (
        f"[parameter.api]: {', '.join(missing)} has no entry in anonmap.apis.registry "
        f"(its call interfaces: {', '.join(APIS)})"
    )


def of(case: Case) -> CallInterface | None:
    """The entry a case's ``api`` names, or None for a case that maps through none (the C layer)."""
    api = case.params.get("api")
    return None if api is None else entry(api)


def map_region(
    api: str, length: int, flags: int, fd: int = -1, offset: int = 0, prot: int = PROT_RW
) -> Region:
    """Map through the named call interface, from inside a check."""
    return entry(api).map(length, flags, fd, offset, prot)
