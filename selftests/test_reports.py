"""The reporting commands on real-shaped results: report, merge, diff, draft, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonmap.cli import EXIT_DIFFERENT, EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE
from anonmap.expect.profiles import ProfileError, load_profile
from anonmap.reporting import citations, page
from selftests.helpers import anonmap_cli, write_results


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    a = write_results(
        tmp_path / "a.json", "linux", {"libc-private-fd=0": "zero", "libc-private-fd=closed": "zero"}
    )
    b = write_results(
        tmp_path / "b.json", "freebsd", {"libc-private-fd=0": "EINVAL", "libc-private-fd=closed": "zero"}
    )
    return a, b


def test_report_prints_markdown_and_writes_html(two: tuple[Path, Path], tmp_path: Path) -> None:
    done = anonmap_cli("report", str(two[0]))
    assert done.returncode == 0, done.stderr
    assert "| Linux 1.0 x86_64 | real | linux |" in done.stdout
    assert "### The fd argument is ignored with MAP_ANONYMOUS (`fd-argument`)" in done.stdout
    page = tmp_path / "report.html"
    assert anonmap_cli("report", str(two[0]), "--html", str(page)).returncode == 0
    text = page.read_text()
    assert '<table class="matrix">' in text and "http" not in text.split("<body>")[1]


def test_merge_makes_one_matrix_that_report_reads_back(two: tuple[Path, Path], tmp_path: Path) -> None:
    merged = tmp_path / "merged.json"
    done = anonmap_cli("merge", *map(str, two), "--json", str(merged), "--markdown", str(tmp_path / "m.md"))
    assert done.returncode == 0, done.stderr
    assert len(json.loads(merged.read_text())["runs"]) == 2
    markdown = (tmp_path / "m.md").read_text()
    assert "❌ EINVAL ≠ zero" in markdown and "## Deviations" in markdown


def test_diff_exits_1_with_the_differences_and_0_without(two: tuple[Path, Path]) -> None:
    done = anonmap_cli("diff", *map(str, two))
    assert done.returncode == EXIT_DIFFERENT
    assert "- `private-fd=0` (libc): zero → EINVAL" in done.stdout
    assert "closed" not in done.stdout.split("behave differently")[1].split("documents")[0]
    assert anonmap_cli("diff", str(two[0]), str(two[0])).returncode == 0


def test_a_draft_profile_records_observations_and_cannot_pass_for_documentation(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    draft = tmp_path / "freebsd.toml"
    assert anonmap_cli("profile", "draft", str(two[1]), "--output", str(draft)).returncode == 0
    text = draft.read_text()
    assert 'outcome = "EINVAL"' in text and "UNCITED" in text
    with pytest.raises(ProfileError, match="key 'cite'"):
        load_profile(draft)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "anonmap-results/1", "records": [', "not valid JSON"),
        ("", "not valid JSON"),
        (
            '{"schema": "anonmap-results/9", "records": []}',
            "schema 'anonmap-results/9' is not one this anonmap reads",
        ),
        ('{"schema": "anonmap-results/1", "run_info": {}, "records": [{"nodeid": 1}]}', "malformed"),
        ("[1, 2]", "not a results file"),
    ],
)
def test_bad_input_is_one_line_naming_the_file_with_its_own_status(
    tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = tmp_path / "out.html"
    done = anonmap_cli("report", str(bad), "--html", str(out))
    assert done.returncode == EXIT_INPUT
    assert done.stderr.startswith(f"anonmap: {bad}: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_two_results_for_one_platform_are_refused(two: tuple[Path, Path], tmp_path: Path) -> None:
    again = write_results(tmp_path / "again.json", "linux", {"libc-private-fd=0": "zero"})
    done = anonmap_cli("merge", str(two[0]), str(again))
    assert done.returncode == EXIT_INPUT
    assert f"{again}: a second result for platform linux-1.0-x86_64 (the first is {two[0]})" in done.stderr


def test_no_input_and_unknown_commands_are_usage_errors() -> None:
    assert anonmap_cli("merge").returncode == EXIT_USAGE
    assert "the following arguments are required: RESULTS" in anonmap_cli("merge").stderr
    assert anonmap_cli("frobnicate").returncode == EXIT_USAGE


def test_an_unwritable_output_leaves_nothing_behind(two: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "report.html"
    done = anonmap_cli("report", str(two[0]), "--html", str(target))
    assert done.returncode == EXIT_OUTPUT
    assert done.stderr.startswith(f"anonmap: {target}: cannot be written")
    assert not target.parent.exists()


def test_the_sample_matrix_in_the_docs_is_a_valid_merged_file() -> None:
    sample = Path(__file__).resolve().parent.parent / "docs" / "sample" / "merged.json"
    done = anonmap_cli("merge", str(sample))
    assert done.returncode == 0, done.stderr


def test_a_profile_override_is_never_labelled_a_real_run_of_that_platform(tmp_path: Path) -> None:
    path = write_results(tmp_path / "o.json", "freebsd", {"libc-private-fd=0": "zero"})
    content = json.loads(path.read_text())
    content["run_info"]["os"] = "linux"
    path.write_text(json.dumps(content))
    done = anonmap_cli("report", str(path))
    assert (
        "| Freebsd profile on linux 1.0 x86_64 | profile override (freebsd on linux) | freebsd |"
        in done.stdout
    )


def test_a_citation_links_its_file_only_at_the_commit_it_names() -> None:
    cite = "src: openbsd sys/sys/mman.h rev 1.34 (openbsd/src 02dbcf75add5): '#define MADV_FREE 6'"
    found = citations.source_link(cite)
    assert found is not None and found[0] == "https://github.com/openbsd/src/blob/02dbcf75add5/sys/sys/mman.h"
    assert cite[found[1] : found[2]] == "sys/sys/mman.h"
    linked = page.cite(cite)
    assert linked.count("<a ") == 1 and ">sys/sys/mman.h</a> rev 1.34" in linked
    # No commit, or no file before it: no link, and no revision made up.
    for plain in (
        "src: linux mm/mmap.c do_mmap(): the anonymous branch never checks flag bits",
        "man: minherit(2) rev 1.17 (OpenBSD tree stored as torvalds/linux, c5f58598cf05)",
        "doc: CPython issue #138204 (python/cpython 1234567)",
    ):
        assert citations.source_link(plain) is None and "<a " not in page.cite(plain)


def _linked(sources: tuple[str, ...], *expected: tuple[str, str]) -> None:
    """Each citation is linked to its URL."""
    for cite, url in expected:
        found = citations.source_link(cite, sources)
        assert found is not None and found[0] == url, cite


def _unlinked(sources: tuple[str, ...], *cites: str) -> None:
    for cite in cites:
        assert citations.source_link(cite, sources) is None, cite


def test_a_citation_naming_a_file_alone_links_it_at_the_revision_its_profile_read() -> None:
    sources = (
        "sys/vm/vm_mmap.c kern_mmap(), vm_mmap_object(): bnovkov/freebsd-src 222452fb5ffa (1600018)",
        "linux mm/mmap.c at torvalds/linux 2d6c928241ad (a 4.x tree read beside the main one)",
    )
    found = citations.source_link("src: freebsd sys/vm/vm_mmap.c kern_mmap(): size = round_page()", sources)
    assert found is not None and found[0] == (
        "https://github.com/bnovkov/freebsd-src/blob/222452fb5ffa/sys/vm/vm_mmap.c"
    )
    # A source that only mentions the file along the way names no revision for it.
    assert citations.source_link("src: linux mm/mmap.c do_mmap(): len = PAGE_ALIGN(len)", sources) is None
    # The installed FreeBSD profile's citations of that file are linked on the pages.
    assert (
        'href="https://github.com/bnovkov/freebsd-src/blob/222452fb5ffa/sys/vm/vm_mmap.c"'
        in page.citations(
            {"src: freebsd sys/vm/vm_mmap.c kern_mmap(): size = round_page(len + pageoff)": ["freebsd"]}
        )
    )


def test_a_short_repository_name_links_only_in_the_form_the_mapping_lists() -> None:
    # The mapping is data, and each repository in it says where it was verified.
    assert citations.repositories() == {
        "illumos-gate": ("illumos/illumos-gate", "commit"),
        "xnu": ("apple-oss-distributions/xnu", "tag"),
    }
    sources = (
        "usr/src/uts/common/os/grow.c smmap64(), smmap_common(), zmap(): illumos-gate 01355ae8e99e",
        "bsd/kern/kern_mman.c mmap(), madvise(); bsd/sys/mman.h; libsyscall/wrappers/unix03/mmap.c: "
        "xnu-11417.101.15 (e3723e1f1766)",
        "sys/vm/vm_mmap.c kern_mmap(): lileding/DragonFlyBSD 6c77c33e0f34, and DragonFlyBSD/DragonFlyBSD 86269ee06080",
        "linux v7.0-rc6 (mm/, drivers/char/mem.c), read from an import of that tag, commit cccca0425fe2",
        "sys/uvm/uvm_mmap.c rev 1.184 (2022/07/07): sys_mmap(), uvm_mmap(), sys_madvise()",
    )
    gate, xnu = (
        "https://github.com/illumos/illumos-gate/blob",
        "https://github.com/apple-oss-distributions/xnu/blob",
    )
    _linked(
        sources,
        # A file alone: the profile's source names it with 'illumos-gate <commit>'.
        (
            "src: illumos usr/src/uts/common/os/grow.c zmap(): amp = NULL",
            f"{gate}/01355ae8e99e/usr/src/uts/common/os/grow.c",
        ),
        # Inline, by short name or as owner/name 'at' a commit.
        (
            "src: illumos usr/src/uts/common/sys/mman.h (illumos-gate 019c3c436f78): MADV_FREE 5",
            f"{gate}/019c3c436f78/usr/src/uts/common/sys/mman.h",
        ),
        (
            "src: illumos usr/src/uts/common/os/grow.c munmap() (illumos/illumos-gate at 01355ae8): x",
            f"{gate}/01355ae8/usr/src/uts/common/os/grow.c",
        ),
        # A tag: the file listed in the source, or the tag named in the citation.
        ("src: xnu bsd/sys/mman.h: #define MAP_FIXED 0x0010", f"{xnu}/xnu-11417.101.15/bsd/sys/mman.h"),
        (
            "src: xnu bsd/sys/cdefs.h (xnu-11417.101.15): one #warning",
            f"{xnu}/xnu-11417.101.15/bsd/sys/cdefs.h",
        ),
        # A commit alone: read in the repository the source names for that file.
        (
            "src: xnu bsd/kern/kern_mman.c mmap() (1031c584a5e3): MAP_FIXED",
            f"{xnu}/1031c584a5e3/bsd/kern/kern_mman.c",
        ),
        # ... the one the source names that commit in, of the two it names.
        (
            "src: dragonfly sys/vm/vm_mmap.c sys_mprotect() (86269ee06080): x",
            "https://github.com/DragonFlyBSD/DragonFlyBSD/blob/86269ee06080/sys/vm/vm_mmap.c",
        ),
    )
    # No link: a tag not verified in torvalds/linux, an OpenBSD CVS revision (its cvsweb's form
    # is not verified), a file no source is about, a commit alone where the source names two
    # repositories and not it.
    _unlinked(
        sources,
        "src: linux mm/mmap.c do_mmap(): len = PAGE_ALIGN(len)",
        "src: openbsd sys/uvm/uvm_mmap.c rev 1.203 sys_mmap(): EINVAL",
        "src: illumos usr/src/uts/common/vm/vm_as.c as_map(): x",
        "src: dragonfly sys/vm/vm_mmap.c kern_mmap() (0123456789ab): x",
    )
    # The installed profiles' citations are linked on the pages.
    given = {
        "src: illumos usr/src/uts/common/os/grow.c zmap(): every call builds its own segment": ["illumos"],
        "src: xnu bsd/kern/kern_mman.c mmap(): MAP_SHARED -> VM_INHERIT_SHARE": ["darwin"],
    }
    linked = page.citations(given)
    assert f'href="{gate}/01355ae8e99e/usr/src/uts/common/os/grow.c"' in linked
    assert f'href="{xnu}/xnu-11417.101.15/bsd/kern/kern_mman.c"' in linked


def test_a_netbsd_cvs_revision_links_the_file_on_netbsds_cross_reference() -> None:
    # The tree and its URL form are data, verified like the repositories.
    nxr = "https://nxr.netbsd.org/xref/src"
    assert citations.cvs_trees() == {"netbsd": f"{nxr}/{{path}}?r={{revision}}"}
    for cite, url in (
        ("src: netbsd sys/sys/mman.h rev 1.62: the MADV_* values", f"{nxr}/sys/sys/mman.h?r=1.62"),
        ("src: netbsd sys/uvm/uvm_mmap.c sys_mmap() (rev 1.184): x", f"{nxr}/sys/uvm/uvm_mmap.c?r=1.184"),
        # A branch revision; the first of the file's revisions; the file's own, not the next path's.
        ("src: netbsd sys/sys/mman.h (rev 1.44.6.1): no MAP_GROWSDOWN", f"{nxr}/sys/sys/mman.h?r=1.44.6.1"),
        ("src: netbsd sys/sys/mman.h (rev 1.48, 2014; rev 1.62, 2019): x", f"{nxr}/sys/sys/mman.h?r=1.48"),
        (
            "src: netbsd sys/sys/cdefs.h (rev 1.159.4.1) and sys/sys/featuretest.h (008a715f6e78, rev 1.13)",
            f"{nxr}/sys/sys/cdefs.h?r=1.159.4.1",
        ),
        # A commit alone that no source places in a repository leaves the CVS revision.
        (
            "src: netbsd sys/sys/featuretest.h (008a715f6e78, rev 1.13): x",
            f"{nxr}/sys/sys/featuretest.h?r=1.13",
        ),
    ):
        found = citations.source_link(cite)
        assert found is not None and found[0] == url, cite
        assert cite[found[1] : found[2]] == url.removeprefix(f"{nxr}/").split("?")[0]
    # A CVS revision the citation gives is served by NetBSD's own server before a mirror's commit.
    for cite in (
        "src: netbsd sys/sys/mman.h rev 1.62 and rev 1.44.6.1 (NetBSD/src 01298e0dd111): x",
        "src: netbsd sys/sys/mman.h (NetBSD/src 01298e0dd111, rev 1.62): x",
    ):
        found = citations.source_link(cite)
        assert found is not None and found[0] == f"{nxr}/sys/sys/mman.h?r=1.62", cite
    # A revision the citation gives comes before the commit its profile's source read the file at.
    read = ("sys/sys/mman.h: NetBSD/src 01298e0dd111",)
    found = citations.source_link("src: netbsd sys/sys/mman.h (rev 1.62): x", read)
    assert found is not None and found[0] == f"{nxr}/sys/sys/mman.h?r=1.62"
    found = citations.source_link("src: netbsd sys/sys/mman.h: x", read)
    assert found is not None and found[0] == "https://github.com/NetBSD/src/blob/01298e0dd111/sys/sys/mman.h"
    # No revision in its citation's head: the one the profile's sources say the file was read at.
    sources = (
        "sys/sys/mman.h rev 1.62 (2019/12/06)",
        "sys/uvm/uvm_fault.c rev 1.171; sys/arch/amd64/amd64/trap.c rev 1.113.2.1: trap()",
    )
    _linked(
        sources,
        ("src: netbsd sys/sys/mman.h: #define MAP_FIXED 0x0010", f"{nxr}/sys/sys/mman.h?r=1.62"),
        (
            "src: netbsd sys/arch/amd64/amd64/trap.c trap(): x",
            f"{nxr}/sys/arch/amd64/amd64/trap.c?r=1.113.2.1",
        ),
        # The citation's own revision still comes first.
        ("src: netbsd sys/sys/mman.h (rev 1.44.6.1): x", f"{nxr}/sys/sys/mman.h?r=1.44.6.1"),
    )
    # No revision for the file anywhere, or one only after another path: no link.
    _unlinked(
        sources,
        "src: netbsd sys/uvm/uvm_map.c uvm_unmap_remove() like sys/uvm/uvm_mmap.c rev 1.184",
        "src: netbsd sys/kern/vfs_vnops.c vn_mmap(): x",
        "man: mmap(2) (NetBSD/src 003762dedd95, rev 1.40): x",
    )
    # The installed NetBSD profile's citations, on the pages.
    linked = page.citations(
        {
            "src: netbsd sys/sys/mman.h rev 1.62: the MADV_* values are NORMAL": ["netbsd"],
            "src: netbsd sys/sys/mman.h: #define MAP_FIXED 0x0010": ["netbsd"],
        }
    )
    # Both: the second at the revision the NetBSD profile's sources say its mman.h was read at.
    assert linked.count(f'href="{nxr}/sys/sys/mman.h?r=1.62">sys/sys/mman.h</a>') == 2, linked


def test_a_citation_links_at_a_revision_given_after_other_words_or_by_its_trees_source() -> None:
    github = "https://github.com"
    sources = (
        "glibc bminor/glibc 04e750e75b73 (2.42.9000)",
        "gvisor google/gvisor release-20221219.0 (commit 2342c658c7c2), the source of runsc: pkg/sentry/mm/",
        "Makefile LIBWASI_EMULATED_MMAN_SOURCES: WebAssembly/wasi-libc 9886d3d6",
        "sysdeps/unix/sysv/linux/mmap64.c __mmap64(): bminor/glibc 0123456789ab",
    )
    _linked(
        sources,
        # The repository and commit after other words in the parenthesis.
        (
            "src: openbsd sys/uvm/uvm_mmap.c sys_munmap() (rev 1.161, openbsd/src at 003533bf): x",
            f"{github}/openbsd/src/blob/003533bf/sys/uvm/uvm_mmap.c",
        ),
        # A file no source is about: the tree's source, which starts with the tree's name.
        (
            "src: glibc sysdeps/unix/sysv/linux/bits/mman-linux.h: '# define MADV_DONTFORK 10'",
            f"{github}/bminor/glibc/blob/04e750e75b73/sysdeps/unix/sysv/linux/bits/mman-linux.h",
        ),
        (
            "src: gvisor pkg/sentry/mm/vma.go createVMALocked() (release-20221219.0): x",
            f"{github}/google/gvisor/blob/release-20221219.0/pkg/sentry/mm/vma.go",
        ),
        # A source about the file itself comes first.
        (
            "src: glibc sysdeps/unix/sysv/linux/mmap64.c __mmap64(): x",
            f"{github}/bminor/glibc/blob/0123456789ab/sysdeps/unix/sysv/linux/mmap64.c",
        ),
        # A commit alone, in a tree the repositories list names.
        (
            "src: xnu osfmk/vm/vm_user.c mach_vm_protect() (1031c584a5e3): x",
            f"{github}/apple-oss-distributions/xnu/blob/1031c584a5e3/osfmk/vm/vm_user.c",
        ),
        # A build file at the tree's top, its revision right after it.
        (
            "src: wasi-libc Makefile (9886d3d6): no src/process/fork.c is built",
            f"{github}/WebAssembly/wasi-libc/blob/9886d3d6/Makefile",
        ),
        # ... but not one whose revision is another file's.
        (
            "src: cpython configure.ac AC_CHECK_FUNCS(mremap); xnu bsd/sys/mman.h (xnu-11417.101.15): none",
            f"{github}/apple-oss-distributions/xnu/blob/xnu-11417.101.15/bsd/sys/mman.h",
        ),
    )
    _unlinked(
        sources,
        # What the file said before the tree's revision is not at that revision.
        "src: glibc sysdeps/unix/sysv/linux/bits/mman-linux.h (before 2.37): MAP_ANONYMOUS under __USE_MISC",
        # A tree no source names, and a commit alone in a tree the list does not name.
        "src: musl include/sys/mman.h: x",
        "src: dragonfly sys/vm/vm_map.c vm_map_find() (0123456789ab): x",
    )


def test_an_openbsd_cvs_revision_links_only_where_a_mirror_commit_was_found_to_carry_it() -> None:
    mirrored = citations.cvs_mirrors()["openbsd"]
    assert mirrored["sys/sys/mman.h 1.34"] == "openbsd/src 02dbcf75add5"
    at = "https://github.com/openbsd/src/blob/02dbcf75add5/sys/sys/mman.h"
    sources = (
        "sys/sys/mman.h rev 1.34 (2019/03/01)",
        "sys/uvm/uvm_mmap.c rev 1.203 (2025/08/15): sys_mmap()",
    )
    _linked(
        sources,
        ("src: openbsd sys/sys/mman.h rev 1.34: MADV_* are NORMAL to DONTNEED", at),
        ("src: openbsd sys/sys/mman.h: #define MAP_FIXED 0x0010", at),
    )
    # A revision no mirror commit is known to carry is not linked at another one.
    _unlinked(
        sources,
        "src: openbsd sys/uvm/uvm_mmap.c sys_mmap(): 'if (size == 0) return EINVAL;'",
        "src: openbsd sys/sys/mman.h rev 1.35: x",
    )
