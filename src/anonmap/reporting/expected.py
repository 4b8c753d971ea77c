"""The platforms a CI run was expected to produce, from its workflow file.

Every job whose matrix entries name a ``platform`` contributes those names: the same names the
jobs pass to the suite (``--anonmap-label``) and use for their results artifacts, so the list
of expected platforms lives in one place, the matrix itself. Needs PyYAML (``anonmap[ci]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class WorkflowError(Exception):
    """The workflow cannot be read as one; the message names the file."""


def _load(path: Path) -> Any:
    try:
        import yaml
    except ImportError as error:
        raise WorkflowError(f"{path}: reading a workflow needs PyYAML (pip install 'anonmap[ci]')") from error
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowError(f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}") from error
    except yaml.YAMLError as error:
        raise WorkflowError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from error


def matrix_platforms(job: Any) -> list[str]:
    """The ``platform`` of each matrix entry of one job (include entries and a plain axis)."""
    strategy = job.get("strategy") if isinstance(job, dict) else None
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return []
    axis = matrix.get("platform")
    found = [str(value) for value in axis] if isinstance(axis, list) else []
    for entry in matrix.get("include", []) or []:
        if isinstance(entry, dict) and "platform" in entry:
            found.append(str(entry["platform"]))
    return found


def from_workflow(path: Path) -> list[str]:
    """Every platform the workflow's matrices name, in file order."""
    document = _load(path)
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        raise WorkflowError(f"{path}: not a GitHub Actions workflow (no 'jobs' mapping)")
    platforms = [platform for job in jobs.values() for platform in matrix_platforms(job)]
    if not platforms:
        raise WorkflowError(f"{path}: no job's matrix names a 'platform'")
    return platforms
