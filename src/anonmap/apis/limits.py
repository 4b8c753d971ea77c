"""The environment's resource limits, as a check that maps a lot of memory meets them."""

from __future__ import annotations

import os
import resource
import sys

from anonmap.apis.region import PAGE, PROT_NONE
from anonmap.expect import shared_values
from anonmap.run.ending import Unsupported


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


def address_space_in_use() -> int:
    """Bytes this process maps now, as Linux's proc(5) /proc/self/statm gives them (its first
    field, in pages); 0 where no procfs says, and only the size itself is held to the limit."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def room_for(size: int, limits: tuple[str, ...] = ("RLIMIT_AS", "RLIMIT_DATA")) -> None:
    """Raise ``Unsupported`` when this environment cannot even ask for ``size`` bytes of
    address space: a 32-bit process, or one of ``limits`` below it. RLIMIT_AS counts what the
    process maps already too (setrlimit(2)), so a limit of exactly ``size`` leaves no room."""
    if size > sys.maxsize:
        raise Unsupported(f"{size >> 30} GiB does not fit this process's address space")
    for name in limits:
        which = getattr(resource, name, None)
        soft = resource.RLIM_INFINITY if which is None else resource.getrlimit(which)[0]
        in_use = address_space_in_use() if name == "RLIMIT_AS" else 0
        if soft != resource.RLIM_INFINITY and soft < size + in_use:
            raise Unsupported(
                f"{name} is {soft >> 20} MiB, below the {size >> 30} GiB this case maps"
                f"{f' and the {in_use >> 20} MiB this process maps already' if in_use else ''}: the environment's limit"
            )


def limits_counting(prot: int) -> tuple[str, ...]:
    """The resource limits this platform holds an anonymous private mapping of ``prot`` to:
    RLIMIT_AS always, RLIMIT_DATA only where the platform counts such a mapping
    (shared_values.DATA_LIMIT_COUNTS), so a data limit the environment sets withholds only the
    cases it would refuse."""
    counts = shared_values.DATA_LIMIT_COUNTS.get(os.uname().sysname.lower(), "")
    if counts == "every" or (counts == "writable" and prot != PROT_NONE):
        return ("RLIMIT_AS", "RLIMIT_DATA")
    return ("RLIMIT_AS",)
