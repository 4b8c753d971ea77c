"""Each system-call-level behaviour's check, written once as a program (``anonmap.checks.steps``)
that Python's executor and the observer's both run.

A check is a function of the case, registered under its behaviour's id with ``@check``; what it
returns depends on the case's parameters alone, never on the platform, so the observer is built
with every case's program as data. Adding such a behaviour takes its catalogue entry, its check
here and its profiles' entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from anonmap.checks.steps import ANONYMOUS, CONTENT, NOTHING, RW, Fd, Op, Program, Prot, Step
from anonmap.expect import shared_values as shared
from anonmap.expect.catalogue import Case
from anonmap.expect.shared_values import Span

Check = Callable[[Case], Program]
#: Every check, by its behaviour's id.
CHECKS: dict[str, Check] = {}


def check(behaviour: str) -> Callable[[Check], Check]:
    """Register a behaviour's check."""

    def register(function: Check) -> Check:
        CHECKS[behaviour] = function
        return function

    return register


def program(case: Case) -> Program:
    """The program that checks ``case``: ``KeyError`` where its behaviour has no check here."""
    return CHECKS[case.behaviour](case)


PAGE = Span(1)
_SHARING = {"shared": "MAP_SHARED", "private": "MAP_PRIVATE"}
_PRIVATE = ("MAP_PRIVATE", ANONYMOUS)


def _anonymous(case: Case) -> tuple[str, ...]:
    return (_SHARING[case["sharing"]], ANONYMOUS)


def _map(
    reg: int,
    length: Span,
    names: tuple[str, ...],
    *,
    prot: Prot = RW,
    fd: Fd = Fd.NONE,
    offset: Span = NOTHING,
    base: int = -1,
    at: Span = NOTHING,
) -> Step:
    return Step(
        Op.MAP, reg=reg, length=length, names=names, prot=prot, fd=fd, offset=offset, base=base, at=at
    )


def _end(word: str) -> Step:
    return Step(Op.END, word=word)


def _fill(reg: int, at: Span, length: Span, byte: int) -> Step:
    return Step(Op.FILL, reg=reg, at=at, length=length, byte=byte)


def _touch_and_check(reg: int, at: Span) -> tuple[Step, ...]:
    """Write TOUCH_BYTE at ``at`` and read it back: 'nonzero' if it did not stay."""
    return (
        _fill(reg, at, Span(0, 1), shared.TOUCH_BYTE),
        Step(Op.UNLESS_FILLED, reg=reg, at=at, length=Span(0, 1), byte=shared.TOUCH_BYTE, word="nonzero"),
    )


def _kernel_advice(advice: str) -> tuple[Step, ...]:
    """What an advice qemu-user does not pass to the kernel does is the emulator's."""
    if advice in shared.PASSED_ADVICE:
        return ()
    return (Step(Op.EMULATED, word=shared.ADVICE_EMULATED.format(advice=advice)),)


def _in_place(size: Span, names: tuple[str, ...]) -> tuple[Step, ...]:
    """``size`` mapped with MAP_FIXED into register 1 where nothing is mapped after it: two
    pages reserved in register 0 and given back, the first taken again."""
    return (
        _map(0, Span(2), names),
        Step(Op.UNMAP, reg=0, length=Span(2)),
        _map(1, size, (*names, "MAP_FIXED"), base=0),
    )


@check("zero-fill")
def zero_fill(case: Case) -> Program:
    size = shared.LENGTHS[case["size"]]
    # A mapping covers whole pages, and all of them must be zero; Python's object exposes only
    # the length asked for.
    visible = size if case["api"] == "python" else size.whole_pages()
    return (_map(0, size, _anonymous(case)), Step(Op.END_CONTENT, length=visible))


#: The descriptor each fd-argument case passes.
FD_KINDS: Mapping[str, Fd] = {
    "0": Fd.ZERO,
    "-2": Fd.MINUS_TWO,
    "regular-file": Fd.REGULAR_FILE,
    "dev-zero": Fd.PLACED_DEV_ZERO,
    "closed": Fd.CLOSED,
    "huge": Fd.HUGE,
}


