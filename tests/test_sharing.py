"""What fork does to anonymous mappings: sharing, copy-on-write, inheritance, independence."""

from __future__ import annotations

import pytest

from anonmap.apis import fdkinds, forking
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.apis.registry import map_region
from anonmap.expect import shared_values
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("shared-anonymous")
def test_shared_anonymous(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        return forking.sharing(map_region(case["api"], PAGE, flags), case["direction"])

    judge.run(check)


@pytest.mark.behaviour("inheritance")
def test_inheritance(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        return forking.inherited(map_region(case["api"], PAGE, flags))

    judge.run(check)


@pytest.mark.behaviour("distinct-mappings")
def test_distinct_mappings(case: Case, judge: Judge) -> None:
    def check() -> str:
        flags = SHARING_FLAGS[case["sharing"]] | judge.flags.anonymous()
        first = map_region(case["api"], PAGE, flags)
        second = map_region(case["api"], PAGE, flags)
        first.write(0, shared_values.FIRST)
        return fdkinds.apart(second.read(0, len(shared_values.FIRST)))

    judge.run(check)
