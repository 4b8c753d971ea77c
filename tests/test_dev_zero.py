"""The /dev/zero fallback the seed recommends for "systems like BSD"."""

from __future__ import annotations

import os

import pytest

from anonmap.apis import fdkinds, forking
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.apis.registry import map_region
from anonmap.expect import shared_values
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("dev-zero")
def test_dev_zero(case: Case, judge: Judge) -> None:
    api, flags = case["api"], SHARING_FLAGS[case["sharing"]]

    def zero_fill() -> str:
        return fdkinds.content(map_region(api, 2 * PAGE, flags, fd=fdkinds.dev_zero()).read(0, 2 * PAGE))

    def fork() -> str:
        return forking.sharing(map_region(api, PAGE, flags, fd=fdkinds.dev_zero()), "child-to-parent")

    def independence() -> str:
        fd = fdkinds.dev_zero()
        first, second = map_region(api, PAGE, flags, fd=fd), map_region(api, PAGE, flags, fd=fd)
        first.write(0, shared_values.FIRST)
        return fdkinds.apart(second.read(0, len(shared_values.FIRST)))

    def read_only_fd() -> str:
        # PROT_READ|PROT_WRITE (the default) through a descriptor opened read-only.
        region = map_region(api, PAGE, flags, fd=fdkinds.dev_zero(os.O_RDONLY))
        return fdkinds.content(region.read(0, PAGE))

    checks = {
        "zero-fill": zero_fill,
        "fork": fork,
        "independence": independence,
        "read-only-fd": read_only_fd,
    }
    judge.run(checks[case["property"]])
