"""Profile loading: every problem is reported as file:line: what is wrong."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import pytest

from anonmap.expect.catalogue import behaviours, cases
from anonmap.expect.profiles import (
    Expectation,
    Profile,
    ProfileError,
    find_profile,
    load_profile,
    load_shared,
    profile_paths,
    uncovered,
)
from anonmap.host.probe import RunInfo
from selftests.helpers import REPO, complete_profile, run_info


def _write(directory: Path, text: str, name: str = "testos") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    return raised.value.problems


@pytest.mark.parametrize("path", profile_paths(REPO / "platforms"), ids=lambda p: p.stem)
def test_every_shipped_profile_validates_and_cites_every_entry(path: Path) -> None:
    profile = load_profile(path)
    assert profile.expectations
    for entry in (*profile.expectations, *profile.constants):
        assert entry.cite, f"{path}:{entry.line}: uncited"


def test_a_complete_profile_loads(profiles_dir: Path) -> None:
    profile = load_profile(_write(profiles_dir, complete_profile()))
    assert profile.os == ("testos",)
    assert len(profile.expectations) == len(behaviours())


ENTRY = '\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\ncite = ["mmap(2)"]\n'


@pytest.mark.parametrize(
    ("entry", "line_offset", "words"),
    [
        (
            '\n[[expect]]\nbehaviour = "zero-fil"\noutcome = "zero"\ncite = ["x"]\n',
            2,
            ["'zero-fil' is not a behaviour"],
        ),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zeroes"\ncite = ["x"]\n',
            3,
            ["key 'outcome'", "'zeroes'"],
        ),
        ('\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\n', 1, ["key 'cite'"]),
        ('\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\ncite = []\n', 4, ["key 'cite'"]),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\ncite = ["x"]\nwhen = { kernal = ">=2.4" }\n',
            5,
            ["when.kernal", "unknown condition field"],
        ),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\ncite = ["x"]\nwhen = { kernel = "2.4" }\n',
            5,
            ["when.kernel", "operator"],
        ),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\ncase = { fd = "0" }\noutcome = "zero"\ncite = ["x"]\n',
            3,
            ["case.fd", "no parameter 'fd'"],
        ),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\ncase = { size = "2" }\noutcome = "zero"\ncite = ["x"]\n',
            3,
            ["case.size", "not among its values"],
        ),
        (
            '\n[[expect]]\nbehaviour = "zero-fill"\noutcome = "zero"\ncite = ["x"]\nseverity = 3\n',
            5,
            ["unknown key 'severity'"],
        ),
        ('\n[[constant]]\nname = "MAP_FIXED"\nvalue = "0x10"\ncite = ["x"]\n', 3, ["key 'value'"]),
    ],
)
def test_each_problem_names_file_line_and_key(
    profiles_dir: Path, entry: str, line_offset: int, words: list[str]
) -> None:
    base = complete_profile()
    path = _write(profiles_dir, base + entry)
    first_line_of_entry = base.count("\n") + 2
    problems = _problems(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{first_line_of_entry + line_offset - 1}: "), problems
    for word in words:
        assert word in problems[0]


def test_a_toml_syntax_error_names_its_line(profiles_dir: Path) -> None:
    path = _write(profiles_dir, complete_profile() + '\n[[expect]]\nbehaviour = "zero-fill\n')
    problems = _problems(path)
    assert problems[0].startswith(f"{path}:{complete_profile().count(chr(10)) + 3}: not valid TOML")


def test_a_toml_error_at_the_end_names_the_last_line(profiles_dir: Path) -> None:
    text = complete_profile() + '\n[[expect]]\nbehaviour = "zero-fill"\ncite = ["a",\n'
    path = _write(profiles_dir, text)
    assert _problems(path)[0].startswith(f"{path}:{len(text.splitlines())}: not valid TOML")


def test_missing_platform_table(profiles_dir: Path) -> None:
    text = complete_profile().replace('[platform]\nos = ["testos"]\ntitle = "Test OS"\n', "")
    assert any("missing [platform]" in p for p in _problems(_write(profiles_dir, text)))


def test_an_uncovered_case_loads_and_is_named(profiles_dir: Path) -> None:
    text = complete_profile().replace(
        '[[expect]]\nbehaviour = "madvise"\noutcome = "unknown"\ncite = ["test"]\n', ""
    )
    profile = load_profile(_write(profiles_dir, text))
    assert uncovered(profile) == {"madvise": [case.id for case in cases("madvise")]}


@pytest.mark.parametrize("path", profile_paths(REPO / "platforms"), ids=lambda p: p.stem)
def test_every_shipped_profile_covers_every_case(path: Path) -> None:
    # With the shared facts beside it, as a run sees it.
    missing = uncovered(dataclasses.replace(load_profile(path), shared=load_shared(REPO / "platforms")))
    assert missing == {}, (
        f"{path}: no [[expect]] entry covers {missing} (give each an outcome, or outcome = 'unknown' with the reason)"
    )


def test_every_problem_is_reported_at_once(profiles_dir: Path) -> None:
    text = complete_profile() + ENTRY.replace("zero-fill", "nope") + ENTRY.replace('"zero"', '"nada"')
    assert len(_problems(_write(profiles_dir, text))) == 2


def test_the_most_specific_entry_wins_and_later_breaks_ties(profiles_dir: Path) -> None:
    extra = """
