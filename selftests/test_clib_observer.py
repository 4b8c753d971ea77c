"""The observer's C-library backend (data/observer/libc.h): the same checks through the C
library's functions, making the libc api's cases from C.

Built here with cc (and musl-gcc where installed), its observations judged through
--anonmap-observations must pass every libc case the ctypes run passes; a header it prints is
checked against itself as the raw observer's is. `anonmap observer --output DIR/` writes into
the directory, one file a target (selftests/test_wasm.py runs it under Node).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from anonmap.apis.syscall import build as observer
from anonmap.apis.syscall.header import checked
from anonmap.files.checked import Malformed
from anonmap.host.probe import observed, probe
from selftests.helpers import anonmap_cli, run_suite

#: The runs on this machine build for Linux with its cc.
linux_with_cc = pytest.mark.skipif(
    platform.system() != "Linux" or shutil.which("cc") is None,
    reason="unsupported: these runs build the observer for Linux with cc",
)


def build_libc_observer(directory: Path, *args: str) -> Path:
    done = anonmap_cli("observer", "--api", "libc", "--output", f"{directory}/", *args)
    assert done.returncode == 0, done.stderr
    (binary,) = directory.iterdir()
    return binary


def judge_observations(tmp_path: Path, observations: str) -> dict[str, Any]:
    path = tmp_path / "observations.jsonl"
    path.write_text(observations)
    run = run_suite(tmp_path, ["-n", "0", f"--anonmap-observations={path}"])
    assert run.results is not None, run.output
    counts = run.results["counts"]
    assert counts.get("deviation", 0) == 0 and counts.get("error", 0) == 0, run.output
    return run.results


@linux_with_cc
@pytest.mark.parametrize("compiler", ["cc", "musl-gcc"])
def test_the_c_library_observer_passes_every_libc_case_here(tmp_path: Path, compiler: str) -> None:
    if shutil.which(compiler) is None:
        pytest.skip(f"unsupported: no {compiler} on PATH")
    binary = build_libc_observer(tmp_path / "observer", "--cc", compiler)
    done = subprocess.run(
        [str(binary), "--on", "real"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    header = json.loads(done.stdout.splitlines()[0])
    assert (header["api"], header["abi"]) == ("libc", f"libc-linux-{platform.machine()}")
    # The C library it ran on, as the probe names this machine's (musl names no version).
    here = probe()
    expected = "musl" if compiler == "musl-gcc" else f"{here.libc} {here.libc_version}"
    assert header["libc"] == expected
    results = judge_observations(tmp_path, done.stdout)
    name, _, version = expected.partition(" ")
    assert (results["run_info"]["libc"], results["run_info"]["libc_version"]) == (name, version)
    libc = [r for r in results["records"] if r["params"].get("api") == "libc"]
    assert len(libc) == len(observer.cases(observer.LIBC_API))
    assert {r["verdict"] for r in libc} <= {"pass", "unsupported"}
    # Every other api's case was not observed: the file holds the libc api's cases alone.
    others = [r for r in results["records"] if r["params"].get("api") != "libc"]
    assert all(r["verdict"] == "unsupported" and "not observed" in r["detail"] for r in others)


def _header(**changes: Any) -> dict[str, Any]:
    header = {
        "format": "anonmap-observations/1",
        "catalogue": "0123456789abcdef",
        "api": "libc",
        "abi": "libc-wasi-wasm32",
        "on": "real",
        "binary_abi": "",
        "uname": {"sysname": "wasi", "release": "0.0.0", "version": "0.0.0", "machine": "wasm32"},
        "page_size": 65536,
        "time_limit_ms": 10000,
        "capabilities": {
            name: {"available": name != "fork", "detail": ""} for name in ("fork", "dev-zero", "exec-memory")
        },
        "compat": [],
        "settings": {},
        "cases": 1,
    }
    return {**header, **changes}


def test_a_c_library_header_is_checked_against_itself() -> None:
    assert checked(_header())["abi"] == "libc-wasi-wasm32"
    emscripten = {"sysname": "Emscripten", "release": "1.0", "version": "#1", "machine": "wasm32"}
    assert checked(_header(abi="libc-emscripten-wasm32", uname=emscripten))
    # The C library that comes with the system is the probe's <os>-libc at the release; a file
    # from an observer that did not say is judged as before.
    assert checked(_header(libc="system"))
    assert observed(emscripten, 65536, "", {}, (), {}, "system").libc == "emscripten-libc"
    assert observed(emscripten, 65536, "", {}, (), {}).libc == "none"
    for changes in (
        {"abi": "libc-linux-x86_64"},  # uname says wasi
        {"abi": "wasi-wasm32"},  # the raw observer has no such ABI
        {"api": "syscall"},  # nor does the raw observer print libc-<os>-<arch>
        {"page_size": 4096},  # WebAssembly's page is 64 KiB
        {"binary_abi": "1300000"},  # only the raw FreeBSD observer is branded
        {"libc": "x" * 65},  # the observer prints at most 63 characters
    ):
        with pytest.raises(Malformed):
            checked(_header(**changes))


@linux_with_cc
def test_the_observer_goes_into_a_directory_and_a_second_target_beside_it(tmp_path: Path) -> None:
    directory = tmp_path / "observer"
    assert anonmap_cli("observer", "--output", f"{directory}/").returncode == 0
    assert anonmap_cli("observer", "--api", "libc", "--output", f"{directory}/").returncode == 0
    names = sorted(path.name for path in directory.iterdir())
    machine = platform.machine()
    assert names == [f"anonmap-observer-libc-linux-{machine}", f"anonmap-observer-linux-{machine}"]
    refused = anonmap_cli("observer", "--target", "wasm32-wasi", "--output", f"{directory}/")
    assert refused.returncode == 2 and "--api libc" in refused.stderr