@check("fd-argument")
def fd_argument(case: Case) -> Program:
    return (_map(0, PAGE, _anonymous(case), fd=FD_KINDS[case["fd"]]), Step(Op.END_CONTENT, length=PAGE))


@check("fd-minus-one")
def fd_minus_one(case: Case) -> Program:
    return (_map(0, PAGE, _anonymous(case)), Step(Op.END_CONTENT, length=PAGE))


@check("offset-argument")
def offset_argument(case: Case) -> Program:
    offset = shared.OFFSETS[case["offset"]]
    if case["source"] == "anonymous":
        mapped = _map(0, PAGE, _anonymous(case), offset=offset)
    else:
        mapped = _map(0, PAGE, (_SHARING[case["sharing"]],), fd=Fd.DEV_ZERO, offset=offset)
    return (mapped, Step(Op.END_CONTENT, length=PAGE))


def _sharing(direction: str) -> Step:
    return Step(Op.END_SEEN_BY_PARENT if direction == "child-to-parent" else Op.END_SEEN_BY_CHILD)


@check("shared-anonymous")
def shared_anonymous(case: Case) -> Program:
    return (_map(0, PAGE, _anonymous(case)), _sharing(case["direction"]))


def _apart(first: Step, second: Step) -> Program:
    """Two mappings; FIRST written to the first, what the second reads."""
    return (first, second, Step(Op.WRITE, reg=0, pattern="FIRST"), Step(Op.END_APART, reg=1))


@check("dev-zero")
def dev_zero(case: Case) -> Program:
    names = (_SHARING[case["sharing"]],)
    prop = case["property"]
    if prop == "zero-fill":
        return (_map(0, Span(2), names, fd=Fd.DEV_ZERO), Step(Op.END_CONTENT, length=Span(2)))
    if prop == "fork":
        return (_map(0, PAGE, names, fd=Fd.DEV_ZERO), _sharing("child-to-parent"))
    if prop == "independence":
        return _apart(_map(0, PAGE, names, fd=Fd.DEV_ZERO), _map(1, PAGE, names, fd=Fd.DEV_ZERO))
    # PROT_READ|PROT_WRITE through a descriptor opened read-only.
    return (_map(0, PAGE, names, fd=Fd.DEV_ZERO_READ_ONLY), Step(Op.END_CONTENT, length=PAGE))


@check("distinct-mappings")
def distinct_mappings(case: Case) -> Program:
    return _apart(_map(0, PAGE, _anonymous(case)), _map(1, PAGE, _anonymous(case)))


@check("inheritance")
def inheritance(case: Case) -> Program:
    return (_map(0, PAGE, _anonymous(case)), Step(Op.END_INHERITED))


@check("page-rounding")
def page_rounding(case: Case) -> Program:
    # One byte where the page after it is a hole.
    where = Span(1, -1) if case["touch"] == "last-byte-of-page" else PAGE
    return (*_in_place(Span(0, 1), _anonymous(case)), *_touch_and_check(1, where), _end("ok"))


@check("after-munmap")
def after_munmap(case: Case) -> Program:
    part = case.params.get("part")
    if part is None:
        return (
            _map(0, PAGE, _anonymous(case)),
            _fill(0, Span(0), Span(0, 1), shared.TOUCH_BYTE),
            Step(Op.UNMAP, length=PAGE),
            Step(Op.TOUCH),
            _end("ok"),
        )
    # munmap removes exactly the pages asked for: its neighbours keep their data (a munmap that
    # took the whole mapping faults there), the middle page faults.
    pages = shared.PARTIAL_PAGES
    middle = pages // 2
    steps = [_map(0, Span(pages), _anonymous(case))]
    steps += [_fill(0, Span(i), PAGE, i + 1) for i in range(pages)]
    steps.append(Step(Op.UNMAP, at=Span(middle), length=PAGE))
    if part == "removed-page":
        return (*steps, Step(Op.TOUCH, at=Span(middle)), _end("ok"))
    kept = (i for i in range(pages) if i != middle)
    steps += [Step(Op.UNLESS_FILLED, at=Span(i), length=PAGE, byte=i + 1, word=CONTENT) for i in kept]
    return (*steps, _end("preserved"))


