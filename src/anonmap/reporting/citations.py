"""Links from a citation to the source file it names, at the revision the profile read.

Profiles cite source as ``src: openbsd sys/sys/mman.h rev 1.34 (openbsd/src 02dbcf75add5): ...``:
the file's path, then in parentheses the GitHub repository (owner/name, or a short name listed in
``data/repositories.toml``: ``(illumos-gate 01355ae8e99e)``, ``(xnu-11417.101.15)``) and the
revision read (``(illumos/illumos-gate at 01355ae8)`` and ``(rev 1.161, openbsd/src at 003533bf)``
too). A commit alone (``src: xnu osfmk/vm/vm_user.c (1031c584a5e3)``) is read in the repository
the file's source names, or else in the one the list names for the tree. Most citations name the file alone
(``src: freebsd sys/vm/vm_mmap.c kern_mmap(): ...``), or give only the commit
(``src: xnu bsd/sys/mman.h (e3723e1f1766): ...``): the repository, and unless the citation gives
it the revision, are then those the profile's ``sources`` give for that file
(``sys/vm/vm_mmap.c kern_mmap(): bnovkov/freebsd-src 222452fb5ffa``; a source may list files
read at one revision, ``a.c f(); b.h: xnu-11417.101.15``), or else what the tree's source says:
one that starts with the tree's name, the repository and the revision read (``glibc
bminor/glibc 04e750e75b73``), unless the citation quotes the file from before it (``(before
2.37)``). A link is made only from what the
citation and its profile say; a file no source names with a repository and a commit or release
gets no link. A CVS revision (``rev 1.184``), which a GitHub mirror names by no commit, is linked
only in a tree ``data/repositories.toml`` lists with the form 'cvs': at the URL that serves a file
at a revision, or at the mirror commit found to carry that file's revision: ``src: netbsd sys/uvm/uvm_mmap.c rev 1.184 ...`` or ``src: netbsd sys/sys/mman.h
(rev 1.44.6.1): ...`` (the tree's name, the path, then its revision before the next path and
the citation's ': '), before any commit the citation gives; or at the revision the profile's
sources say the file was read at (``sys/uvm/uvm_mmap.c rev 1.184 (2022/07/07): ...``) when the
citation gives no commit that links the file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any, NamedTuple

from anonmap.files.tomlread import loads

#: The repository and the commit read: 'openbsd/src 02dbcf75add5', 'illumos/illumos-gate at 01355ae8'.
_OWNED = r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) (?:at )?(?P<commit>[0-9a-f]{7,40})\b"
#: A commit alone in parentheses: '(e3723e1f1766)', '(e3723e1f1766, ...'.
_BARE = re.compile(r"\((?P<commit>[0-9a-f]{7,40})[),]")
#: A file's path: directories, then a name with an extension ('mm/mmap.c').
_PATH = re.compile(r"(?<![\w/.-])(?P<path>(?:[\w.+-]+/)+[\w+-]+(?:\.[\w+-]+)*\.[A-Za-z]{1,4})(?![\w/])")
#: A build file at the top of the tree, which has no directory for ``_PATH`` to find: named
#: right after the tree, with the revision read in parentheses ('src: wasi-libc Makefile
#: (9886d3d6)'), so that no revision the citation gives for another file is taken for it.
_TOP_FILE = re.compile(r"(?P<path>Makefile|GNUmakefile|configure\.ac|CMakeLists\.txt|meson\.build)(?= \()")
_TREE_HEAD = re.compile(r"src: [\w.+-]+ ")
#: After the path, a citation of what the file said before the revision its tree was read at
#: ('glibc .../mman-linux.h (before 2.37): ...'): the tree's revision is not the one it quotes.
_OLDER = re.compile(r"[^:(]*\(before ")


def _top_file(cite: str) -> re.Match[str] | None:
    head = _TREE_HEAD.match(cite)
    return _TOP_FILE.match(cite, head.end()) if head else None


#: In a profile's source: a repository and the commit or release read after it
#: ('bnovkov/freebsd-src 222452fb5ffa', 'emscripten-core/emscripten 3.1.6').
_SOURCE_REVISION = re.compile(
    r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) (?P<commit>[0-9a-f]{7,40}|v?\d+(?:\.\d+)+|release-[\w.]+)\b"
)
#: Where the repositories the profiles name are read.
HOST = "https://github.com"


class Revision(NamedTuple):
    """A repository (owner/name), the commit or tag read in it, and where that was said."""

    repo: str
    commit: str
    start: int


@functools.cache
def _listed() -> tuple[dict[str, Any], ...]:
    """The [[repository]] tables of data/repositories.toml."""
    text = resources.files("anonmap").joinpath("data/repositories.toml").read_text(encoding="utf-8")
    return tuple(loads(text)["repository"])


@functools.cache
def repositories() -> dict[str, tuple[str, str]]:
    """The GitHub repositories data/repositories.toml lists by a short name:
    name -> (owner/name, 'commit' or 'tag')."""
    return {r["name"]: (r["repository"], r["form"]) for r in _listed() if r["form"] in ("commit", "tag")}


@functools.cache
def cvs_trees() -> dict[str, str]:
    """The CVS trees data/repositories.toml lists with their own server: name -> the URL of a
    file at a revision, with ``{path}`` and ``{revision}`` to fill in."""
    return {r["name"]: r["url"] for r in _listed() if r["form"] == "cvs" and "url" in r}


@functools.cache
def cvs_mirrors() -> dict[str, dict[str, str]]:
    """The CVS trees data/repositories.toml lists by the GitHub mirror commits found to carry a
    file's revision: name -> {'path revision': 'owner/name commit'}."""
    return {r["name"]: dict(r["revisions"]) for r in _listed() if r["form"] == "cvs" and "revisions" in r}


