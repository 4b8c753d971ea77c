"""The syscall api: every behaviour's system-call-level cases, made by the freestanding
observer (src/anonmap/data/observer) with raw system calls and no libc, so that differences
between libc and the kernel show."""

from __future__ import annotations

import pytest

from anonmap.catalogue import Case
from anonmap.judge import Judge

# One worker builds and runs the observer; its cases share what it printed.
pytestmark = pytest.mark.xdist_group("observer")


@pytest.mark.observer
def test_syscall(case: Case, judge: Judge) -> None:
    finding = judge.observer_finding()
    if finding.unsupported:
        judge.unsupported(finding.unsupported)
    if finding.harness:
        judge.harness_error(finding.harness)
    judge.observe(finding.outcome, finding.detail)
