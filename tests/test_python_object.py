"""What CPython's mmap.mmap(-1, n) object does beyond mapping: resize() and size()."""

from __future__ import annotations

import mmap

import pytest

from anonmap.apis.cpython import python_errors
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("python-mmap-api")
def test_python_mmap_api(case: Case, judge: Judge) -> None:
    use = case["use"]

    def check() -> str:
        if use == "size":
            with python_errors("mmap.size"):
                return "ok" if mmap.mmap(-1, PAGE).size() == PAGE else "nonzero"
        with python_errors("mmap.mmap"):
            mapped = mmap.mmap(-1, PAGE, flags=SHARING_FLAGS[case["sharing"]])
        with python_errors("mmap.resize"):
            mapped.resize(2 * PAGE)
        if use == "resize":
            return "ok" if len(mapped) == 2 * PAGE else "nonzero"
        # Resizing a shared anonymous mapping can leave the new page without backing: the
        # write runs in the check's child, where a SIGBUS is the outcome.
        mapped[PAGE] = 1
        return "ok"

    judge.run(check)
