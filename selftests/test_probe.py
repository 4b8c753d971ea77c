"""The probe: which platform, which layer, which capabilities; and the facts conditions test."""

from __future__ import annotations

import json
import os

import pytest

import anonmap
from anonmap.probe import Capability, _compat_layers, _os_name, describe


def _uname(
    sysname: str = "Linux", release: str = "6.1.0", version: str = "#1 SMP", machine: str = "x86_64"
) -> os.uname_result:
    return os.uname_result((sysname, "host", release, version, machine))


def test_probe_describes_this_host_completely() -> None:
    info = anonmap.probe()
    assert info.os == os.uname().sysname.lower()
    assert info.page_size > 0 and info.page_size & (info.page_size - 1) == 0
    assert info.python.count(".") == 2
    assert set(info.capabilities) == set(Capability)
    # A fact that cannot be parsed is None, never an exception.
    assert info.version_of("kernel") is not None
    json.dumps(info.to_json())


def test_the_header_names_platform_and_missing_capabilities() -> None:
    lines = describe(anonmap.probe())
    assert lines[0].startswith("anonmap: ") and "page" in lines[0]
    assert "missing capabilities" in lines[1]


@pytest.mark.parametrize(
    ("sysname", "version", "expected"),
    [
        ("Linux", "#1 SMP", "linux"),
        ("Darwin", "Darwin Kernel Version 23.4.0", "darwin"),
        ("FreeBSD", "FreeBSD 14.1-RELEASE", "freebsd"),
        ("DragonFly", "DragonFly v6.4.0", "dragonfly"),
        ("SunOS", "omnios-r151050-5e3d6dd4fa", "solaris"),
        ("SunOS", "illumos-7b7c1a5", "illumos"),
    ],
)
def test_os_names(sysname: str, version: str, expected: str) -> None:
    assert _os_name(_uname(sysname, version=version)) == expected


@pytest.mark.parametrize(
    ("release", "version", "machine", "layer"),
    [
        ("4.4.0-19041-Microsoft", "#1 SMP", "x86_64", "wsl1"),
        ("5.15.153.1-microsoft-standard-WSL2", "#1 SMP", "x86_64", "wsl2"),
        ("4.4.0", "#1 SMP Sun Jan 10 15:06:54 PST 2016", "x86_64", "gvisor"),
    ],
)
def test_compatibility_layers_are_recognised(release: str, version: str, machine: str, layer: str) -> None:
    assert layer in _compat_layers(
        "linux", _uname(release=release, version=version, machine=machine), machine
    )


def test_no_layer_is_claimed_off_linux() -> None:
    assert _compat_layers("freebsd", _uname("FreeBSD", "14.1-RELEASE"), "x86_64") == ()
