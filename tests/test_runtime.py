"""What allocator, collector and runtime authors ask of anonymous memory next: fork controls,
fixed addresses and hints, stacks and guard pages."""

from __future__ import annotations

import pytest

from anonmap.apis import fdkinds, forking
from anonmap.apis.libc import LibcRegion, jit_write_protect, map_libc, mmap_raw, mprotect, munmap, run_code
from anonmap.apis.limits import limit_data, limits_counting, room_for
from anonmap.apis.region import MAP_PRIVATE, PAGE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_RW, SHARING_FLAGS
from anonmap.expect import shared_values as shared
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("fork-controls")
def test_fork_controls(case: Case, judge: Judge) -> None:
    control = case["control"]
    if control.startswith(shared.ADVICE_PREFIX):
        judge.require_kernel_advice(control)

    def check() -> str:
        region = map_libc(PAGE, SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous())
        if control == "MADV_KEEPONFORK":
            # Undoes a wipe: there is nothing to keep until MADV_WIPEONFORK asked for one.
            region.advise(judge.flags.value("MADV_WIPEONFORK"))
        if control.startswith(shared.ADVICE_PREFIX):
            region.advise(judge.flags.value(control))
        else:
            region.inherit(judge.flags.value(control))
        if case.params.get("reader") == "parent":
            # A wipe is the child's: the parent's own copy must keep its data.
            return forking.kept_by_parent(region)
        return forking.seen_after_fork(region)

    judge.run(check)


