"""The numbers and texts the system-call-level checks use, in their programs
(``anonmap.checks.programs``) and in both executors that run them: Python's
(``anonmap.apis.executor``) and the observer's (``data/observer/observer.c``).

Each is written here once. ``anonmap.apis.syscall.build`` writes every one the observer needs
into its generated ``cases.h`` (``shared_header``), so a value changed here changes in both,
and ``selftests/test_shared_values.py`` proves the C holds no copy of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Span:
    """A length or offset in pages and bytes: the page size is this machine's, known only when
    the check runs."""

    pages: int
    bytes: int = 0

    def at(self, page: int) -> int:
        return self.pages * page + self.bytes

    def whole_pages(self) -> Span:
        """The whole pages a mapping of this length covers, on any page size: the bytes past
        the last whole page are fewer than the smallest page (4 KiB)."""
        if not 0 <= self.bytes < 1 << ASSUMED_PAGE_SHIFT:
            raise ValueError(f"{self} has more bytes than the smallest page holds")
        return Span(self.pages + (1 if self.bytes else 0))


#: What the fd-argument cases' regular file holds, so its bytes are told apart from zero fill.
FILE_BYTE = 0xA5
#: The regular file's length, in pages.
FILE_PAGES = 2
#: Where the fd-argument cases place the descriptor they pass. macOS reads the fd of a MAP_ANON
#: call as Mach VM flags, so the outcome hangs on the number, not on what it refers to: a fixed
#: number makes the case the same on every run.
PLACED_FD = 100
#: A descriptor number no process here has open (RLIMIT_NOFILE is far below it).
HUGE_FD = 1 << 20

#: What a region holds before a fork, and what one side writes after it: equal lengths, so one
#: read tells them apart.
BEFORE_FORK = b"before-fork"
AFTER_FORK = b"after-fork!"
#: Exit statuses a forked child reports what it read with.
SAW_AFTER = 10
SAW_BEFORE = 11
SAW_OTHER = 12
SAW_ZERO = 13

#: What the madvise cases fill their page with before the advice.
MADVISE_BYTE = 0x5A
#: The byte a check writes where only whether the write lands matters.
TOUCH_BYTE = 0x01
#: What the first of two mappings is given, to see whether the second shows it.
FIRST = b"first"
#: What the page a fixed mapping targets holds, to see whether it survives.
EXISTING = b"existing"

#: The zero-fill cases' lengths and the offset cases' offsets, by catalogue value.
LENGTHS: Mapping[str, Span] = {"1": Span(0, 1), "page": Span(1), "page+1": Span(1, 1), "16-pages": Span(16)}
OFFSETS: Mapping[str, Span] = {"page": Span(1), "unaligned": Span(0, 1)}

#: MAP_ALIGNED(21): 2 MiB.
ALIGNMENT = 2 << 20
#: How many pages a MAP_STACK or MAP_GROWSDOWN mapping has, and a commit-slice commits.
STACK_PAGES = 16
COMMIT_PAGES = 16
#: The free pages a growsdown-below case leaves under its MAP_GROWSDOWN mapping, the lowest of
#: them written: more than Linux's default stack_guard_gap (mm/mmap.c: 256 pages), so no
#: mapping below it is near enough to stop the growth.
GROWTH_ROOM_PAGES = 258
#: How many pages the partial-munmap cases map; the middle one is unmapped.
PARTIAL_PAGES = 3

#: The page a program written for 4 KiB pages assumes (the page-granularity cases), as a shift:
#: its offsets, MAP_FIXED addresses and mprotect/munmap ranges are multiples of 1 << this.
ASSUMED_PAGE_SHIFT = 12

GIB = 1 << 30
#: Which anonymous mappings an environment's RLIMIT_DATA counts, by the probe's os name, so that
#: the limit withholds only the cases it refuses: 'writable' (Linux mm/internal.h
#: is_data_mapping(): VM_WRITE without VM_SHARED or VM_STACK) or 'every' (xnu vm_map_enter():
#: the data limit counts every entry, PROT_NONE ones too). FreeBSD, NetBSD, DragonFly and
#: illumos count none (their profiles' data-limit entries). OpenBSD counts writable mappings
#: too (sys/uvm/uvm_mmap.c sys_mmap()), but caps the limit at MAXDSIZ (kern_resource.c
#: dosetrlimit()): its refusal is the platform's, whatever the environment, and its profile
#: documents it.
DATA_LIMIT_COUNTS: Mapping[str, str] = {"linux": "writable", "darwin": "every"}
#: The RLIMIT_DATA the data-limit cases set.
DATA_LIMIT = GIB
#: qemu-user keeps flags for every guest page of a mapping: terabytes take it minutes and more
#: memory than a machine has, so more than this is not asked of it.
EMULATED_MOST = 64 * GIB
RESERVATION_SIZES: Mapping[str, int] = {
    "reserve-1g": GIB,
    "reserve-4t": 4096 * GIB,
    "touch-reserved": GIB,
    "commit-slice": GIB,
    "commit-slice-read": GIB,
    "noreserve-4t": 4096 * GIB,
    "writable-4t": 4096 * GIB,
    "data-limit-writable": 2 * GIB,
    "data-limit-reserved": 2 * GIB,
}

#: int f(void) { return 42; } where the architecture's caches need no maintenance between
#: writing code and running it: x86-64 keeps instruction fetch coherent with stores (Intel SDM
#: vol. 3, 11.6 "Self-modifying code"). Elsewhere the calls are made and the code is not run.
#: It begins with ENDBR64 (f3 0f 1e fa), the mark of a valid indirect-call target: where
#: indirect branch tracking is enforced (OpenBSD's BTCFI on CPUs with CET) an unmarked target
#: faults, and Intel's datasheets say of ENDBR32 and ENDBR64 "This instruction is a NOP on
#: legacy processors for backward compatibility" (12th Generation Intel Core Processors
#: Datasheet, Volume 1, 655258, "Indirect Branch Tracking"); so the call observes W^X alone,
#: whatever the process's branch-tracking exemption.
RETURN_42 = {"x86_64": b"\xf3\x0f\x1e\xfa\xb8\x2a\x00\x00\x00\xc3"}
RETURNED = 42
#: What an exec-memory case writes where the architecture has no RETURN_42.
NO_CODE = bytes(8)

#: Why a case rests on what qemu-user does in the kernel's place ({what} says what).
EMULATOR_ANSWERS = "qemu-user {what}: the emulator's behaviour, not the platform's"
#: What names an advice (a case value the kernel is asked through madvise).
ADVICE_PREFIX = "MADV_"
#: qemu-user passes MADV_DONTNEED alone to the kernel (linux-user/mmap.c target_madvise(), "This
#: is a hint, so ignoring and returning success is ok", through qemu 7.2), and MADV_NORMAL asks
#: for nothing: what any other advice does is the emulator's.
PASSED_ADVICE = ("MADV_DONTNEED", "MADV_NORMAL")
ADVICE_EMULATED = "answers madvise({advice}) itself"
#: linux-user/mmap.c target_mmap() places a mapping without MAP_FIXED itself.
PLACEMENT_EMULATED = "chooses the address of a mapping without MAP_FIXED itself"
TERABYTES_EMULATED = "tracks every page of a mapping, and terabytes are beyond it"
#: linux-user/syscall.c do_setrlimit() keeps RLIMIT_AS, RLIMIT_DATA and RLIMIT_STACK from the
#: kernel: a guest's limit would limit the emulator itself.
DATA_LIMIT_EMULATED = "keeps RLIMIT_DATA from the kernel (it would limit the emulator)"

#: Why a check cannot go on, as the environment withholds what it needs.
PLACED_FD_REFUSED = f"descriptor {PLACED_FD} cannot be used"
NO_REGULAR_FILE = f"no regular temporary file of {FILE_PAGES} pages"
NO_DEV_ZERO = "/dev/zero does not open here"
NO_FORK = "fork inside the check failed"
#: A forked child's signal is the outcome; this is its detail.
CHILD_SIGNALLED = "the forked child was killed by a signal"
#: A name the mmap module and the profile leave undefined: the case is 'absent'.
UNDEFINED_NAME = "{name} is defined neither by the mmap module nor by the profile"
