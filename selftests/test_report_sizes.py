"""The CI job summary and the merged page stay small as platforms are added: measured on 13
and 52 synthetic platforms (every catalogue case each, a few deviating; selftests/synthetic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonmap import cli
from selftests.synthetic import write_platforms

#: GitHub's cap on a step's summary is 1 MiB; the issue's budget is far below it.
SUMMARY_AT_13 = 100_000
SUMMARY_PER_PLATFORM = 2_000
MERGED_PAGE_AT_52 = 1_000_000


def _merge(tmp_path: Path, count: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The summary `anonmap merge --summary` appends for ``count`` platforms (one of them
    expected but missing), and the size of the merged HTML page."""
    directory = tmp_path / str(count)
    paths = write_platforms(directory, count)
    summary = directory / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for name, value in (
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "o/anonmap"),
        ("GITHUB_RUN_ID", "7"),
    ):
        monkeypatch.setenv(name, value)
    page = directory / "matrix.html"
    status = cli.main(
        [
            "merge",
            *map(str, paths),
            "--html",
            str(page),
            "--markdown",
            str(directory / "matrix.md"),
            "--summary",
            "--expect",
            "vanished-riscv64",
        ]
    )
    assert status == cli.EXIT_MISSING
    return summary.read_text(encoding="utf-8"), page.stat().st_size


def test_the_summary_and_the_merged_page_fit_at_13_and_52_platforms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, _ = _merge(tmp_path, 13, monkeypatch)
    large, page = _merge(tmp_path, 52, monkeypatch)
    at_13, at_52 = len(small.encode()), len(large.encode())
    assert at_13 <= SUMMARY_AT_13, at_13
    assert (at_52 - at_13) / (52 - 13) <= SUMMARY_PER_PLATFORM, (at_13, at_52)
    assert page < MERGED_PAGE_AT_52, page


def test_the_summary_names_missing_platforms_and_deviations_first_then_counts_and_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, _ = _merge(tmp_path, 13, monkeypatch)
    missing, deviations, counts = (
        text.index(h) for h in ("No results from 1", "Deviations:", "## Platforms")
    )
    assert missing < deviations < counts
    assert "**vanished-riscv64**" in text and "observed `SIGSEGV`" in text
    assert (
        "(`matrix.html`, `matrix.md`) are in [this run's artifacts](https://github.com/o/anonmap/actions/runs/7#artifacts)"
        in text
    )
    # The matrix itself is in the pages, not the summary.
    assert "## Matrix" not in text and "Citations" not in text
