"""Zero fill, the fd and offset arguments, and fd -1: the seed's first sentences."""

from __future__ import annotations

import pytest

from anonmap.apis import fdkinds
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.apis.registry import map_region
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge
from sizes import LENGTHS, OFFSETS, whole_pages


@pytest.mark.behaviour("zero-fill")
def test_zero_fill(case: Case, judge: Judge) -> None:
    length = LENGTHS[case["size"]]

    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        region = map_region(case["api"], length, flags)
        # libc's mapping covers whole pages, and all of them must be zero; Python's object
        # exposes only the length asked for.
        visible = whole_pages(length) if case["api"] == "libc" else length
        return fdkinds.content(region.read(0, visible))

    judge.run(check)


@pytest.mark.behaviour("fd-argument")
def test_fd_argument(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        region = map_region(case["api"], PAGE, flags, fd=fdkinds.make(case["fd"]))
        return fdkinds.content(region.read(0, PAGE))

    judge.run(check)


@pytest.mark.behaviour("fd-minus-one")
def test_fd_minus_one(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        return fdkinds.content(map_region(case["api"], PAGE, flags, fd=-1).read(0, PAGE))

    judge.run(check)


@pytest.mark.behaviour("offset-argument")
def test_offset_argument(case: Case, judge: Judge) -> None:
    sharing = SHARING_FLAGS[case["sharing"]]
    offset = OFFSETS[case["offset"]]
    anonymous = case["source"] == "anonymous"

    def check() -> str:
        flags = sharing | judge.flags.anonymous() if anonymous else sharing
        fd = -1 if anonymous else fdkinds.dev_zero()
        return fdkinds.content(map_region(case["api"], PAGE, flags, fd=fd, offset=offset).read(0, PAGE))

    judge.run(check)