#: The flags each placement adds to MAP_PRIVATE|MAP_ANON, by the names the platform gives them.
_PLACEMENT_FLAGS = {
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
_TOUCH = bytes([shared.TOUCH_BYTE])


@pytest.mark.behaviour("fixed-mappings")
def test_fixed_mappings(case: Case, judge: Judge) -> None:
    placement = case["placement"]
    if placement.startswith("fixed-noreplace"):
        # linux-user/mmap.c target_mmap(): mmap_find_vma(), then the host mmap with MAP_FIXED,
        # so the kernel never sees MAP_FIXED_NOREPLACE.
        judge.emulator_answers(shared.PLACEMENT_EMULATED)

    def check() -> str:
        flags = MAP_PRIVATE | judge.flags.anonymous()
        for name in _PLACEMENT_FLAGS[placement]:
            flags |= judge.flags.value(name)
        if placement == "aligned-2mib":
            address = mmap_raw(None, PAGE, PROT_RW, flags, -1, 0)
            return "aligned" if address % shared.ALIGNMENT == 0 else "not-aligned"
        # The target is the first of two pages: still mapped, holding data, or given back.
        existing = map_libc(2 * PAGE, MAP_PRIVATE | judge.flags.anonymous())
        existing.write(0, shared.EXISTING)
        hole = placement.endswith("at-hole")
        if hole:
            existing.unmap()
        address = mmap_raw(existing.address, PAGE, PROT_RW, flags, -1, 0)
        if address != existing.address:
            return "elsewhere"
        if hole:
            return "at-address"
        if placement == "fixed-over-mapping-contents":
            # The new mapping is a fresh anonymous one: none of the old page may show through.
            return fdkinds.content(existing.read(0, PAGE))
        return "preserved" if existing.read(0, len(shared.EXISTING)) == shared.EXISTING else "replaced"

    judge.run(check)


@pytest.mark.behaviour("stack-guards")
def test_stack_guards(case: Case, judge: Judge) -> None:
    stack = case["stack"]

    def check() -> str:
        anonymous = MAP_PRIVATE | judge.flags.anonymous()
        if stack == "guard-below":
            region = map_libc(2 * PAGE, anonymous)
            mprotect(region.address, PAGE, PROT_NONE)
            region.write(PAGE, _TOUCH)
            region.read(0, 1)
            return "ok"
        flag = judge.flags.value("MAP_STACK" if stack == "map-stack" else "MAP_GROWSDOWN")
        if stack == "growsdown-below":
            # Both ends of a plain mapping take writes too: only growth tells the flag was kept.
            # The stack goes at the top of a reservation whose rest is then given back, so the
            # page below it is free; the write lands on that page's last byte.
            room = shared.GROWTH_ROOM_PAGES * PAGE
            base = mmap_raw(None, room + shared.STACK_PAGES * PAGE, PROT_NONE, anonymous, -1, 0)
            mmap_raw(
                base + room,
                shared.STACK_PAGES * PAGE,
                PROT_RW,
                anonymous | flag | judge.flags.value("MAP_FIXED"),
                -1,
                0,
            )
            munmap(base, room)
            LibcRegion(base, room).write(room - 1, _TOUCH)
            return "ok"
        region = map_libc(shared.STACK_PAGES * PAGE, anonymous | flag)
        region.write(0, _TOUCH)
        region.write(shared.STACK_PAGES * PAGE - 1, _TOUCH)
        return "ok"

    judge.run(check)


@pytest.mark.behaviour("reservations")
def test_reservations(case: Case, judge: Judge) -> None:
    reservation = case["reservation"]
    size = shared.RESERVATION_SIZES[reservation]
    if size > shared.EMULATED_MOST:
        judge.emulator_answers(shared.TERABYTES_EMULATED)

    def check() -> str:
        writable = reservation in ("noreserve-4t", "writable-4t", "data-limit-writable")
        if reservation.startswith("data-limit"):
            # The case is what an RLIMIT_DATA below the size does: it sets one, and only the
            # environment's RLIMIT_AS can make it unsupported.
            limit_data(shared.DATA_LIMIT)
            room_for(size, ("RLIMIT_AS",))
        else:
            room_for(size, limits_counting(PROT_RW if writable else PROT_NONE))
        anonymous = MAP_PRIVATE | judge.flags.anonymous()
        if writable:
            noreserve = judge.flags.value("MAP_NORESERVE") if reservation == "noreserve-4t" else 0
            # Mapped, never touched: no page is ever committed, whatever the policy allowed.
            mmap_raw(None, size, PROT_RW, anonymous | noreserve, -1, 0)
            return "ok"
        address = mmap_raw(None, size, PROT_NONE, anonymous, -1, 0)
        middle = address + size // 2
        if reservation == "touch-reserved":
            LibcRegion(middle, PAGE).read(0, 1)
        elif reservation.startswith("commit-slice"):
            slice_end = shared.COMMIT_PAGES * PAGE
            mprotect(middle, slice_end, PROT_RW)
            committed = LibcRegion(middle, slice_end)
            if reservation == "commit-slice-read":
                # Committed memory is as fresh as any anonymous mapping: every page zero.
                return fdkinds.content(committed.read(0, slice_end))
            committed.write(slice_end - 1, _TOUCH)
            if committed.read(slice_end - 1, 1) != _TOUCH:
                return "nonzero"
        return "ok"

    judge.run(check)


@pytest.mark.behaviour("exec-memory")
def test_exec_memory(case: Case, judge: Judge) -> None:
    code = case["code"]
    machine_code = shared.RETURN_42.get(judge.arch)

    def check() -> str:
        flags = MAP_PRIVATE | judge.flags.anonymous()
        if code == "map-jit":
            flags |= judge.flags.value("MAP_JIT")
        at_once = code in ("rwx-at-mmap", "map-jit")
        region = LibcRegion(mmap_raw(None, PAGE, PROT_RW | (PROT_EXEC if at_once else 0), flags, -1, 0), PAGE)
        if code == "map-jit":
            jit_write_protect(False)
        region.write(0, machine_code or b"\0" * 8)
        if code == "map-jit":
            jit_write_protect(True)
        if code in ("rw-then-rx", "rx-then-write"):
            mprotect(region.address, PAGE, PROT_READ | PROT_EXEC)
        elif code == "rw-then-rwx":
            mprotect(region.address, PAGE, PROT_RW | PROT_EXEC)
        if code == "rx-then-write":
            # The page is no longer writable (W^X): the write must fault. It comes before any
            # call, so a platform that left the page writable and not executable fails too.
            region.write(0, _TOUCH)
            return "ok"
        if machine_code is None:
            return "ok"
        return "ok" if run_code(region.address) == shared.RETURNED else "nonzero"

    judge.run(check)
