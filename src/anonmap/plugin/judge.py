"""The judge: runs one case's check in isolation and turns what it observed into a verdict,
a record, and the test's outcome (pass, skip as unsupported, xfail as a known deviation, or a
failure naming the deviation and its citations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import pytest

from anonmap.apis import registry
from anonmap.apis.executor import Machine
from anonmap.apis.flags import Flags
from anonmap.apis.interface import Check, Context
from anonmap.expect import catalogue, outcomes
from anonmap.expect.profiles import Expectation
from anonmap.host.probe import QEMU_USER, SECCOMP, Capability
from anonmap.plugin.session import State
from anonmap.results.records import Record
from anonmap.results.verdicts import Verdict, decide
from anonmap.run import isolate

#: What a sandbox's seccomp policy answers with: SECCOMP_RET_ERRNO with EPERM (Docker's default
#: profile, systemd's SystemCallFilter=...:EPERM), or SIGSYS, the signal SECCOMP_RET_KILL_PROCESS
#: (systemd's default for SystemCallFilter=) and SECCOMP_RET_TRAP end the caller with
#: (seccomp(2)). Under a filter, an unexpected one is the sandbox's.
SANDBOX_ANSWERS = ("EPERM", "SIGSYS")
#: What a deviation observed as another errno under a filter adds to its detail. A filter may
#: answer with any errno (SECCOMP_RET_ERRNO), and nothing a process can read tells its answer
#: from the kernel's, so the deviation stands, since a sandbox must not hide a platform's, and
#: says how to tell.
FILTERED = (
    "a seccomp filter is installed and may have answered in the kernel's place: "
    "run outside the sandbox to tell which"
)
#: The user property a record travels in, from an xdist worker to the controller.
PROPERTY = "anonmap-record"


def _note(expectation: Expectation | None) -> str:
    """The entry's note, and the known bug it records, for the results and the reports."""
    if expectation is None:
        return ""
    known = (
        f"known bug {expectation.known_bug}: observed {expectation.known_observed}"
        if expectation.known_bug
        else ""
    )
    return "; ".join(part for part in (known, expectation.note) if part)


def _defined(isolated: isolate.Isolated, check: str) -> isolate.Isolated:
    """The observation, or a harness error naming the check where its outcome is no word the
    catalogue defines: a misspelled word is the check's fault, never the platform's deviation,
    and it is not recorded, so the results file still reads back."""
    word = isolated.outcome
    if not word or outcomes.is_outcome(word):
        return isolated
    said = f" ({isolated.detail})" if isolated.detail else ""
    return isolate.Isolated(
        "",
        harness_error=f"the check of {check} returned {word!r}{said}, which is not an outcome word "
        "(anonmap.expect.outcomes)",
    )


