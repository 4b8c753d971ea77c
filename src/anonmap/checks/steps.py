"""The language a system-call-level check is written in, once: a program of steps that both
executors run, the Python one (``anonmap.apis.executor``, through libc's functions or CPython's
mmap module) and the observer's (``execute()`` in ``data/observer/observer.c``, through raw
system calls or the C library), as syzkaller's executor runs programs described once.

A program is straight-line: whatever depends on the case's parameters is decided when the
program is built (``anonmap.checks.programs``), so the observer's copy of it is a table in its
generated ``cases.h``. Whatever depends on the platform is a step: the page size (every length
and offset is a ``Span`` of pages and bytes), flag values (by name, resolved where the step
runs; a name the platform lacks ends the check with the outcome ``absent``), what memory reads
back, what a forked child sees. A program ends at its first step that names an outcome.

The steps, and what each does where it runs (``reg`` and ``base`` are region registers; a
region's address is where its mapping starts; ``at`` is relative to it):

- MAP: mmap(``base``'s address + ``at`` if ``base`` is set, else no address; ``length``;
  ``prot``; the ``names`` ORed; the descriptor ``fd`` stands for; ``offset``) into ``reg``.
  A refusal ends the check with its errno's name, as every call's does.
- UNMAP, PROTECT (to ``prot``), ADVISE and INHERIT (madvise, minherit with the one value in
  ``names``): the call on ``length`` bytes from ``reg`` + ``at``. Through CPython's mmap
  module only ADVISE is a call, on the whole mapping.
- WRITE: store the byte string ``pattern`` names (``PATTERNS``) at ``reg`` + ``at``.
- FILL: store ``byte``, ``length`` times, from ``reg`` + ``at``.
- TOUCH: read the byte at ``reg`` + ``at``; only whether the read faults matters.
- UNLESS_FILLED: end with ``word`` unless ``length`` bytes from ``reg`` + ``at`` all hold
  ``byte``; with ``word`` CONTENT, end with what those bytes hold (``content``).
- UNLESS_HOLDS: end with ``word`` unless ``reg`` + ``at`` holds ``pattern``.
- UNLESS_AT: end with ``word`` unless ``reg`` starts at ``base``'s address + ``at``.
- UNLESS_ALIGNED: end with ``word`` unless ``reg``'s address is a multiple of ``length``.
- EMULATED: under a user-mode emulator the case rests on what it does in the kernel's place:
  unsupported, with ``word`` saying what (shared_values.EMULATOR_ANSWERS).
- LIMIT_DATA: lower the soft RLIMIT_DATA to ``length`` (in the check's child).
- ROOM_FOR: unsupported where the environment's limits leave no room for ``length`` bytes:
  RLIMIT_AS (with what the process maps already), and RLIMIT_DATA where the platform counts a
  private mapping of ``prot`` (shared_values.DATA_LIMIT_COUNTS); ``byte`` 1: RLIMIT_AS alone.
- JIT_WRITABLE: MAP_JIT memory writable by this thread (``byte`` 1) or executable (0), where
  the C library has pthread_jit_write_protect_np; nothing elsewhere.
- END: end with ``word``. END_CONTENT: with what ``length`` bytes at ``reg`` + ``at`` hold.
- END_APART: with what the region reads once FIRST was written to another (``apart``).
- END_SEEN_BY_PARENT, END_SEEN_BY_CHILD: write BEFORE_FORK, fork; the child (or, for the
  second, the parent after the fork) writes AFTER_FORK; 'shared' when the other side reads it,
  'private' when it reads BEFORE_FORK, else 'nonzero'.
- END_INHERITED: 'inherited' when a child reads what was written before the fork.
- END_SEEN_AFTER_FORK: what a child reads of BEFORE_FORK ('zero', 'nonzero', or, once it
  wrote AFTER_FORK, 'shared' or 'private' by what the parent reads).
- END_KEPT_BY_PARENT: what the parent reads once a child read and wrote its copy
  ('preserved', 'shared', or what it holds).
- END_PAGESIZE: the page size, as the outcome word 0x...
- END_CALL: run the code at ``reg`` as ``int f(void)``: 'ok' when it returns RETURNED, else
  'nonzero'; 'ok' without the call where the architecture has no RETURN_42.
"""

