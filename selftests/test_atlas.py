"""The atlas: every profile's documented outcomes side by side, differences first, marked with
what runs saw, and readable in a real browser on a laptop and a phone."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from anonmap.expect.catalogue import behaviours, causes
from anonmap.expect.profiles import profile_paths
from anonmap.reporting import atlas, browser
from selftests.helpers import REPO, anonmap_cli, write_results
from selftests.png import colours

BROWSER = browser.find()


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    # A real-shaped Linux run that agrees on fd=0 and deviates on fd=closed.
    run = write_results(
        tmp_path / "linux.json", "linux", {"libc-private-fd=0": "zero", "libc-private-fd=closed": "EBADF"}
    )
    done = anonmap_cli("atlas", str(run), "--html", str(tmp_path / "atlas"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "atlas"


def _headers(index: str) -> list[str]:
    return [line for line in index.splitlines() if line.startswith("<th data-p=")]


def test_every_platform_and_case_is_there_with_the_baseline_first(pages: Path) -> None:
    index = (pages / "index.html").read_text()
    headers = _headers(index)
    assert headers[0] == '<th data-p="linux">linux</th>'
    assert len(headers) == len(profile_paths(REPO / "platforms"))
    # Every behaviour and case has its permalink, folded rows or not.
    for behaviour in behaviours().values():
        assert f'<tbody id="{behaviour.id}">' in index
        for case in behaviour.cases:
            assert f'id="{behaviour.id}/{case.id}"' in index, (behaviour.id, case.id)


def test_differences_come_first_and_the_second_page_has_only_them(pages: Path) -> None:
    index = (pages / "index.html").read_text()
    for body in index.split("<tbody")[1:]:
        # In each behaviour, the rows that differ from linux come before those that do not.
        rows = re.findall(r'<tr class="r( d)?"', body)
        assert rows == sorted(rows, reverse=True)
    assert '<tr class="r" ' in index
    only = (pages / "differences.html").read_text()
    assert '<tr class="r" ' not in only and '<tr class="r d" ' in only
    assert 0 < only.count('<tr class="r') < index.count('<tr class="r')


def test_the_differences_page_opens_with_what_to_change_by_cause(pages: Path) -> None:
    only = (pages / "differences.html").read_text()
    fd = causes()["fd"]
    assert only.index("<h2>What to change</h2>") < only.index('<table class="matrix">')
    line = re.search(rf"<li><b>{re.escape(escape(fd.summary))}</b>: (\d+) case\(s\), on ([^;]+);", only)
    assert line is not None and int(line[1]) > 1 and "freebsd" in line[2] and "linux" not in line[2]
    assert escape(fd.idiom) in only


def test_cells_say_where_their_knowledge_comes_from(pages: Path) -> None:
    index = (pages / "index.html").read_text()
    assert (
        f">{atlas.SOURCES['observed'][0]} zero\n" in index
        or f">{atlas.SOURCES['observed'][0]} zero<" in index
    )
    assert f">{atlas.SOURCES['deviation'][0]} zero → EBADF" in index  # linux, fd=closed: it deviated
    assert re.search(rf"<td class=h-refused data-t=\d+>{atlas.SOURCES['documented'][0]} EINVAL", index)
    # Each cell's tooltip says where its knowledge comes from, written once for the page.
    for source in ("observed", "deviation", "documented"):
        assert json.dumps(atlas.SOURCES[source][1], ensure_ascii=False) in index


def test_citations_link_their_source_file_at_the_revision_read(pages: Path) -> None:
    index = (pages / "index.html").read_text()
    assert (
        '<a href="https://github.com/openbsd/src/blob/02dbcf75add5/sys/sys/mman.h">sys/sys/mman.h</a>'
        in index
    )


def test_an_unknown_baseline_is_one_line(tmp_path: Path) -> None:
    done = anonmap_cli("atlas", "--html", str(tmp_path / "a"), "--baseline", "plan9")
    assert done.returncode == 3 and done.stderr.startswith("anonmap: plan9: no such platform")


@pytest.mark.skipif(BROWSER is None, reason="unsupported: no Chromium or Chrome on PATH")
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_the_atlas_renders_in_a_browser(pages: Path, tmp_path: Path, width: int, height: int) -> None:
    shot = tmp_path / "atlas.png"
    assert BROWSER is not None
    browser.screenshot(BROWSER, pages / "index.html", shot, width, height)
    shot_width, _, counted = colours(shot)
    assert shot_width == width
    refused = atlas.HAPPENS["refused"][1]
    want = tuple(int(refused[i : i + 2], 16) for i in (1, 3, 5))
    assert (
        sum(n for rgb, n in counted.items() if all(abs(a - b) <= 3 for a, b in zip(rgb, want, strict=True)))
        > 300
    )


def test_a_run_under_gvisor_is_a_column_of_its_own_never_a_mark_on_linux(tmp_path: Path) -> None:
    # gVisor's sentry answers for the kernel: a run under it documents gVisor (its profile's
    # compat = "gvisor" entries), so it must not mark Linux's documented cells as observed.
    path = write_results(tmp_path / "gvisor.json", "linux", {"libc-private-fd=0": "zero"})
    content = json.loads(path.read_text())
    content["run_info"]["compat"] = ["gvisor", "container"]
    content["records"][0]["expected"] = content["records"][0]["observed"] = "EINVAL"
    path.write_text(json.dumps(content))
    done = anonmap_cli("atlas", str(path), "--html", str(tmp_path / "atlas"))
    assert done.returncode == 0, done.stderr
    index = (tmp_path / "atlas" / "index.html").read_text()
    headers = _headers(index)
    assert headers[0] == '<th data-p="linux">linux</th>'
    assert headers[-1] == '<th data-p="linux_under_gvisor">linux under gvisor</th>'
    assert len(headers) == len(profile_paths(REPO / "platforms")) + 1
    row = next(line for line in index.splitlines() if 'id="fd-argument/libc-private-fd=0"' in line)
    cells = row.split("<td")[2:]
    assert atlas.SOURCES["documented"][0] in cells[0]  # linux: documented, not observed by gVisor
    assert f"{atlas.SOURCES['observed'][0]} EINVAL" in cells[-1]  # gVisor's own column
