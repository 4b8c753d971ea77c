"""What every HTML page shares: the head with its inline style, the legend, the filter form,
permalinks for rows and cases, linked citations, and the inline script (data/report/).

Self-contained: the style and the script are in the page; nothing is fetched when it is viewed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib import resources

from anonmap.expect.profiles import SHARED, ProfileError, load_profile
from anonmap.host import installation
from anonmap.reporting.citations import source_link
from anonmap.reporting.variants import Folded


@functools.cache
def _asset(name: str) -> str:
    return resources.files("anonmap").joinpath(f"data/report/{name}").read_text(encoding="utf-8")


def slug(label: str) -> str:
    """A platform's name as it stands in a permalink: no spaces."""
    return re.sub(r"\s+", "_", label.strip())


def slugs(names: Sequence[str]) -> list[str]:
    """Each column's permalink name: its name's slug, numbered where two names share one."""
    found = [slug(name) for name in names]
    return [s if found.count(s) == 1 else f"{s}-{n + 1}" for n, s in enumerate(found)]


def head(title: str, colours: Mapping[str, str]) -> list[str]:
    """The page's start: ``colours`` maps each cell class to its background."""
    rules = "\n".join(f".{name} {{ background: {colour}; }}" for name, colour in colours.items())
    return [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_asset('page.css').replace('/*COLOURS*/', rules)}</style>",
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
    ]


def tail() -> list[str]:
    return [f"<script>{_asset('page.js')}</script>", "</body></html>"]


def legend(items: Iterable[tuple[str, str]], marks: Iterable[str] = ()) -> str:
    """A key to the colours (cell class, what it means) and to the marks before outcomes."""
    colours = "".join(f'<span class="{name}">{escape(words)}</span>' for name, words in items)
    shown = "".join(f"<span>{escape(mark)}</span>" for mark in marks)
    return f'<p class="legend">{colours}</p>' + (f'<p class="legend">{shown}</p>' if shown else "")


def tools(
    platforms: Sequence[tuple[str, str]],
    behaviours: Iterable[tuple[str, str]],
    verdicts: Iterable[tuple[str, str]],
) -> str:
    """The filter form the script reads: search, behaviour, verdict (cell classes), platforms
    (each its column's data-p and its name), differences only."""
    options = "".join(f'<option value="{escape(b)}">{escape(title)}</option>' for b, title in behaviours)
    kinds = "".join(f'<option value="{escape(name)}">{escape(words)}</option>' for name, words in verdicts)
    boxes = "".join(
        f'<label><input type="checkbox" name="p" value="{escape(column)}" checked> {escape(name)}</label>'
        for column, name in platforms
    )
    return (
        '<form class="tools" id="tools" role="search">'
        '<input type="search" name="q" placeholder="search cases and outcomes" aria-label="search">'
        f'<select name="b" aria-label="behaviour"><option value="">every behaviour</option>{options}</select>'
        f'<select name="v" aria-label="verdict"><option value="">any outcome</option>{kinds}</select>'
        '<label><input type="checkbox" name="d" value="1"> differences only</label>'
        f"<details><summary>platforms</summary><fieldset>{boxes}</fieldset></details>"
        "<output></output></form>"
    )


class Tips:
    """Tooltips a page gives many cells (why a case did not run, the same for a whole
    platform): each written once, in a JSON list the script hands out, a cell naming its
    own by number."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def ref(self, text: str) -> str:
        """The attribute a cell carries for ``text``: ' data-t=N'."""
        return f" data-t={self._index.setdefault(text, len(self._index))}"

    def script(self) -> str:
        # "</" would end the script element early; JSON reads "<\/" as "</".
        data = json.dumps(list(self._index), ensure_ascii=False).replace("</", "<\\/")
        return f'<script type="application/json" id="tips">{data}</script>'


def cite(text: str, sources: Sequence[str] = ()) -> str:
    """A citation, its file linked at the revision it, or its profile's ``sources``, names."""
    found = source_link(text, sources)
    if found is None:
        return escape(text)
    url, start, end = found
    return f'{escape(text[:start])}<a href="{escape(url)}">{escape(text[start:end])}</a>{escape(text[end:])}'


@functools.cache
def _sources(profile: str) -> tuple[str, ...]:
    """The sources the installed profile (or shared facts file) called ``profile`` read."""
    directory = installation.profiles()
    for path in (directory / f"{profile}.toml", directory / SHARED / f"{profile}.toml"):
        try:
            return load_profile(path).sources
        except (ProfileError, OSError, ValueError):
            continue
    return ()


def citations(given: Mapping[str, Sequence[str]]) -> str:
    """Each distinct citation once, with who gives it (profiles, not platforms: many platforms
    share a profile, and a page repeating its citations for each would grow with them)."""
    return "".join(
        f"<li>{cite(text, [s for name in who for s in _sources(name)])} <i>({escape(', '.join(who))})</i></li>"
        for text, who in given.items()
    )


def row_ids(lines: Sequence[Folded]) -> list[tuple[str, str]]:
    """Per line, its permalink id and its case cell: the id is behaviour/key, or behaviour/case
    where that key names more than one line; each interface in the cell is its case's anchor."""
    keys = [line.key for line in lines]
    found = []
    for line in lines:
        unique = line.interfaces and line.key and keys.count(line.key) == 1
        row = f"{line.behaviour}/{line.key if unique else line.cases[0]}"
        anchors = " ".join(
            f'<span id="{escape(f"{line.behaviour}/{case}")}">{escape(interface)}</span>'
            if f"{line.behaviour}/{case}" != row
            else f"<span>{escape(interface)}</span>"
            for case, interface in zip(line.cases, line.interfaces, strict=False)
        )
        key = escape(line.key if line.interfaces else line.cases[0])
        found.append((row, f"{key} {anchors}".strip()))
    return found
