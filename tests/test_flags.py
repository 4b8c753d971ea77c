"""Names and values around MAP_ANONYMOUS, and Python's defaults."""

from __future__ import annotations

import pytest

from anonmap.apis import fdkinds, forking
from anonmap.apis.cpython import map_python_defaults
from anonmap.apis.region import PAGE
from anonmap.expect.catalogue import Case
from anonmap.expect.outcomes import hex_value
from anonmap.plugin.judge import Judge


@pytest.mark.behaviour("names-values")
def test_names_values(case: Case, judge: Judge) -> None:
    # The observation is what CPython was compiled with: the platform's own header. The
    # profile's constants never enter here, or the case would compare the profile with itself.
    def check() -> str:
        if case["constant"] == "MAP_ANON-vs-MAP_ANONYMOUS":
            anon, anonymous = (judge.flags.module_value(name) for name in ("MAP_ANON", "MAP_ANONYMOUS"))
            if anon is None or anonymous is None:
                return "absent"
            return "equal" if anon == anonymous else "different"
        value = judge.flags.module_value(case["constant"])
        return "absent" if value is None else hex_value(value)

    judge.run(check)


@pytest.mark.behaviour("python-defaults")
def test_python_defaults(case: Case, judge: Judge) -> None:
    def check() -> str:
        region = map_python_defaults(PAGE)
        prop = case["property"]
        if prop == "sharing":
            return forking.sharing(region, "child-to-parent")
        if prop == "zero-fill":
            return fdkinds.content(region.read(0, PAGE))
        region.write(0, b"\x01")
        return "ok" if region.read(0, 1) == b"\x01" else "nonzero"

    judge.run(check)
