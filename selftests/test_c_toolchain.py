"""The C layer's harness: reading what the preprocessor expanded, and no compiler on PATH."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from anonmap.host import compilers as ctoolchain
from selftests.helpers import run_suite


@pytest.mark.parametrize(
    ("expansion", "value"),
    [
        ("0x20", 0x20),
        ("(0x1000)", 0x1000),
        ("0x0800", 0x800),
        ("256", 256),
        ("( 0x10 )", 0x10),
        ("0x20U", 0x20),
    ],
)
def test_expansions_read_as_values(expansion: str, value: int) -> None:
    assert ctoolchain._value("MAP_ANON", expansion) == value


def test_an_unexpanded_name_is_absent() -> None:
    assert ctoolchain._value("MAP_ANONYMOUS", "MAP_ANONYMOUS") is None


def test_an_expression_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="not a plain integer constant"):
        ctoolchain._value("MAP_ANON", "(1 << 5)")


@pytest.mark.skipif(shutil.which("cc") is None, reason="unsupported: no cc on PATH")
def test_preprocessing_reports_values_and_warnings() -> None:
    result = ctoolchain.preprocess(shutil.which("cc") or "cc", (), 30.0)
    assert result.error == ""
    assert set(result.values) == set(ctoolchain.NAMES)


def test_without_compilers_on_path_the_c_cases_are_unsupported(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    run = run_suite(tmp_path, ["-n", "0", "-k", "test_c_"], path=str(empty))
    assert run.returncode == 0, run.output
    assert run.results is not None
    records = run.results["records"]
    assert {r["behaviour"] for r in records} == {
        "c-seed-demo",
        "c-header-visibility",
        "c-feature-warnings",
        "c-python-agree",
    }
    assert {r["verdict"] for r in records} == {"unsupported"}
    assert all("c-compiler" in r["detail"] for r in records)


@pytest.mark.parametrize(
    ("triple", "arch", "expected"),
    [
        ("x86_64-linux-gnu", "x86_64", True),
        ("x86_64-pc-linux-gnu", "x86_64", True),
        ("arm64-apple-darwin23.4.0", "aarch64", True),
        ("aarch64-unknown-freebsd14.1", "aarch64", True),
        ("x86_64-unknown-freebsd14.1", "x86_64", True),
        ("mips64el-linux-gnuabi64", "mips64", True),
        ("x86_64-linux-gnu", "mips64", False),
        ("", "x86_64", False),
    ],
)
def test_a_compiler_counts_only_when_it_builds_for_this_machine(
    triple: str, arch: str, expected: bool
) -> None:
    assert ctoolchain.builds_for(triple, arch) is expected
