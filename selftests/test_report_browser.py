"""The HTML matrix in a real headless browser: rendered on a laptop and a phone screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonmap.reporting import browser, html
from anonmap.reporting.matrix import build
from anonmap.reporting.runs import read
from selftests.helpers import write_results
from selftests.png import colours

BROWSER = browser.find()


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _near(counted: dict[tuple[int, int, int], int], colour: str) -> int:
    want = _rgb(colour)
    return sum(
        n for rgb, n in counted.items() if all(abs(a - b) <= 3 for a, b in zip(rgb, want, strict=True))
    )


@pytest.mark.skipif(BROWSER is None, reason="unsupported: no Chromium or Chrome on PATH")
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_the_matrix_renders_with_verdict_colours(tmp_path: Path, width: int, height: int) -> None:
    a = write_results(
        tmp_path / "a.json", "linux", {"libc-private-fd=0": "zero", "libc-private-fd=closed": "zero"}
    )
    b = write_results(
        tmp_path / "b.json", "freebsd", {"libc-private-fd=0": "EINVAL", "libc-private-fd=closed": "zero"}
    )
    page = tmp_path / "matrix.html"
    page.write_text(html.render(build([*read(a), *read(b)])))
    shot = tmp_path / "shot.png"
    assert BROWSER is not None
    browser.screenshot(BROWSER, page, shot, width, height)
    assert shot.exists(), "the browser wrote no screenshot"
    shot_width, _, counted = colours(shot)
    assert shot_width == width
    # The table is drawn: pass and deviation cells show in their colours, at a cell's size.
    assert _near(counted, html.COLOURS["pass"]) > 300
    assert _near(counted, html.COLOURS["deviation"]) > 300