def _cvs_url(tree: str, path: str, revision: str) -> str | None:
    """Where the tree's file is served at the revision, or None where no mirror carries it."""
    if tree in cvs_trees():
        return cvs_trees()[tree].format(path=path, revision=revision)
    read = cvs_mirrors()[tree].get(f"{path} {revision}")
    if read is None:
        return None
    repo, commit = read.split()
    return f"{HOST}/{repo}/blob/{commit}/{path}"


#: A CVS revision: 'rev 1.184', 'rev 1.44.6.1'.
_CVS_REVISION = re.compile(r"\brev (?P<revision>\d+(?:\.\d+)+)\b")


@functools.cache
def _cvs_named() -> re.Pattern[str]:
    """A listed CVS tree's name before a path: 'netbsd sys/uvm/uvm_mmap.c'."""
    names = "|".join(re.escape(name) for name in [*cvs_trees(), *cvs_mirrors()]) or r"(?!)"
    return re.compile(rf"(?<![\w/.-])(?P<tree>{names}) (?=[\w.+-]+/)")


def _cvs_link(cite: str, sources: Sequence[str] = (), mirrored: bool = True) -> tuple[str, int, int] | None:
    """A file of a listed CVS tree at the CVS revision the citation gives for it (after its
    path, before the next path and before the ': ' that ends the citation's head), or else at
    the one its profile's ``sources`` say was read ('sys/uvm/uvm_mmap.c rev 1.184 (...): ...');
    with ``mirrored`` False, only in a tree served by its own server."""
    for tree in _cvs_named().finditer(cite):
        path = _PATH.match(cite, tree.end())
        if path is None or not (mirrored or tree["tree"] in cvs_trees()):
            continue
        following = _PATH.search(cite, path.end())
        head = cite.find(": ", path.end())
        stop = min(
            following.start() if following else len(cite),
            head if head >= 0 else len(cite),
        )
        given = _CVS_REVISION.search(cite, path.end(), stop)
        revision = given["revision"] if given else _cvs_read_at(path["path"], sources)
        url = _cvs_url(tree["tree"], path["path"], revision) if revision else None
        if url is not None:
            return url, path.start(), path.end()
    return None


def _cvs_read_at(path: str, sources: Sequence[str]) -> str | None:
    """The CVS revision of ``path`` a source names first: 'sys/uvm/uvm_mmap.c rev 1.184 ...'."""
    for source, after in _about(path, sources):
        if found := _CVS_REVISION.match(source, after + 1):
            return found["revision"]
    return None


@functools.cache
def _named() -> re.Pattern[str]:
    """A short name with its revision: 'illumos-gate 01355ae8e99e' or the tag 'xnu-11417.101.15'."""
    forms = [
        rf"(?P<c{i}>{re.escape(name)}) (?P<h{i}>[0-9a-f]{{7,40}})\b"
        if form == "commit"
        else rf"(?P<t{i}>{re.escape(name)}-\d+(?:\.\d+)+)\b"
        for i, (name, (_, form)) in enumerate(repositories().items())
    ]
    return re.compile(rf"(?<![\w/.-])(?:{'|'.join(forms)})")


def _from_name(found: re.Match[str]) -> Revision:
    for key, value in found.groupdict().items():
        if value is not None and key[0] == "c":
            return Revision(repositories()[value][0], found[f"h{key[1:]}"], found.start())
        if value is not None and key[0] == "t":
            return Revision(repositories()[value.rsplit("-", 1)[0]][0], value, found.start())
    raise AssertionError(found)


def _every(text: str, start: int, end: int, owned: re.Pattern[str]) -> list[Revision]:
    """Each repository and revision in ``text[start:end]``, owner/name or a listed name, in order."""
    found = [Revision(m["repo"], m["commit"], m.start()) for m in owned.finditer(text, start, end)]
    found += [_from_name(m) for m in _named().finditer(text, start, end)]
    return sorted(found, key=lambda r: r.start)


