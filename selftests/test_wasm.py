"""WebAssembly's two C libraries, observed for real: the C-library observer built for wasm32-wasi
(clang with wasi-libc) and for Emscripten (emcc), run under Node one instance a case (no fork),
its observations judged against platforms/wasi.toml and platforms/emscripten.toml with no
deviation and no error. Skipped with the reason where node, clang or emcc is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from anonmap.apis.syscall import build as observer
from anonmap.apis.syscall import wasm
from selftests.test_clib_observer import build_libc_observer, judge_observations


@pytest.mark.parametrize("os_name", ["wasi", "emscripten"])
def test_webassembly_observations_are_judged_with_no_deviation(tmp_path: Path, os_name: str) -> None:
    target = next(t for t, found in observer.LIBC_TARGETS.items() if found.os == os_name)
    missing = [
        tool for tool in ("node", observer.LIBC_TARGETS[target].compiler) if shutil.which(tool) is None
    ]
    if missing:
        pytest.skip(f"unsupported: no {', '.join(missing)} on PATH")
    binary = build_libc_observer(tmp_path / "observer", "--target", target)
    work = tmp_path / "work"
    work.mkdir()
    ran = wasm.observe(wasm.command(binary, work), "real", 30.0)
    assert ran.ok, ran.stderr
    header = json.loads(ran.stdout.splitlines()[0])
    assert header["uname"]["machine"] == "wasm32" and not header["capabilities"]["fork"]["available"]
    results = judge_observations(tmp_path, ran.stdout)
    assert results["run_info"]["os"] == os_name
    libc = [r for r in results["records"] if r["params"].get("api") == "libc"]
    # Fork absent is said, never an error: each case needing it is unsupported with the reason.
    assert any(r["verdict"] == "pass" for r in libc)
    assert all(r["detail"] for r in libc if r["verdict"] == "unsupported")
