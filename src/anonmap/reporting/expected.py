"""The platforms a CI run was expected to produce, from its workflow file.

Every job whose matrix entries name a ``platform`` contributes those names: the same names the
jobs pass to the suite (``--anonmap-label``) and use for their results artifacts, so the list
of expected platforms lives in one place, the matrix itself. Needs PyYAML (``anonmap[ci]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anonmap.files.bounded import Unreadable, read_regular
from anonmap.files.checked import Malformed, checked_text, quoted
from anonmap.files.yamlread import YamlError, loads

#: A workflow is tens of kilobytes; anything far larger is not one, and is refused unread.
MAX_BYTES = 1024 * 1024


class WorkflowError(Exception):
    """The workflow cannot be read as one; the message names the file."""


def _load(path: Path) -> Any:
    try:
        text = read_regular(path, MAX_BYTES, "a workflow").decode("utf-8")
        return loads(text)
    except ImportError as error:
        raise WorkflowError(f"{path}: reading a workflow needs PyYAML (pip install 'anonmap[ci]')") from error
    except Unreadable as error:
        raise WorkflowError(str(error)) from error
    except UnicodeDecodeError as error:
        raise WorkflowError(f"{path}: not UTF-8 text: byte {error.start}") from error
    except YamlError as error:
        raise WorkflowError(f"{path}: {error}") from error


def _platform(where: str, value: object) -> str:
    # A number or a mapping would be str()-ed into a label no job passes to the suite.
    return checked_text(where, value, empty=False)


def matrix_platforms(job: Any) -> list[str]:
    """The ``platform`` of each matrix entry of one job (include entries and a plain axis);
    ``Malformed`` names the key where the matrix is not what GitHub Actions reads."""
    strategy = job.get("strategy") if isinstance(job, dict) else None
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        # Absent, or an expression (fromJSON) only the run itself can evaluate.
        return []
    axis = matrix.get("platform", [])
    if not isinstance(axis, (list, str)):
        raise Malformed(f"key 'strategy.matrix.platform': expected a list of names, found {quoted(axis)}")
    found = (
        [_platform(f"strategy.matrix.platform[{index}]", value) for index, value in enumerate(axis)]
        if isinstance(axis, list)
        else []
    )
    include = matrix.get("include") or []
    if not isinstance(include, (list, str)):
        raise Malformed(f"key 'strategy.matrix.include': expected a list of entries, found {quoted(include)}")
    for index, entry in enumerate(include if isinstance(include, list) else []):
        if isinstance(entry, dict) and "platform" in entry:
            found.append(_platform(f"strategy.matrix.include[{index}].platform", entry["platform"]))
    return found


def from_workflow(path: Path) -> list[str]:
    """Every platform the workflow's matrices name, in file order."""
    document = _load(path)
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        raise WorkflowError(f"{path}: not a GitHub Actions workflow (no 'jobs' mapping)")
    platforms: list[str] = []
    for name, job in jobs.items():
        try:
            platforms += matrix_platforms(job)
        except Malformed as error:
            raise WorkflowError(f"{path}: job {quoted(name)}: {error}") from error
    if not platforms:
        raise WorkflowError(f"{path}: no job's matrix names a 'platform'")
    return platforms