@check("mprotect")
def mprotect(case: Case) -> Program:
    steps = [_map(0, PAGE, _anonymous(case)), Step(Op.PROTECT, length=PAGE, prot=Prot.READ)]
    if case["step"] == "write-read-only":
        steps.append(_fill(0, Span(0), Span(0, 1), shared.TOUCH_BYTE))
    elif case["step"] == "restore":
        steps += [Step(Op.PROTECT, length=PAGE, prot=RW), *_touch_and_check(0, Span(0))]
    return (*steps, _end("ok"))


@check("page-granularity")
def page_granularity(case: Case) -> Program:
    """What a program written for 4 KiB pages meets where the page is larger: each range is
    aligned to 1 << ASSUMED_PAGE_SHIFT, not necessarily to the page."""
    assumed = case["assumed"]
    small = Span(0, 1 << shared.ASSUMED_PAGE_SHIFT)
    if assumed == "pagesize":
        return (Step(Op.END_PAGESIZE),)
    if assumed == "offset-4k":
        return (_map(0, small, _PRIVATE, offset=small), Step(Op.END_CONTENT, length=small))
    if assumed == "length-4k":
        # Nothing may be mapped after the 4 KiB: as page-rounding does with one byte.
        return (*_in_place(small, _PRIVATE), _fill(1, small, Span(0, 1), shared.TOUCH_BYTE), _end("ok"))
    steps = (_map(0, Span(0, 2 * small.bytes), _PRIVATE),)
    if assumed == "fixed-4k":
        return (
            *steps,
            _map(1, small, (*_PRIVATE, "MAP_FIXED"), base=0, at=small),
            Step(Op.UNLESS_AT, reg=1, base=0, at=small, word="elsewhere"),
            _end("ok"),
        )
    if assumed == "mprotect-4k":
        return (
            *steps,
            Step(Op.PROTECT, length=small, prot=Prot.READ),
            _fill(0, small, Span(0, 1), shared.TOUCH_BYTE),
            _end("ok"),
        )
    if assumed == "mprotect-4k-inside":
        return (*steps, Step(Op.PROTECT, at=small, length=small, prot=Prot.READ), _end("ok"))
    return (*steps, Step(Op.UNMAP, at=small, length=small), _end("ok"))


@check("madvise")
def madvise(case: Case) -> Program:
    advice = case["advice"]
    return (
        *_kernel_advice(advice),
        _map(0, PAGE, _anonymous(case)),
        _fill(0, Span(0), PAGE, shared.MADVISE_BYTE),
        Step(Op.ADVISE, length=PAGE, names=(advice,)),
        Step(Op.UNLESS_FILLED, length=PAGE, byte=shared.MADVISE_BYTE, word=CONTENT),
        _end("preserved"),
    )


#: The sharing names and whether the length is 0, by argument-contract form.
_FORMS: Mapping[str, tuple[tuple[str, ...], bool]] = {
    "neither-shared-nor-private": ((), False),
    "both-shared-and-private": (("MAP_SHARED", "MAP_PRIVATE"), False),
    "length-0-private": (("MAP_PRIVATE",), True),
    "length-0-shared": (("MAP_SHARED",), True),
    "unknown-flag-private": (("MAP_PRIVATE", "UNUSED_FLAG_BIT"), False),
    "unknown-flag-shared": (("MAP_SHARED", "UNUSED_FLAG_BIT"), False),
}


@check("argument-contract")
def argument_contract(case: Case) -> Program:
    names, empty = _FORMS[case["form"]]
    mapped = _map(0, Span(0) if empty else PAGE, (*names, ANONYMOUS))
    # Accepted: what matters to a porter is whether it behaves shared or private.
    return (mapped, _end("ok") if empty else _sharing("child-to-parent"))


