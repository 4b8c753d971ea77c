"""A platform as its profile documents it: a run made of no observation, for porting diffs
without a machine of the target platform.

Each catalogue case gets the outcome the profile's applicable entry gives, for a release and
architecture chosen by the caller; left unchosen, the newest the profile documents (every
version condition is read as if on a release newer than any the profile names).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.catalogue import behaviours
from anonmap.expect.profiles import Profile, ProfileError, find_profile, profile_paths
from anonmap.files.checked import quoted
from anonmap.host.probe import RunInfo
from anonmap.reporting.runs import InputError, Run
from anonmap.results.records import Record
from anonmap.results.verdicts import Verdict

#: A version newer than any a profile's conditions name, FreeBSD's osrel numbers included:
#: "the newest documented".
NEWEST = "999999999"


@dataclasses.dataclass(frozen=True)
class Target:
    """Which build of a platform to read its profile for. ``release`` is what the profile's
    release, kernel and binary_abi conditions read (FreeBSD's binary_abi is its osrel, such as
    1403000; macOS's the SDK, such as 15.0); the libc is always the newest documented."""

    release: str = NEWEST
    arch: str = "x86_64"


#: Platforms with one architecture, which is the one documented whatever the target says.
ONLY_ARCH = {"wasi": "wasm32", "emscripten": "wasm32"}


def run_info_for(os_name: str, target: Target) -> RunInfo:
    """The run a profile is read for when it documents ``target`` (no machine observed)."""
    target = dataclasses.replace(target, arch=ONLY_ARCH.get(os_name, target.arch))
    libc = "glibc" if os_name == "linux" else f"{os_name}-libc"
    return RunInfo(
        os=os_name,
        release=target.release,
        kernel=target.release,
        binary_abi=target.release,
        arch=target.arch,
        libc=libc,
        libc_version=NEWEST,
        python=NEWEST,
        page_size=4096,
        compat=(),
        rlimit_as=None,
        rlimit_data=None,
        capabilities={},
        compilers={},
    )


def documented(profile: Profile, target: Target) -> Run:
    """The run the profile describes: every case with its documented outcome, nothing observed."""
    os_name = profile.os[0]
    target = dataclasses.replace(target, arch=ONLY_ARCH.get(os_name, target.arch))
    info = run_info_for(os_name, target)
    records = []
    for behaviour in behaviours().values():
        for case in behaviour.cases:
            entry = profile.expectation(case, info)
            outcome = entry.outcome if entry else outcomes.UNKNOWN
            records.append(
                Record(
                    nodeid=f"documented::{behaviour.id}[{case.id}]",
                    behaviour=behaviour.id,
                    case=case.id,
                    params=dict(case.params),
                    expected=outcome,
                    observed="",
                    verdict=Verdict.DOCUMENTED,
                    cite=entry.cite if entry else (),
                    note=entry.note if entry else "",
                    detail="",
                    source=f"{(entry.path or profile.path) if entry else profile.path}:{entry.line if entry else 1}",
                )
            )
    release = "newest documented" if target.release == NEWEST else target.release
    return Run(
        source=f"{profile.path} (documented)",
        run_info={"os": os_name, "release": release, "arch": target.arch, "compat": []},
        profile={"name": profile.name, "title": profile.title, "path": str(profile.path)},
        emulation=None,
        started_at="",
        records=tuple(records),
        documented=True,
    )


def platform(name: str, directory: Path, target: Target) -> Run:
    """The documented run of the profile called ``name`` in ``directory``; ``InputError`` names
    the profiles there when there is none by that name."""
    # Looked up among the profiles there, never as a path built from the name: a name too long
    # for a file name, or holding a NUL or a '/', is then one more name no profile has.
    available = [p.stem for p in profile_paths(directory)]
    if name not in available:
        shown = name if name.isprintable() and len(name) <= 60 else quoted(name)
        raise InputError(
            f"{shown}: neither a results file nor a profile in {directory} (profiles: {', '.join(available) or 'none'})"
        )
    try:
        profile = find_profile(directory, run_info_for(name, target), name)
    except ProfileError as error:
        raise InputError(str(error).splitlines()[0]) from error
    assert profile is not None  # find_profile by name raises rather than returning None
    return documented(profile, target)
