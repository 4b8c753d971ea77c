"""The HTML matrix in a real headless browser: rendered on a laptop and a phone screen, its
filters, permalinks and scrolling working from what the page itself carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anonmap.reporting import browser, html
from anonmap.reporting.matrix import build
from anonmap.reporting.runs import read, read_inputs
from selftests.helpers import write_results
from selftests.png import colours
from selftests.synthetic import write_platforms

BROWSER = browser.find()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="unsupported: no Chromium or Chrome on PATH")
SCREENS = pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)], ids=["laptop", "phone"])


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _near(counted: dict[tuple[int, int, int], int], colour: str) -> int:
    want = _rgb(colour)
    return sum(
        n for rgb, n in counted.items() if all(abs(a - b) <= 3 for a, b in zip(rgb, want, strict=True))
    )


@pytest.fixture
def two(tmp_path: Path) -> Path:
    """Linux and FreeBSD: fd=0 differs (a FreeBSD deviation), fd=closed agrees."""
    a = write_results(
        tmp_path / "a.json", "linux", {"libc-private-fd=0": "zero", "libc-private-fd=closed": "zero"}
    )
    b = write_results(
        tmp_path / "b.json", "freebsd", {"libc-private-fd=0": "EINVAL", "libc-private-fd=closed": "zero"}
    )
    page = tmp_path / "matrix.html"
    page.write_text(html.render(build([*read(a), *read(b)])))
    return page


def _dom(page: Path, tail: str, width: int, height: int = 844) -> str:
    assert BROWSER is not None
    dom = browser.dump_dom(BROWSER, page.as_uri() + tail, width, height)
    assert 'data-ready="1"' in dom, "the page's script did not run"
    return dom


def _shown(dom: str) -> str:
    found = re.search(r"<output>(.*?)</output>", dom)
    assert found is not None
    return found[1]


@needs_browser
@SCREENS
def test_the_matrix_renders_with_verdict_colours(two: Path, tmp_path: Path, width: int, height: int) -> None:
    shot = tmp_path / "shot.png"
    assert BROWSER is not None
    browser.screenshot(BROWSER, two, shot, width, height)
    assert shot.exists(), "the browser wrote no screenshot"
    shot_width, _, counted = colours(shot)
    assert shot_width == width
    # The table is drawn: pass and deviation cells show in their colours, at a cell's size.
    assert _near(counted, html.COLOURS["pass"]) > 300
    assert _near(counted, html.COLOURS["deviation"]) > 300


@needs_browser
def test_filters_come_from_the_link_and_hide_what_they_leave_out(two: Path) -> None:
    every = _shown(_dom(two, "", 1366))
    rows = int(every.split()[-2])
    assert every == f"{rows} of {rows} rows"
    for query in ("?v=v-deviation", "?d=1", "?q=libc-private-fd%3D0", "?b=fd-argument&q=EINVAL"):
        dom = _dom(two, query, 1366)
        assert _shown(dom) == f"1 of {rows} rows", query
        assert '<tr class="r d" id="fd-argument/libc-private-fd=0">' in dom, query
        assert '<tr class="r" id="fd-argument/libc-private-fd=closed" hidden="">' in dom, query
    assert _shown(_dom(two, "?q=no-such-outcome", 1366)) == f"0 of {rows} rows"
    # One platform shown: the other's column hides, header and cells.
    dom = _dom(two, "?p=Linux_1.0_x86_64", 1366)
    assert '<th data-p="Freebsd_1.0_x86_64" hidden="">' in dom
    assert re.search(r'id="fd-argument/libc-private-fd=0@Freebsd_1.0_x86_64"[^>]* hidden=""', dom)


@needs_browser
def test_every_behaviour_case_and_cell_has_a_permalink(two: Path) -> None:
    cell = 'id="fd-argument/libc-private-fd=0@Freebsd_1.0_x86_64"'
    dom = _dom(two, f"#{cell[4:-1]}", 1366)
    assert re.search(rf'<td class="v-deviation target"[^>]* {cell}', dom), "the linked cell is not marked"
    assert '<tbody id="fd-argument">' in dom
    row = _dom(two, "#fd-argument/libc-private-fd=closed", 1366)
    assert '<tr class="r target" id="fd-argument/libc-private-fd=closed">' in row


#: Run after the page's own script: scroll the matrix to its right end and say whether the last
#: platform's column and the case column are both inside the window.
_REACH = """<script>
const box = document.querySelector(".scroll:has(table.matrix)");
const wide = box.scrollWidth > box.clientWidth;
box.scrollLeft = box.scrollWidth;
const last = document.querySelector("table.matrix thead th:last-child").getBoundingClientRect();
const first = document.querySelector("table.matrix tbody td.case").getBoundingClientRect();
document.documentElement.dataset.reach = [wide, last.right <= innerWidth + 1, first.left >= 0].join(" ");
</script></body>"""


@needs_browser
def test_on_a_phone_every_platform_is_a_scroll_away_with_the_case_column_kept(tmp_path: Path) -> None:
    runs, _ = read_inputs(write_platforms(tmp_path / "results", 13))
    page = tmp_path / "matrix.html"
    page.write_text(html.render(build(runs)).replace("</body>", _REACH))
    dom = _dom(page, "", 390)
    # Wider than the phone, so it scrolls; at its right end the last platform shows, and the
    # sticky case column still stands at the left.
    assert 'data-reach="true true true"' in dom
