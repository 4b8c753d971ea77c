"""anonmap: a portability test suite for anonymous memory mappings.

The public API answers a runtime or allocator author without performing any behaviour under
test: ``anonmap.probe()`` describes this host (platform, release, architecture, libc, page
size, compatibility layer) and the capabilities the environment grants; ``anonmap.documented()``
says what this host's platform, or a named one, documents for a behaviour and case, with the
citations and the portable idiom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anonmap.host.installation import VERSION
from anonmap.host.probe import Capability, CapabilityState, RunInfo, probe

if TYPE_CHECKING:
    from anonmap.reporting.answers import Documented, NotDocumented, documented

__all__ = ["Capability", "CapabilityState", "Documented", "NotDocumented", "RunInfo", "documented", "probe"]
__version__ = VERSION

#: Imported when first asked for, so that ``import anonmap`` and ``anonmap.probe()`` do not pay
#: for the catalogue and profile readers (PEP 562).
_LAZY = {"Documented", "NotDocumented", "documented"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from anonmap.reporting import answers

        return getattr(answers, name)
    raise AttributeError(f"module 'anonmap' has no attribute {name!r}")
