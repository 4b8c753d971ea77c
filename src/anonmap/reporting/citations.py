"""Links from a citation to the source file it names, at the revision the profile read.

Profiles cite source as ``src: openbsd sys/sys/mman.h rev 1.34 (openbsd/src 02dbcf75add5): ...``:
the file's path, then in parentheses the GitHub repository (owner/name) and the commit read.
Most citations name the file alone (``src: freebsd sys/vm/vm_mmap.c kern_mmap(): ...``): the
repository and revision read are then those the profile's ``sources`` give for that file
(``sys/vm/vm_mmap.c kern_mmap(): bnovkov/freebsd-src 222452fb5ffa``). A link is made only from
what the citation and its profile say; a file no source names with a repository and a commit
or release gets no link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The repository and the commit read: '(openbsd/src 02dbcf75add5' (7 to 40 hex digits).
_REVISION = re.compile(r"\((?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) (?P<commit>[0-9a-f]{7,40})\b")
#: A file's path: directories, then a name with an extension ('mm/mmap.c').
_PATH = re.compile(r"(?<![\w/.-])(?P<path>(?:[\w.+-]+/)+[\w+-]+(?:\.[\w+-]+)*\.[A-Za-z]{1,4})(?![\w/])")
#: In a profile's source: a repository and the commit or release read after it
#: ('bnovkov/freebsd-src 222452fb5ffa', 'emscripten-core/emscripten 3.1.6').
_SOURCE_REVISION = re.compile(
    r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) (?P<commit>[0-9a-f]{7,40}|v?\d+(?:\.\d+)+|release-[\w.]+)\b"
)
#: Where the repositories the profiles name are read.
HOST = "https://github.com"


def source_link(cite: str, sources: Sequence[str] = ()) -> tuple[str, int, int] | None:
    """(the URL, where the path starts and ends in ``cite``), or None when neither the citation
    nor one of its profile's ``sources`` names its file with a repository and a revision."""
    revision = _REVISION.search(cite)
    path = _PATH.search(cite, 0, revision.start() if revision else len(cite))
    if path is None:
        return None
    if revision is None:
        revision = _read_at(path["path"], sources)
        if revision is None:
            return None
    url = f"{HOST}/{revision['repo']}/blob/{revision['commit']}/{path['path']}"
    return url, path.start(), path.end()


def _read_at(path: str, sources: Sequence[str]) -> re.Match[str] | None:
    """The repository and revision of the source that is about ``path`` (names it first); a
    source naming it along the way (an older tree read beside the main one) is not enough."""
    for source in sources:
        if source.startswith(f"{path} ") and (found := _SOURCE_REVISION.search(source, len(path))):
            return found
    return None
