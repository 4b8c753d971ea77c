"""The /dev/zero fallback the seed recommends for "systems like BSD"."""

from __future__ import annotations

import os

import pytest

from anonmap import fdkinds, forking
from anonmap.calls import PAGE, PROT_RW, SHARING_FLAGS, map_region
from anonmap.catalogue import Case
from anonmap.plugin import Judge


@pytest.mark.behaviour("dev-zero")
def test_dev_zero(case: Case, judge: Judge) -> None:
    layer, flags = case["layer"], SHARING_FLAGS[case["sharing"]]

    def check() -> str:
        prop = case["property"]
        if prop == "read-only-fd":
            region = map_region(layer, PAGE, flags, fd=fdkinds.dev_zero(os.O_RDONLY), prot=PROT_RW)
            return fdkinds.content(region.read(0, PAGE))
        fd = fdkinds.dev_zero()
        region = map_region(layer, 2 * PAGE, flags, fd=fd)
        if prop == "zero-fill":
            return fdkinds.content(region.read(0, 2 * PAGE))
        if prop == "fork":
            return forking.sharing(region, "child-to-parent")
        second = map_region(layer, 2 * PAGE, flags, fd=fd)
        region.write(0, b"first")
        return "independent" if second.read(0, 5) == b"\0" * 5 else "aliased"

    judge.run(check)
