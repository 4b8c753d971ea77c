"""What a platform documents for one behaviour and case, without performing it: the question a
runtime or allocator author asks at run time to choose a strategy (``anonmap.documented``).

The answer is the profile's entry that applies, as a run would be judged against it: for this
host, with what the probe found (release, libc, compatibility layer); for a named platform, for
the release and architecture asked (the newest documented when unasked, as ``anonmap diff``).
Profiles are the installed ones, read once per process.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path

from anonmap.expect import outcomes
from anonmap.expect.catalogue import Case, behaviours
from anonmap.expect.profiles import Profile, ProfileError, find_profile, profile_paths
from anonmap.host import installation
from anonmap.host.probe import RunInfo, probe
from anonmap.reporting.documented import NEWEST, Target, run_info_for


class NotDocumented(LookupError):
    """No such behaviour, case or platform; the message names what there is instead."""


@dataclasses.dataclass(frozen=True)
class Documented:
    """A platform's documented answer for one case, with where it comes from."""

    behaviour: str
    case: str
    """The case's id, as in test ids and reports (``libc-private-size=page``)."""
    platform: str
    """The profile's name (``linux``, ``freebsd``, ...)."""
    outcome: str
    """The outcome word, words joined by '|' where the platform allows several, or 'unknown'."""
    cite: tuple[str, ...]
    note: str
    known_bug: str
    """Where a bug that makes the platform do otherwise is reported ('' when none is)."""
    claim: str
    """What the behaviour's claim says, and ``idiom`` what a portable program does instead."""
    idiom: str
    source: str
    """The entry's file and line."""

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Every outcome the platform documents for the case; empty when it is unknown."""
        return () if self.outcome == outcomes.UNKNOWN else tuple(self.outcome.split("|"))

    def allows(self, outcome: str) -> bool:
        """Whether ``outcome`` is one the platform documents for the case."""
        return self.outcome != outcomes.UNKNOWN and outcomes.matches(self.outcome, outcome)


def documented(
    behaviour: str,
    case: str | Mapping[str, str],
    platform: str | None = None,
    *,
    release: str | None = None,
    arch: str | None = None,
) -> Documented:
    """What ``platform`` (this host's when None) documents for ``case`` of ``behaviour``: the
    case by its id or by its parameters. Raises ``NotDocumented`` when there is no such thing."""
    found = behaviours().get(behaviour)
    if found is None:
        raise NotDocumented(f"no behaviour {behaviour!r} (known: {', '.join(behaviours())})")
    chosen = _case(found.cases, case, behaviour)
    profile, info = _profile(platform, release, arch)
    entry = profile.expectation(chosen, info)
    return Documented(
        behaviour=behaviour,
        case=chosen.id,
        platform=profile.name,
        outcome=entry.outcome if entry else outcomes.UNKNOWN,
        cite=entry.cite if entry else (),
        note=entry.note if entry else "",
        known_bug=entry.known_bug if entry else "",
        claim=found.claim,
        idiom=found.idiom,
        source=f"{(entry.path or profile.path) if entry else profile.path}:{entry.line if entry else 1}",
    )


def _case(cases: tuple[Case, ...], case: str | Mapping[str, str], behaviour: str) -> Case:
    for candidate in cases:
        if candidate.id == case if isinstance(case, str) else dict(candidate.params) == dict(case):
            return candidate
    shown = ", ".join(c.id for c in cases[:8]) + (", ..." if len(cases) > 8 else "")
    raise NotDocumented(f"{behaviour} has no case {case!r} (its cases: {shown})")


def _profile(platform: str | None, release: str | None, arch: str | None) -> tuple[Profile, RunInfo]:
    directory = installation.profiles()
    if platform is None:
        info = _host()
        profile = _load(directory, info, None)
        if profile is None:
            raise NotDocumented(f"no profile documents this host's os ({info.os}) in {directory}")
        return profile, info
    if platform not in {p.stem for p in profile_paths(directory)}:
        names = ", ".join(p.stem for p in profile_paths(directory))
        raise NotDocumented(f"no profile for {platform!r} (profiles: {names})")
    info = run_info_for(platform, Target(release or NEWEST, arch or Target().arch))
    loaded = _load(directory, info, platform)
    assert loaded is not None  # a named profile is found or refused by find_profile
    return loaded, info


@functools.cache
def _host() -> RunInfo:
    return probe()


#: Profiles read so far, by directory and by name (or, for this host's, its os): a profile read
#: is the same for every release and architecture, which only choose among its entries.
_LOADED: dict[tuple[Path, str | None, str], Profile | None] = {}


def _load(directory: Path, info: RunInfo, name: str | None) -> Profile | None:
    key = (directory, name, info.os)
    if key not in _LOADED:
        try:
            _LOADED[key] = find_profile(directory, info, name)
        except ProfileError as error:
            raise NotDocumented(f"the profile cannot be read: {error}") from error
    return _LOADED[key]
