"""A name this platform's own <sys/mman.h> defines is asked of the kernel even where the profile
leaves it out: the run reads the header with the machine's C compiler (anonmap.host.headers),
so a documented 'absent' is checked against the header, never confirmed by an omission."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from anonmap.host import headers
from selftests.helpers import REPO, run_suite


def test_a_header_expression_is_evaluated_only_when_it_is_a_constant() -> None:
    assert headers.evaluate("((21) << 24)") == 21 << 24
    assert headers.evaluate("0x20000UL") == 0x20000
    assert headers.evaluate("(-1)") == -1
    assert headers.evaluate("((vm_inherit_t) 2)") is None
    assert headers.evaluate("MAP_ALIGNED(21)") is None
    assert headers.evaluate("1 << 99") is None


def _without_constant(tmp_path: Path, name: str) -> Path:
    """A copy of the shipped profiles whose Linux profile gives no [[constant]] ``name``."""
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO / "platforms", profiles)
    linux = profiles / "linux.toml"
    blocks = re.split(r"(?m)^(?=\[\[)", linux.read_text())
    kept = [b for b in blocks if not (b.startswith("[[constant]]") and f'name = "{name}"' in b)]
    assert len(kept) < len(blocks)
    linux.write_text("".join(kept))
    return profiles


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("cc") is None,
    reason="unsupported: the run here reads glibc's <sys/mman.h> with cc on Linux",
)
def test_a_name_the_header_defines_is_never_absent_for_want_of_a_profile_entry(tmp_path: Path) -> None:
    profiles = _without_constant(tmp_path, "MAP_GROWSDOWN")
    selected = ["-n", "0", "-k", "stack_guards and (libc or syscall)", f"--anonmap-profiles={profiles}"]
    run = run_suite(tmp_path / "with", selected)
    assert run.results is not None, run.output
    growsdown = {
        r["case"]: (r["verdict"], r["observed"])
        for r in run.results["records"]
        if r["params"]["stack"].startswith("growsdown")
    }
    assert growsdown and {v for v, _ in growsdown.values()} == {"pass"}, growsdown
    assert "absent" not in {o for _, o in growsdown.values()}
    # With no compiler to read the header, the name is undefined: the cases are 'absent', which
    # Linux's profile (growsdown: ok) calls a deviation.
    bare = run_suite(tmp_path / "bare", selected, path=str(Path(sys.executable).parent))
    assert bare.results is not None, bare.output
    observed = {
        r["case"]: (r["verdict"], r["observed"])
        for r in bare.results["records"]
        if r["params"]["stack"].startswith("growsdown") and r["params"]["api"] == "libc"
    }
    assert observed and set(observed.values()) == {("deviation", "absent")}, observed
