"""What CPython's mmap.mmap(-1, n) object does beyond mapping: resize() and size()."""

from __future__ import annotations

import mmap

import pytest

from anonmap.apis import fdkinds
from anonmap.apis.cpython import python_errors
from anonmap.apis.region import PAGE, SHARING_FLAGS
from anonmap.expect import shared_values
from anonmap.expect.catalogue import Case
from anonmap.plugin.judge import Judge
from anonmap.run.ending import EndsWith

_PATTERN = bytes([shared_values.TOUCH_BYTE]) * PAGE


@pytest.mark.behaviour("python-mmap-api")
def test_python_mmap_api(case: Case, judge: Judge) -> None:
    use = case["use"]

    def check() -> str:
        if use == "size":
            # Each call is named for itself: a refusal of mmap.mmap() is not size()'s.
            with python_errors("mmap.mmap"):
                mapped = mmap.mmap(-1, PAGE)
            with python_errors("mmap.size"):
                size = mapped.size()
            if size != PAGE:
                raise EndsWith("nonzero", f"mmap.size() is {size}, not the {PAGE} bytes mapped")
            return "ok"
        with python_errors("mmap.mmap"):
            mapped = mmap.mmap(-1, PAGE, flags=SHARING_FLAGS[case["sharing"]])
        mapped[:PAGE] = _PATTERN
        with python_errors("mmap.resize"):
            mapped.resize(2 * PAGE)
        if use == "resize":
            if len(mapped) != 2 * PAGE:
                raise EndsWith("nonzero", f"len() is {len(mapped)} after resize({2 * PAGE})")
            # resize() promises the object's contents, not only its length (mremap moves them).
            kept = mapped[:PAGE]
            return "ok" if kept == _PATTERN else fdkinds.content(kept)
        # Resizing a shared anonymous mapping can leave the new page without backing: the
        # write runs in the check's child, where a SIGBUS is the outcome.
        mapped[PAGE] = 1
        return "ok"

    judge.run(check)
