"""anonmap: a portability test suite for anonymous memory mappings.

The public API is the probe: ``anonmap.probe()`` describes this host (platform, release,
architecture, libc, page size, compatibility layer) and the capabilities the environment
grants, cheaply and without performing any behaviour under test.
"""

from anonmap.host.installation import VERSION
from anonmap.host.probe import Capability, CapabilityState, RunInfo, probe

__all__ = ["Capability", "CapabilityState", "RunInfo", "probe"]
__version__ = VERSION
