"""Which anonmap this is: the version its installed metadata records."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("anonmap")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "0+unknown"
