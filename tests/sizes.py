"""Case parameter values that name lengths and offsets, in bytes on this platform."""

from __future__ import annotations

from anonmap.apis.region import PAGE

LENGTHS = {"1": 1, "page": PAGE, "page+1": PAGE + 1, "16-pages": 16 * PAGE}
OFFSETS = {"page": PAGE, "unaligned": 1}


def whole_pages(length: int) -> int:
    """``length`` rounded up to whole pages: what a libc mapping of it covers."""
    return -(-length // PAGE) * PAGE
