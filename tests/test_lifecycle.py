"""The rest of the seed's answer: page rounding, munmap, mprotect and madvise."""

from __future__ import annotations

import pytest

from anonmap.apis import fdkinds
from anonmap.apis.libc import LibcRegion, getpagesize, map_libc, mmap_raw, mprotect, munmap
from anonmap.apis.region import MAP_PRIVATE, PAGE, PROT_READ, PROT_RW, SHARING_FLAGS
from anonmap.apis.registry import map_region
from anonmap.expect import outcomes, shared_values
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge

_PATTERN = bytes([shared_values.MADVISE_BYTE]) * PAGE
_TOUCH = bytes([shared_values.TOUCH_BYTE])


@pytest.mark.behaviour("page-rounding")
def test_page_rounding(case: Case, judge: Judge) -> None:
    def check() -> str:
        fixed = judge.flags.value("MAP_FIXED")
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        # Map one byte where the page after it is known to be a hole: reserve two pages,
        # give them back, and map the first again with MAP_FIXED.
        base = map_libc(2 * PAGE, flags).address
        munmap(base, 2 * PAGE)
        region = LibcRegion(mmap_raw(base, 1, PROT_RW, flags | fixed, -1, 0), 1)
        where = PAGE - 1 if case["touch"] == "last-byte-of-page" else PAGE
        region.write(where, _TOUCH)
        return "ok" if region.read(where, 1) == _TOUCH else "nonzero"

    judge.run(check)


@pytest.mark.behaviour("after-munmap")
def test_after_munmap(case: Case, judge: Judge) -> None:
    part = case.params.get("part")

    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        if part is None:
            region = map_libc(PAGE, flags)
            region.write(0, _TOUCH)
            region.unmap()
            region.read(0, 1)
            return "ok"
        # munmap removes exactly the pages asked for: its neighbours keep their data (a
        # munmap that took the whole mapping faults there), the middle page faults.
        pages = shared_values.PARTIAL_PAGES
        region = map_libc(pages * PAGE, flags)
        for index in range(pages):
            region.write(index * PAGE, bytes([index + 1]) * PAGE)
        middle = pages // 2
        munmap(region.address + middle * PAGE, PAGE)
        if part == "removed-page":
            region.read(middle * PAGE, 1)
            return "ok"
        kept = [index for index in range(pages) if index != middle]
        intact = all(region.read(index * PAGE, PAGE) == bytes([index + 1]) * PAGE for index in kept)
        return "preserved" if intact else fdkinds.content(b"".join(region.read(i * PAGE, PAGE) for i in kept))

    judge.run(check)


@pytest.mark.behaviour("mprotect")
def test_mprotect(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        region = map_libc(PAGE, flags)
        region.protect(PROT_READ)
        if case["step"] == "write-read-only":
            region.write(0, _TOUCH)
        elif case["step"] == "restore":
            region.protect(PROT_RW)
            region.write(0, _TOUCH)
            if region.read(0, 1) != _TOUCH:
                return "nonzero"
        return "ok"

    judge.run(check)


@pytest.mark.behaviour("madvise")
def test_madvise(case: Case, judge: Judge) -> None:
    judge.require_kernel_advice(case["advice"])

    def check() -> str:
        advice = judge.flags.value(case["advice"])
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        region = map_region(case["api"], PAGE, flags)
        region.write(0, _PATTERN)
        region.advise(advice)
        after = region.read(0, PAGE)
        return "preserved" if after == _PATTERN else fdkinds.content(after)

    judge.run(check)


@pytest.mark.behaviour("page-granularity")
def test_page_granularity(case: Case, judge: Judge) -> None:
    assumed = case["assumed"]
    small = 1 << shared_values.ASSUMED_PAGE_SHIFT

    def check() -> str:
        anonymous = MAP_PRIVATE | judge.flags.anonymous()
        if assumed == "pagesize":
            return outcomes.hex_value(getpagesize())
        if assumed == "offset-4k":
            return fdkinds.content(map_libc(small, anonymous, offset=small).read(0, small))
        if assumed == "length-4k":
            # Nothing may be mapped after the page: reserve two pages, give them back, and map
            # 4 KiB again at the first with MAP_FIXED (as page-rounding does with one byte).
            base = map_libc(2 * PAGE, anonymous).address
            munmap(base, 2 * PAGE)
            region = LibcRegion(
                mmap_raw(base, small, PROT_RW, anonymous | judge.flags.value("MAP_FIXED"), -1, 0), small
            )
            region.write(small, _TOUCH)
            return "ok"
        region = map_libc(2 * small, anonymous)
        if assumed == "fixed-4k":
            fixed = anonymous | judge.flags.value("MAP_FIXED")
            address = mmap_raw(region.address + small, small, PROT_RW, fixed, -1, 0)
            return "ok" if address == region.address + small else "elsewhere"
        if assumed == "mprotect-4k":
            mprotect(region.address, small, PROT_READ)
            region.write(small, _TOUCH)
            return "ok"
        if assumed == "mprotect-4k-inside":
            mprotect(region.address + small, small, PROT_READ)
            return "ok"
        munmap(region.address + small, small)
        return "ok"

    judge.run(check)
