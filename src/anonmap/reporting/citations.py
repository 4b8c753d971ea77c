"""Links from a citation to the source file it names, at the revision the profile read.

Profiles cite source as ``src: openbsd sys/sys/mman.h rev 1.34 (openbsd/src 02dbcf75add5): ...``:
the file's path, then in parentheses the GitHub repository (owner/name) and the commit read.
A link is made only from what the citation says: the first path before that parenthesis, and
that repository and commit; a citation naming no commit gets no link.
"""

from __future__ import annotations

import re

#: The repository and the commit read: '(openbsd/src 02dbcf75add5' (7 to 40 hex digits).
_REVISION = re.compile(r"\((?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) (?P<commit>[0-9a-f]{7,40})\b")
#: A file's path: directories, then a name with an extension ('mm/mmap.c').
_PATH = re.compile(r"(?<![\w/.-])(?P<path>(?:[\w.+-]+/)+[\w+-]+(?:\.[\w+-]+)*\.[A-Za-z]{1,4})(?![\w/])")
#: Where the repositories the profiles name are read.
HOST = "https://github.com"


def source_link(cite: str) -> tuple[str, int, int] | None:
    """(the URL, where the path starts and ends in ``cite``), or None when the citation names
    no file with a repository and commit."""
    revision = _REVISION.search(cite)
    if revision is None:
        return None
    path = _PATH.search(cite, 0, revision.start())
    if path is None:
        return None
    url = f"{HOST}/{revision['repo']}/blob/{revision['commit']}/{path['path']}"
    return url, path.start(), path.end()
