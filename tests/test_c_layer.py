"""The C layer: the seed's demonstration program, and what <sys/mman.h> declares under each
compiler and feature-test configuration."""

from __future__ import annotations

import functools
import re

import pytest

from anonmap.apis.flags import ANONYMOUS_NAMES
from anonmap.expect import errnos
from anonmap.expect.catalogue import Case
from anonmap.expect.outcomes import hex_value
from anonmap.host import compilers as ctoolchain
from anonmap.host import processes
from anonmap.plugin.judge import SANDBOX_ANSWERS, Judge

pytestmark = pytest.mark.xdist_group("c-layer")

_SHARED = "Child started, value = 1\nIn parent, value = 2\n"
_PRIVATE = "Child started, value = 1\nIn parent, value = 1\n"
_METHOD_FLAGS = {"map-anon": ("-DUSE_MAP_ANON",), "dev-zero": ()}


def _found(judge: Judge) -> tuple[tuple[str, str], ...]:
    return tuple((name, path) for name, path in judge.compilers().items() if path)


# Each compiler is checked once per process, and everything is built once, all of it in
# parallel, and shared by the cases; the C-layer tests share an xdist group so that one worker
# does it. A failure is remembered like a success: a broken compiler costs one time limit.
@functools.cache
def _toolchains(
    compilers: tuple[tuple[str, str], ...], arch: str, time_limit: float
) -> dict[str, ctoolchain.Toolchain]:
    return ctoolchain.checks(dict(compilers), arch, time_limit)


def _usable(judge: Judge, name: str) -> tuple[tuple[str, str], ...]:
    """The compilers that built and ran a trivial program for this machine; skip the case as
    unsupported unless the named one is among them. Under qemu-user, say, the host's compiler
    is on PATH but targets the host's architecture."""
    judge.require_compiler(name)
    found = _found(judge)
    toolchains = _toolchains(found, judge.arch, judge.time_limit)
    if toolchains[name].unsupported:
        judge.unsupported(f"{name} ({toolchains[name].path}) {toolchains[name].unsupported}")
    return tuple((n, path) for n, path in found if not toolchains[n].unsupported)


@functools.cache
def _matrix(
    compilers: tuple[tuple[str, str], ...], time_limit: float
) -> dict[tuple[str, str], ctoolchain.Preprocessed]:
    return ctoolchain.preprocess_matrix(dict(compilers), time_limit)


def _preprocessed(
    judge: Judge, usable: tuple[tuple[str, str], ...], compiler: str, config: str
) -> ctoolchain.Preprocessed:
    preprocessed = _matrix(usable, judge.time_limit)[compiler, config]
    if preprocessed.unsupported:
        judge.unsupported(f"{compiler}: {preprocessed.unsupported}")
    return preprocessed


@functools.cache
def _demos(
    compilers: tuple[tuple[str, str], ...], time_limit: float
) -> dict[tuple[str, str], ctoolchain.Ran]:
    return ctoolchain.build_demos(dict(compilers), _METHOD_FLAGS, time_limit)


@pytest.mark.behaviour("c-seed-demo")
def test_c_seed_demo(case: Case, judge: Judge) -> None:
    usable = _usable(judge, case["compiler"])
    ran = _demos(usable, judge.time_limit)[case["compiler"], case["method"]]
    if ran.unsupported:
        judge.unsupported(f"{case['compiler']}: {ran.unsupported}")
    elif not ran.compiled:
        judge.program_outcome("compile-error", ran.stderr.strip())
    elif ran.returncode < 0:
        judge.program_outcome(processes.signal_name(-ran.returncode), ran.stderr.strip())
    elif (failed := re.search(r"failed: errno (\d+)", ran.stderr)) is not None:
        number = int(failed.group(1))
        # musl's mmap() reports the kernel's EPERM for an anonymous mapping as ENOMEM
        # (src/mman/mmap.c, "Fixup incorrect EPERM from kernel"), so a sandbox's EPERM reaches
        # a musl program as ENOMEM.
        musl = ("ENOMEM",) if case["compiler"] == "musl-gcc" else ()
        judge.program_outcome(errnos.name(number), ran.stderr.strip(), (*SANDBOX_ANSWERS, *musl))
    else:
        outcome = {_SHARED: "shared", _PRIVATE: "private"}.get(ran.stdout, "unexpected-output")
        judge.program_outcome(outcome, ran.stdout.strip())


@pytest.mark.behaviour("c-header-visibility")
def test_c_header_visibility(case: Case, judge: Judge) -> None:
    usable = _usable(judge, case["compiler"])
    preprocessed = _preprocessed(judge, usable, case["compiler"], case["config"])
    if preprocessed.error:
        judge.program_outcome("compile-error", preprocessed.error)
        return
    value = preprocessed.values.get(case["name"])
    judge.program_outcome(
        "absent" if value is None else hex_value(value), " ".join(ctoolchain.CONFIGS[case["config"]])
    )


@pytest.mark.behaviour("c-feature-warnings")
def test_c_feature_warnings(case: Case, judge: Judge) -> None:
    usable = _usable(judge, case["compiler"])
    preprocessed = _preprocessed(judge, usable, case["compiler"], case["config"])
    judge.program_outcome("warns" if preprocessed.warnings else "quiet", "\n".join(preprocessed.warnings))


@pytest.mark.behaviour("c-python-agree")
def test_c_python_agree(case: Case, judge: Judge) -> None:
    usable = _usable(judge, case["compiler"])
    preprocessed = _preprocessed(judge, usable, case["compiler"], "none")
    header = next((v for n in ANONYMOUS_NAMES if (v := preprocessed.values.get(n)) is not None), None)
    module = next((v for n in ANONYMOUS_NAMES if (v := judge.flags.module_value(n)) is not None), None)
    if header is None or module is None:
        judge.program_outcome("absent", f"header {header}, mmap module {module}")
    else:
        detail = f"header {hex_value(header)}, mmap module {hex_value(module)}"
        judge.program_outcome("equal" if header == module else "different", detail)
