"""Fixtures shared by the project's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "platforms"
    directory.mkdir()
    return directory
