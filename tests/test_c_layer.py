"""The C layer: the seed's demonstration program, and what <sys/mman.h> declares under each
compiler and feature-test configuration."""

from __future__ import annotations

import errno
import functools
import re
import signal

import pytest

from anonmap import ctoolchain
from anonmap.catalogue import Case
from anonmap.constants import ANONYMOUS_NAMES
from anonmap.outcomes import hex_value
from anonmap.plugin import Judge

pytestmark = pytest.mark.xdist_group("c-layer")

_SHARED = "Child started, value = 1\nIn parent, value = 2\n"
_PRIVATE = "Child started, value = 1\nIn parent, value = 1\n"
_METHOD_FLAGS = {"map-anon": ("-DUSE_MAP_ANON",), "dev-zero": ()}


@functools.cache
def _targets(compilers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return ctoolchain.targets(dict(compilers))


def _found(judge: Judge) -> tuple[tuple[str, str], ...]:
    return tuple((name, path) for name, path in judge.compilers().items() if path)


def _usable(judge: Judge, name: str) -> None:
    """Skip the case unless the named compiler exists and builds for this machine: under
    qemu-user, say, the host's compiler is on PATH but targets the host's architecture."""
    judge.require_compiler(name)
    triple, arch = _targets(_found(judge))[name], judge.arch
    if not ctoolchain.builds_for(triple, arch):
        judge.unsupported(f"{name} builds for {triple or 'an unknown target'}, not for this {arch} machine")


# Everything is built once per process, all of it in parallel, and shared by the cases; the
# C-layer tests share an xdist group so that one worker does it.
@functools.cache
def _matrix(compilers: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], ctoolchain.Preprocessed]:
    return ctoolchain.preprocess_matrix(dict(compilers))


@functools.cache
def _demos(compilers: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], ctoolchain.Ran]:
    return ctoolchain.build_demos(dict(compilers), _METHOD_FLAGS)


@pytest.mark.behaviour("c-seed-demo")
def test_c_seed_demo(case: Case, judge: Judge) -> None:
    _usable(judge, case["compiler"])
    ran = _demos(_found(judge))[case["compiler"], case["method"]]
    if not ran.compiled:
        judge.observe("compile-error", ran.stderr.strip())
    elif ran.returncode < 0:
        judge.observe(signal.Signals(-ran.returncode).name, ran.stderr.strip())
    elif (failed := re.search(r"failed: errno (\d+)", ran.stderr)) is not None:
        number = int(failed.group(1))
        judge.observe(errno.errorcode.get(number, f"E{number}"), ran.stderr.strip())
    else:
        outcome = {_SHARED: "shared", _PRIVATE: "private"}.get(ran.stdout, "unexpected-output")
        judge.observe(outcome, ran.stdout.strip())


@pytest.mark.behaviour("c-header-visibility")
def test_c_header_visibility(case: Case, judge: Judge) -> None:
    _usable(judge, case["compiler"])
    preprocessed = _matrix(_found(judge))[case["compiler"], case["config"]]
    if preprocessed.error:
        judge.observe("compile-error", preprocessed.error)
    value = preprocessed.values[case["name"]]
    judge.observe(
        "absent" if value is None else hex_value(value), " ".join(ctoolchain.CONFIGS[case["config"]])
    )


@pytest.mark.behaviour("c-feature-warnings")
def test_c_feature_warnings(case: Case, judge: Judge) -> None:
    _usable(judge, case["compiler"])
    preprocessed = _matrix(_found(judge))[case["compiler"], case["config"]]
    judge.observe("warns" if preprocessed.warnings else "quiet", "\n".join(preprocessed.warnings))


@pytest.mark.behaviour("c-python-agree")
def test_c_python_agree(case: Case, judge: Judge) -> None:
    _usable(judge, case["compiler"])
    preprocessed = _matrix(_found(judge))[case["compiler"], "none"]
    header = next((v for n in ANONYMOUS_NAMES if (v := preprocessed.values.get(n)) is not None), None)
    module = next((v for n in ANONYMOUS_NAMES if (v := judge.constants.module_value(n)) is not None), None)
    if header is None or module is None:
        judge.observe("absent", f"header {header}, mmap module {module}")
    else:
        detail = f"header {hex_value(header)}, mmap module {hex_value(module)}"
        judge.observe("equal" if header == module else "different", detail)
