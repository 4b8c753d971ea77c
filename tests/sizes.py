"""Case parameter values that name lengths and offsets, in bytes on this platform."""

from __future__ import annotations

from anonmap.apis.region import PAGE
from anonmap.expect import shared_values

LENGTHS = {value: span.at(PAGE) for value, span in shared_values.LENGTHS.items()}
OFFSETS = {value: span.at(PAGE) for value, span in shared_values.OFFSETS.items()}


def whole_pages(length: int) -> int:
    """``length`` rounded up to whole pages: what a libc mapping of it covers."""
    return -(-length // PAGE) * PAGE
