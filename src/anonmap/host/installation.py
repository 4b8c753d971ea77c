"""This anonmap installation: its version, and the profiles and checks that came with it.

A wheel carries them inside the package (``anonmap/platforms``, ``anonmap/tests``); run from
its repository (an editable install, ``PYTHONPATH=src``) they are the source tree's top-level
``platforms/`` and ``tests/``. Never the current directory: another project's ``platforms/``
folder is not anonmap's, and an explicit option is the way to use others.
"""

from __future__ import annotations

from importlib import metadata, resources
from pathlib import Path

try:
    VERSION = metadata.version("anonmap")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0+unknown"


def profiles() -> Path:
    """The platforms' profiles shipped with this anonmap."""
    return _shipped("platforms")


def checks() -> Path:
    """The suite's checks (its pytest files) shipped with this anonmap."""
    return _shipped("tests")


def _shipped(name: str) -> Path:
    package = Path(str(resources.files("anonmap")))
    inside = package / name
    return inside if inside.is_dir() else package.parent.parent / name