@check("fork-controls")
def fork_controls(case: Case) -> Program:
    control = case["control"]
    advice = control.startswith(shared.ADVICE_PREFIX)
    steps = [*(_kernel_advice(control) if advice else ()), _map(0, PAGE, _anonymous(case))]
    if control == "MADV_KEEPONFORK":
        # Undoes a wipe: there is nothing to keep until MADV_WIPEONFORK asked for one.
        steps.append(Step(Op.ADVISE, length=PAGE, names=("MADV_WIPEONFORK",)))
    steps.append(Step(Op.ADVISE if advice else Op.INHERIT, length=PAGE, names=(control,)))
    # A wipe is the child's: the parent's own copy must keep its data.
    reader = case.params.get("reader")
    return (*steps, Step(Op.END_KEPT_BY_PARENT if reader == "parent" else Op.END_SEEN_AFTER_FORK))


#: The flags each placement adds to MAP_PRIVATE|MAP_ANON, by the names the platform gives them.
_PLACEMENT_FLAGS: Mapping[str, tuple[str, ...]] = {
    "fixed-over-mapping": ("MAP_FIXED",),
    "fixed-noreplace-over-mapping": ("MAP_FIXED_NOREPLACE",),
    "fixed-noreplace-at-hole": ("MAP_FIXED_NOREPLACE",),
    "excl-over-mapping": ("MAP_FIXED", "MAP_EXCL"),
    "tryfixed-over-mapping": ("MAP_TRYFIXED",),
    "hint-at-hole": (),
    "hint-over-mapping": (),
    "aligned-2mib": ("MAP_ALIGNED_21",),
    "fixed-over-mapping-contents": ("MAP_FIXED",),
}


@check("fixed-mappings")
def fixed_mappings(case: Case) -> Program:
    placement = case["placement"]
    names = (*_PRIVATE, *_PLACEMENT_FLAGS[placement])
    # linux-user/mmap.c target_mmap(): mmap_find_vma(), then the host mmap with MAP_FIXED, so
    # the kernel never sees MAP_FIXED_NOREPLACE.
    emulated = (Step(Op.EMULATED, word=shared.PLACEMENT_EMULATED),) if "noreplace" in placement else ()
    if placement == "aligned-2mib":
        return (
            *emulated,
            _map(0, PAGE, names),
            Step(Op.UNLESS_ALIGNED, length=Span(0, shared.ALIGNMENT), word="not-aligned"),
            _end("aligned"),
        )
    # The target is the first of two pages: still mapped, holding data, or given back.
    steps = [*emulated, _map(0, Span(2), _PRIVATE), Step(Op.WRITE, pattern="EXISTING")]
    hole = placement.endswith("at-hole")
    if hole:
        steps.append(Step(Op.UNMAP, length=Span(2)))
    steps += [_map(1, PAGE, names, base=0), Step(Op.UNLESS_AT, reg=1, base=0, word="elsewhere")]
    if hole:
        return (*steps, _end("at-address"))
    if placement == "fixed-over-mapping-contents":
        # The new mapping is a fresh anonymous one: none of the old page may show through.
        return (*steps, Step(Op.END_CONTENT, length=PAGE))
    return (*steps, Step(Op.UNLESS_HOLDS, pattern="EXISTING", word="replaced"), _end("preserved"))


@check("stack-guards")
def stack_guards(case: Case) -> Program:
    stack = case["stack"]
    if stack == "guard-below":
        return (
            _map(0, Span(2), _PRIVATE),
            Step(Op.PROTECT, length=PAGE, prot=Prot.NONE),
            _fill(0, PAGE, Span(0, 1), shared.TOUCH_BYTE),
            Step(Op.TOUCH),
            _end("ok"),
        )
    flag = "MAP_STACK" if stack == "map-stack" else "MAP_GROWSDOWN"
    pages = shared.STACK_PAGES
    if stack == "growsdown-below":
        # Both ends of a plain mapping take writes too: only growth tells the flag was kept. The
        # stack goes at the top of a reservation whose rest is then given back, so the page below
        # it is free; the write lands on that page's last byte.
        room = shared.GROWTH_ROOM_PAGES
        return (
            _map(0, Span(room + pages), _PRIVATE, prot=Prot.NONE),
            _map(1, Span(pages), (*_PRIVATE, flag, "MAP_FIXED"), base=0, at=Span(room)),
            Step(Op.UNMAP, length=Span(room)),
            _fill(0, Span(room, -1), Span(0, 1), shared.TOUCH_BYTE),
            _end("ok"),
        )
    return (
        _map(0, Span(pages), (*_PRIVATE, flag)),
        _fill(0, Span(0), Span(0, 1), shared.TOUCH_BYTE),
        _fill(0, Span(pages, -1), Span(0, 1), shared.TOUCH_BYTE),
        _end("ok"),
    )


