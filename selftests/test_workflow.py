"""The CI workflow: every action pinned by commit, every suite job uploading its results."""

from __future__ import annotations

import re

from selftests.helpers import REPO

WORKFLOW = (REPO / ".github" / "workflows" / "ci.yml").read_text()


def test_every_action_is_pinned_by_a_full_commit_hash() -> None:
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW)
    assert uses
    unpinned = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)]
    assert unpinned == []


def test_every_suite_job_uploads_its_results_even_when_it_fails() -> None:
    runs = len(re.findall(r"-m tox$", WORKFLOW, flags=re.MULTILINE))
    uploads = re.findall(
        r"- name: Upload the results\n\s+if: always\(\)\n\s+uses: actions/upload-artifact@", WORKFLOW
    )
    assert runs > 0 and len(uploads) == runs
    assert "fail-fast: false" in WORKFLOW