class Judge:
    """Runs one case's check in isolation and turns what it observed into a verdict."""

    def __init__(self, case: catalogue.Case, state: State, node: pytest.Item) -> None:
        self.case = case
        self._state = state
        self._node = node

    @property
    def flags(self) -> Flags:
        """Flag values. Resolve them inside the check, where a name this platform lacks
        (``flags.UndefinedName``) is the outcome 'absent' rather than a harness error."""
        return self._state.flags

    def _expectation(self) -> Expectation | None:
        profile = self._state.profile
        return profile.expectation(self.case, self._state.run_info) if profile else None

    def _record(
        self, verdict: Verdict, observed: str, detail: str, expectation: Expectation | None
    ) -> Record:
        record = Record(
            nodeid=self._node.nodeid,
            behaviour=self.case.behaviour,
            case=self.case.id,
            params=dict(self.case.params),
            expected=expectation.outcome if expectation else "",
            observed=observed,
            verdict=verdict,
            cite=expectation.cite if expectation else (),
            note=_note(expectation),
            detail=detail,
            source=f"{self._state.shown(expectation.path)}:{expectation.line}" if expectation else "",
        )
        self._node.user_properties.append((PROPERTY, record.to_json()))
        return record

    def unjudged(self, verdict: Verdict, detail: str) -> None:
        """Record a test that ended outside the judge: a fixture, a compiler helper or the
        test body raised (ERROR), or something skipped it (UNSUPPORTED)."""
        self._record(verdict, "", detail, self._expectation())

    def unsupported(self, reason: str) -> NoReturn:
        self._record(Verdict.UNSUPPORTED, "", reason, self._expectation())
        pytest.skip(f"unsupported: {reason}")

    def _check_capabilities(self) -> None:
        info = self._state.run_info
        found = self._state.observations
        if found is not None and registry.of(self.case) is None:
            self.unsupported(f"not observed: {found.observed_on()['file']} holds the observer's cases alone")
        emulation = self._state.emulation
        if emulation is not None and not emulation.covers(self.case):
            self.unsupported(
                f"not emulated: persona {emulation.name} does not make {info.os} answer like {emulation.platform} here"
            )
        for capability in self.case.requires:
            if found is not None and capability is Capability.FORK:
                # The observer isolated each case itself (a forked child, or an instance of its
                # own where fork is absent) and said unsupported where a check needed a fork.
                continue
            state = info.can(capability)
            if not state.available:
                self.unsupported(f"{capability.value}: {state.detail}")

    def run(self, check: Check) -> None:
        """Observe the case through its call interface (the check runs in a forked child where
        the interface is Python's own): skip (unsupported), pass, or fail naming the deviation."""
        self._check_capabilities()
        entry = registry.of(self.case)
        if entry is None:
            self.harness_error(
                f"{self.case.behaviour}[{self.case.id}] names no api: give its outcome to judge.program_outcome()"
            )
        state = self._state
        context = Context(state.run_info, state.flags, state.time_limit, state.observations)
        self._judge(entry.observe(self.case, check, context))

    def program_outcome(
        self, outcome: str, detail: str = "", sandbox_answers: tuple[str, ...] = SANDBOX_ANSWERS
    ) -> None:
        """Judge an outcome observed without a forked check: one that a separate process
        (a compiler, a compiled program) already produced, so it cannot take pytest down.
        ``sandbox_answers``: the errnos (and signal) a sandbox's refusal reaches that program as."""
        self._check_capabilities()
        self._judge(isolate.Isolated(outcome, detail), sandbox_answers)

    def harness_error(self, detail: str) -> NoReturn:
        """The harness broke (not the platform): record an error and fail the test."""
        self._record(Verdict.ERROR, "", detail, self._expectation())
        info = self._state.run_info
        pytest.fail(
            f"harness error in {self.case.behaviour}[{self.case.id}] on {info.os} {info.release} {info.arch}:\n{detail}",
            pytrace=False,
        )

    @property
    def time_limit(self) -> float:
        """The time limit of one check, and of one compiler or program run."""
        return self._state.time_limit

    @property
    def machine(self) -> Machine:
        """What a check's program needs to know of this machine (``executor.execute``)."""
        info = self._state.run_info
        return Machine(self.flags, info.arch, QEMU_USER in info.compat)

    @property
    def arch(self) -> str:
        """This machine's architecture as the probe names it."""
        return self._state.run_info.arch

    def compilers(self) -> Mapping[str, str]:
        """Each C compiler the probe looked for, with its path ('' where absent)."""
        return self._state.run_info.compilers

    def require_compiler(self, name: str) -> str:
        """The path of the named C compiler, or skip the case as unsupported."""
        self._check_capabilities()
        path = self._state.run_info.compilers.get(name, "")
        if not path:
            self.unsupported(f"no {name} on PATH (probe: compilers)")
        return path

    def _judge(self, isolated: isolate.Isolated, sandbox_answers: tuple[str, ...] = SANDBOX_ANSWERS) -> None:
        info = self._state.run_info
        if isolated.unsupported:
            self.unsupported(isolated.unsupported)
        isolated = _defined(isolated, f"{self.case.behaviour}[{self.case.id}]")
        expectation = self._expectation()
        verdict = decide(expectation, isolated)
        if verdict is Verdict.DEVIATION and isolated.outcome in sandbox_answers and SECCOMP in info.compat:
            self.unsupported(
                f"answered {isolated.outcome} while a seccomp filter is installed ({SECCOMP} in the "
                f"probe's compatibility layers): a sandbox's policy, not {info.os}'s behaviour; {isolated.detail}"
            )
        detail = isolated.detail or isolated.harness_error
        if verdict is Verdict.DEVIATION and SECCOMP in info.compat and outcomes.is_errno(isolated.outcome):
            detail = "; ".join(part for part in (detail, FILTERED) if part)
        record = self._record(verdict, isolated.outcome, detail, expectation)
        platform = f"{info.os} {info.release} {info.arch}"
        if verdict is Verdict.KNOWN_DEVIATION and expectation is not None:
            # As lit's XFAIL: the platform still does what its reported bug makes it do.
            pytest.xfail(
                f"known deviation: {self.case.behaviour}[{self.case.id}] on {platform} observed "
                f"{record.observed}, documented {record.expected}; bug {expectation.known_bug}"
            )
        if verdict is Verdict.FIXED and expectation is not None:
            pytest.fail(
                f"fixed: {self.case.behaviour}[{self.case.id}] on {platform} now does what its documentation "
                f"says ({record.observed}); the bug {expectation.known_bug} no longer shows: drop 'known' "
                f"from {record.source}",
                pytrace=False,
            )
        if verdict is Verdict.ERROR:
            pytest.fail(
                f"harness error in {self.case.behaviour}[{self.case.id}] on {platform}:\n{isolated.harness_error}",
                pytrace=False,
            )
        if verdict is Verdict.DEVIATION:
            lines = [
                f"deviation: {self.case.behaviour}[{self.case.id}] on {platform}",
                f"  expected: {record.expected}   ({record.source})",
                f"  observed: {record.observed}" + (f"   ({record.detail})" if record.detail else ""),
                *(f"  cite: {c}" for c in record.cite),
            ]
            if record.note:
                lines.append(f"  note: {record.note}")
            pytest.fail("\n".join(lines), pytrace=False)