from __future__ import annotations

import dataclasses
import enum

from anonmap.expect.shared_values import Span


class Op(enum.Enum):
    """What a step does; the observer's enum is generated in this order."""

    MAP = enum.auto()
    UNMAP = enum.auto()
    PROTECT = enum.auto()
    ADVISE = enum.auto()
    INHERIT = enum.auto()
    WRITE = enum.auto()
    FILL = enum.auto()
    TOUCH = enum.auto()
    UNLESS_FILLED = enum.auto()
    UNLESS_HOLDS = enum.auto()
    UNLESS_AT = enum.auto()
    UNLESS_ALIGNED = enum.auto()
    EMULATED = enum.auto()
    LIMIT_DATA = enum.auto()
    ROOM_FOR = enum.auto()
    JIT_WRITABLE = enum.auto()
    END = enum.auto()
    END_CONTENT = enum.auto()
    END_APART = enum.auto()
    END_SEEN_BY_PARENT = enum.auto()
    END_SEEN_BY_CHILD = enum.auto()
    END_INHERITED = enum.auto()
    END_SEEN_AFTER_FORK = enum.auto()
    END_KEPT_BY_PARENT = enum.auto()
    END_PAGESIZE = enum.auto()
    END_CALL = enum.auto()


class Prot(enum.IntFlag):
    """Protection, by meaning: each executor gives these bits its platform's values."""

    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4


RW = Prot.READ | Prot.WRITE


class Fd(enum.Enum):
    """The descriptor a MAP passes."""

    NONE = enum.auto()
    """-1."""
    DEV_ZERO = enum.auto()
    """/dev/zero opened read-write, once a program: its MAPs share the descriptor."""
    DEV_ZERO_READ_ONLY = enum.auto()
    ZERO = enum.auto()
    """0, whatever it refers to."""
    MINUS_TWO = enum.auto()
    REGULAR_FILE = enum.auto()
    """An unlinked file of FILE_PAGES pages of FILE_BYTE, placed at PLACED_FD."""
    PLACED_DEV_ZERO = enum.auto()
    """/dev/zero placed at PLACED_FD."""
    CLOSED = enum.auto()
    """PLACED_FD, open a moment ago and closed."""
    HUGE = enum.auto()
    """HUGE_FD, a number no process here has open."""


#: The byte strings WRITE and UNLESS_HOLDS name; RETURN_42 is the architecture's code
#: (shared_values.RETURN_42), or NO_CODE where it has none.
PATTERNS = ("FIRST", "EXISTING", "RETURN_42")
#: The name that stands for the anonymous flag, whichever name the platform gives it
#: (MAP_ANONYMOUS or MAP_ANON: ``Flags.anonymous``).
ANONYMOUS = "MAP_ANON"
#: UNLESS_FILLED's ``word`` that ends the check with what the bytes hold instead.
CONTENT = ""
#: The registers a program may name.
REGISTERS = 4
#: No length, no offset: the start of a region.
NOTHING = Span(0)


@dataclasses.dataclass(frozen=True)
class Step:
    """One step; each op reads only the fields its description names."""

    op: Op
    reg: int = 0
    at: Span = NOTHING
    length: Span = NOTHING
    base: int = -1
    prot: Prot = RW
    names: tuple[str, ...] = ()
    fd: Fd = Fd.NONE
    offset: Span = NOTHING
    byte: int = 0
    pattern: str = ""
    word: str = ""

    def __post_init__(self) -> None:
        registers = range(REGISTERS)
        if self.reg not in registers or (self.base != -1 and self.base not in registers):
            raise ValueError(f"{self.op.name}: registers are 0 to {REGISTERS - 1}")
        if self.pattern and self.pattern not in PATTERNS:
            raise ValueError(
                f"{self.op.name}: unknown pattern {self.pattern!r} (known: {', '.join(PATTERNS)})"
            )
        if not 0 <= self.byte <= 0xFF:
            raise ValueError(f"{self.op.name}: byte {self.byte} is not a byte")


Program = tuple[Step, ...]