def _first(text: str, start: int, end: int, owned: re.Pattern[str]) -> Revision | None:
    """The first repository and revision in ``text[start:end]``."""
    return next(iter(_every(text, start, end, owned)), None)


#: The repository and commit read, in a parenthesis after the path, first or after other words:
#: '(openbsd/src 02dbcf75add5)', '(rev 1.161, openbsd/src at 003533bf)'.
_INLINE = re.compile(rf"\([^()]*?(?<![\w.-]){_OWNED}")


def _inline(cite: str) -> Revision | None:
    """The repository and revision a citation gives in parentheses, where it gives both."""
    found = [r for r in [_first(cite, 0, len(cite), _INLINE)] if r]
    found += [_from_name(m) for m in _named().finditer(cite) if m.start() and cite[m.start() - 1] == "("][:1]
    return min(found, key=lambda r: r.start, default=None)


def source_link(cite: str, sources: Sequence[str] = ()) -> tuple[str, int, int] | None:
    """(the URL, where the path starts and ends in ``cite``), or None when neither the citation
    nor one of its profile's ``sources`` names its file with a repository and a revision, and the
    citation gives no CVS revision for a file of a listed CVS tree."""
    # A CVS revision the citation gives is served by the tree's own server, before any mirror.
    given = _cvs_link(cite, mirrored=False)
    if given is not None:
        return given
    revision = _inline(cite)
    bare = _BARE.search(cite)
    if bare and revision and revision.start < bare.start():
        bare = None
    end = min([revision.start] if revision else [], default=len(cite))
    end = min(end, bare.start()) if bare else end
    path = _top_file(cite) or _PATH.search(cite, 0, end)
    if path is None:
        return _cvs_link(cite, sources)
    if revision is None or (bare and bare.start() < revision.start):
        tree = _tree_named(cite, path.start())
        read = _read_at(path["path"], sources)
        if not read and not _OLDER.match(cite, path.end()):
            read = _tree_read(tree, sources)
        if bare:
            # A commit the citation gives is the one read, in the repository its profile names,
            # or else in the listed repository the citation names ('src: xnu <path> (<commit>)').
            repo = _repository_of(bare["commit"], read) if read else _listed_repository(tree)
            if repo is None:
                return _cvs_link(cite, sources)
            revision = Revision(repo, bare["commit"], bare.start())
        else:
            # The CVS revision the citation gives for the file comes before its profile's.
            cvs = _cvs_link(cite, sources)
            if not read or (cvs is not None and cvs[1] == path.start()):
                return cvs
            revision = read[0]
    url = f"{HOST}/{revision.repo}/blob/{revision.commit}/{path['path']}"
    return url, path.start(), path.end()


def _tree_named(cite: str, path_start: int) -> str:
    """The word before the path: the tree the citation reads ('src: glibc sysdeps/...')."""
    before = cite[:path_start].split()
    return before[-1] if before else ""


def _listed_repository(tree: str) -> str | None:
    """The GitHub repository data/repositories.toml lists under the tree's name."""
    listed = repositories().get(tree)
    return listed[0] if listed else None


def _tree_read(tree: str, sources: Sequence[str]) -> tuple[Revision, ...]:
    """What a source about the whole tree says: one that starts with its name, then the
    repository and the revision read ('glibc bminor/glibc 04e750e75b73 (2.42.9000)'). It is
    about every file of the tree no source names."""
    for source in sources:
        found = _SOURCE_REVISION.match(source, len(tree) + 1)
        if tree and source.startswith(f"{tree} ") and found:
            return (Revision(found["repo"], found["commit"], found.start()),)
    return ()


def _repository_of(commit: str, read: tuple[Revision, ...]) -> str | None:
    """The repository a commit the citation gives is in: the one the source names it in, or
    the source's only repository; None when the source names several and not this commit."""
    named = {r.repo for r in read if r.commit.startswith(commit) or commit.startswith(r.commit)}
    repos = named or {r.repo for r in read}
    return repos.pop() if len(repos) == 1 else None


def _about(path: str, sources: Sequence[str]) -> Iterator[tuple[str, int]]:
    """Each source about ``path``, and where the text after the path starts in it: it names the
    file first, or as one of the files it lists (``a.c f(); b.h: xnu-11417.101.15``). A source
    naming it along the way (an older tree read beside the main one) is not about it."""
    for source in sources:
        offset = 0
        for item in source.split("; "):
            if item.startswith((f"{path} ", f"{path}:")) or item == path:
                yield source, offset + len(path)
            offset += len(item) + 2


def _read_at(path: str, sources: Sequence[str]) -> tuple[Revision, ...]:
    """Every repository and revision the first source about ``path`` that names one gives, in
    order (the first is the one read), or none."""
    for source, after in _about(path, sources):
        if every := _every(source, after, len(source), _SOURCE_REVISION):
            return tuple(every)
    return ()