[[expect]]
behaviour = "fd-argument"
outcome = "zero"
cite = ["general"]

[[expect]]
behaviour = "fd-argument"
case = { fd = "closed" }
outcome = "EBADF"
cite = ["specific"]

[[expect]]
behaviour = "fd-argument"
outcome = "EINVAL"
cite = ["later but general"]

[[expect]]
behaviour = "fd-argument"
case = { fd = "closed" }
outcome = "EINVAL|EBADF"
cite = ["later and as specific, but only on new kernels"]
when = { kernel = ">=99" }
"""
    profile = load_profile(_write(profiles_dir, complete_profile(extra)))
    by_id = {c.id: c for c in cases("fd-argument")}
    info = run_info(kernel="6.1.0")
    chosen = profile.expectation(by_id["libc-private-fd=closed"], info)
    assert chosen is not None and chosen.cite == ("specific",)
    chosen = profile.expectation(by_id["libc-private-fd=closed"], run_info(kernel="99.1"))
    assert chosen is not None and chosen.outcome == "EINVAL|EBADF"
    chosen = profile.expectation(by_id["libc-private-fd=0"], info)
    assert chosen is not None and chosen.cite == ("later but general",)


def test_find_profile_by_os_and_by_name(profiles_dir: Path) -> None:
    _write(profiles_dir, complete_profile())
    assert find_profile(profiles_dir, run_info(os="testos")) is not None
    assert find_profile(profiles_dir, run_info(os="haiku")) is None
    assert find_profile(profiles_dir, run_info(os="haiku"), "testos") is not None
    with pytest.raises(ProfileError, match=r"no such profile.*available: testos"):
        find_profile(profiles_dir, run_info(os="haiku"), "freebsd")


def test_a_profile_named_for_another_os_is_refused(profiles_dir: Path) -> None:
    _write(profiles_dir, complete_profile(os_name="otheros"), name="testos")
    with pytest.raises(ProfileError, match="does not list 'testos'"):
        find_profile(profiles_dir, run_info(os="testos"))


SHARED_HEAD = '[platform]\nos = ["*"]\ntitle = "Shared"\n'
WRITABLE = '\n[[expect]]\nbehaviour = "python-defaults"\ncase = {{ property = "writable" }}\noutcome = "{outcome}"\ncite = ["t"]\n'


def test_the_shipped_shared_facts_validate_and_cite_every_entry() -> None:
    shared = load_shared(REPO / "platforms")
    assert shared and all(entry.cite for facts in shared for entry in facts.expectations)


def test_a_platform_entry_overrides_a_shared_fact_whatever_its_specificity(profiles_dir: Path) -> None:
    (profiles_dir / "shared").mkdir()
    (profiles_dir / "shared" / "facts.toml").write_text(SHARED_HEAD + WRITABLE.format(outcome="ok"))
    _write(profiles_dir, complete_profile())
    case = next(c for c in cases("python-defaults") if c.params["property"] == "writable")
    profile = find_profile(profiles_dir, run_info(os="testos"))
    assert profile is not None
    # complete_profile() says 'unknown' for the whole behaviour: the platform's entry wins.
    own = profile.expectation(case, run_info(os="testos"))
    assert own is not None and own.outcome == "unknown"
    text = complete_profile().replace(
        '[[expect]]\nbehaviour = "python-defaults"\noutcome = "unknown"\ncite = ["test"]\n', ""
    )
    _write(profiles_dir, text)
    profile = find_profile(profiles_dir, run_info(os="testos"))
    assert profile is not None
    decided = profile.expectation(case, run_info(os="testos"))
    assert (
        decided is not None
        and decided.outcome == "ok"
        and decided.path == profiles_dir / "shared" / "facts.toml"
    )


def test_shared_facts_that_tie_are_refused_naming_both_lines(profiles_dir: Path) -> None:
    (profiles_dir / "shared").mkdir()
    text = SHARED_HEAD + WRITABLE.format(outcome="ok") + WRITABLE.format(outcome="EACCES")
    path = profiles_dir / "shared" / "facts.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as raised:
        load_shared(profiles_dir)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}:") and "ambiguous" in problem and "writable" in problem


def test_an_api_the_platform_lacks_makes_its_cases_unknown_with_the_reason(profiles_dir: Path) -> None:
    extra = '\n[[expect]]\nbehaviour = "zero-fill"\ncase = { api = ["libc", "syscall"] }\noutcome = "zero"\ncite = ["test"]\n'
    text = complete_profile(extra).replace(
        'title = "Test OS"', 'title = "Test OS"\nunavailable = { syscall = "no raw system calls here" }', 1
    )
    profile = load_profile(_write(profiles_dir, text))
    found = {c.params["api"]: profile.expectation(c, run_info()) for c in cases("zero-fill")}
    syscall, libc = found["syscall"], found["libc"]
    assert syscall is not None and (syscall.outcome, syscall.note) == ("unknown", "no raw system calls here")
    assert libc is not None and libc.outcome == "zero"


def test_an_unknown_unavailable_api_names_file_line_and_key(profiles_dir: Path) -> None:
    text = complete_profile().replace(
        'title = "Test OS"', 'title = "Test OS"\nunavailable = { sycall = "typo" }', 1
    )
    (problem,) = _problems(_write(profiles_dir, text))
    assert problem.startswith(f"{profiles_dir / 'testos.toml'}:") and "'sycall' is not an api" in problem


# gVisor reports a fixed kernel release whatever it implements (4.4.0 at release-20221219.0,
# 4.19.0-gvisor later): what it does must be decided by `compat = "gvisor"`, never by that.
GVISOR_RELEASES = ("2.2.0", "2.6.11", "4.4.0", "4.19.0-gvisor", "6.12.0", "99.0")


@functools.cache
def _this_host() -> RunInfo:
    return run_info()


#: What the probe finds under runsc on this project's Linux x86-64 machine, less the release.
_UNDER_RUNSC: dict[str, Any] = {"os": "linux", "arch": "x86_64", "libc": "glibc", "libc_version": "2.36"}


def _linux_run(release: str, compat: tuple[str, ...]) -> RunInfo:
    """A Linux x86-64 glibc run (this host's probe, once) reporting ``release``."""
    settings = {"vm.overcommit_memory": "0"}  # what gVisor's /proc/sys/vm reports
    return dataclasses.replace(
        _this_host(), release=release, kernel=release, compat=compat, settings=settings, **_UNDER_RUNSC
    )


def _linux_profile() -> Profile:
    return dataclasses.replace(
        load_profile(REPO / "platforms" / "linux.toml"), shared=load_shared(REPO / "platforms")
    )


def _is_gvisor(entry: Expectation | None) -> bool:
    """Whether ``entry`` is limited to runs under gVisor."""
    compat = {} if entry is None else entry.when.get("compat", [])
    return "gvisor" in (compat if isinstance(compat, list) else [compat])


def test_gvisor_entries_are_limited_by_compat_alone() -> None:
    gvisor = [e for e in _linux_profile().expectations if _is_gvisor(e)]
    assert gvisor, "platforms/linux.toml has no entry under when = { compat = 'gvisor' }"
    for entry in gvisor:
        assert dict(entry.when) == {"compat": "gvisor"}, f"linux.toml:{entry.line}: {entry.when}"
        assert any("gvisor" in cite for cite in entry.cite), (
            f"linux.toml:{entry.line}: cites no gVisor source"
        )


def test_gvisor_outcomes_never_depend_on_the_release_gvisor_reports() -> None:
    profile = _linux_profile()
    used: set[int] = set()
    for behaviour in behaviours().values():
        for case in behaviour.cases:
            chosen = {
                r: profile.expectation(case, _linux_run(r, ("gvisor", "container"))) for r in GVISOR_RELEASES
            }
            lines = {r: None if e is None else e.line for r, e in chosen.items()}
            assert len(set(lines.values())) == 1, (
                f"{behaviour.id}[{case.id}] under gVisor is decided by the kernel release: entries by release {lines}"
            )
            entry = chosen["4.4.0"]
            if _is_gvisor(entry):
                assert entry is not None
                used.add(entry.line)
    unused = {e.line for e in profile.expectations if _is_gvisor(e)} - used
    assert not unused, (
        f"gVisor entries that decide no case (shadowed by a more specific one): lines {sorted(unused)}"
    )


@pytest.mark.parametrize("compat", [(), ("container",), ("wsl2",), ("qemu-user",)])
def test_gvisor_entries_are_never_selected_without_gvisor(compat: tuple[str, ...]) -> None:
    profile = _linux_profile()
    for behaviour in behaviours().values():
        for case in behaviour.cases:
            for release in GVISOR_RELEASES:
                entry = profile.expectation(case, _linux_run(release, compat))
                assert not _is_gvisor(entry), f"{behaviour.id}[{case.id}] on {release} {compat}: {entry}"