@check("reservations")
def reservations(case: Case) -> Program:
    reservation = case["reservation"]
    size = shared.RESERVATION_SIZES[reservation]
    length = Span(0, size)
    writable = reservation in ("noreserve-4t", "writable-4t", "data-limit-writable")
    steps: list[Step] = []
    if size > shared.EMULATED_MOST:
        steps.append(Step(Op.EMULATED, word=shared.TERABYTES_EMULATED))
    if reservation.startswith("data-limit"):
        # The case is what an RLIMIT_DATA below the size does: it sets one, and only the
        # environment's RLIMIT_AS can make it unsupported.
        steps += [
            Step(Op.EMULATED, word=shared.DATA_LIMIT_EMULATED),
            Step(Op.LIMIT_DATA, length=Span(0, shared.DATA_LIMIT)),
            Step(Op.ROOM_FOR, length=length, byte=1),
        ]
    else:
        steps.append(Step(Op.ROOM_FOR, length=length, prot=RW if writable else Prot.NONE))
    if writable:
        noreserve = ("MAP_NORESERVE",) if reservation == "noreserve-4t" else ()
        # Mapped, never touched: no page is ever committed, whatever the policy allowed.
        return (*steps, _map(0, length, (*_PRIVATE, *noreserve)), _end("ok"))
    steps.append(_map(0, length, _PRIVATE, prot=Prot.NONE))
    middle = Span(0, size // 2)
    committed = Span(shared.COMMIT_PAGES)
    if reservation == "touch-reserved":
        steps.append(Step(Op.TOUCH, at=middle))
    elif reservation.startswith("commit-slice"):
        steps.append(Step(Op.PROTECT, at=middle, length=committed, prot=RW))
        if reservation == "commit-slice-read":
            # Committed memory is as fresh as any anonymous mapping: every page zero.
            return (*steps, Step(Op.END_CONTENT, at=middle, length=committed))
        steps += _touch_and_check(0, Span(shared.COMMIT_PAGES, middle.bytes - 1))
    return (*steps, _end("ok"))


@check("exec-memory")
def exec_memory(case: Case) -> Program:
    code = case["code"]
    jit = code == "map-jit"
    at_once = code in ("rwx-at-mmap", "map-jit")
    steps = [
        _map(0, PAGE, (*_PRIVATE, *(("MAP_JIT",) if jit else ())), prot=RW | Prot.EXEC if at_once else RW)
    ]
    # A MAP_JIT page takes writes only while this thread says so.
    written = Step(Op.WRITE, pattern="RETURN_42")
    if jit:
        steps += [Step(Op.JIT_WRITABLE, byte=1), written, Step(Op.JIT_WRITABLE, byte=0)]
    else:
        steps.append(written)
    if code in ("rw-then-rx", "rx-then-write"):
        steps.append(Step(Op.PROTECT, length=PAGE, prot=Prot.READ | Prot.EXEC))
    elif code == "rw-then-rwx":
        steps.append(Step(Op.PROTECT, length=PAGE, prot=RW | Prot.EXEC))
    if code == "rx-then-write":
        # The page is no longer writable (W^X): the write must fault. It comes before any call,
        # so a platform that left the page writable and not executable fails too.
        return (*steps, _fill(0, Span(0), Span(0, 1), shared.TOUCH_BYTE), _end("ok"))
    return (*steps, Step(Op.END_CALL))
