"""The probe: which platform, which layer, which capabilities; and the facts conditions test."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest

import anonmap
from anonmap.host.binaries import macho_sdk
from anonmap.host.probe import Capability, _arch, _compat_layers, _os_name, describe


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
        ("SunOS", "omnios-r151054-6ad70ba62c", "illumos"),
        ("SunOS", "joyent_20200602T173751Z", "illumos"),
        ("SunOS", "tribblix-m39", "illumos"),
        ("SunOS", "illumos-7b7c1a5", "illumos"),
        ("SunOS", "11.4.81.193.1", "solaris"),
        ("SunOS", "11.3", "solaris"),
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
        (
            "5.15.0",
            "FreeBSD 14.3-RELEASE releng/14.3-n271432-8c9ce319fef7 GENERIC",
            "x86_64",
            "freebsd-linux-abi",
        ),
    ],
)
def test_compatibility_layers_are_recognised(release: str, version: str, machine: str, layer: str) -> None:
    assert layer in _compat_layers(
        "linux", _uname(release=release, version=version, machine=machine), machine
    )


def test_no_layer_is_claimed_off_linux() -> None:
    # No jail or Rosetta sysctl answers on this machine: nothing is claimed.
    assert _compat_layers("freebsd", _uname("FreeBSD", "14.1-RELEASE"), "x86_64") == ()
    assert _compat_layers("darwin", _uname("Darwin", "24.6.0"), "x86_64") == ()


@pytest.mark.parametrize(
    ("sysname", "machine", "arch"),
    [
        ("FreeBSD", "amd64", "x86_64"),
        ("FreeBSD", "arm64", "aarch64"),
        ("OpenBSD", "arm64", "aarch64"),
        ("NetBSD", "amd64", "x86_64"),
        ("DragonFly", "x86_64", "x86_64"),
        ("SunOS", "i86pc", "x86_64"),
        ("Darwin", "arm64", "aarch64"),
    ],
)
def test_architectures_fold_to_one_spelling(sysname: str, machine: str, arch: str) -> None:
    uname = _uname(sysname, machine=machine, version="illumos-1" if sysname == "SunOS" else "#1")
    assert _arch(_os_name(uname), uname) == arch


def test_a_netbsd_board_family_without_machine_arch_is_kept_as_it_is() -> None:
    # Off NetBSD no hw.machine_arch answers, so evbarm stays evbarm rather than a guess.
    assert _arch("netbsd", _uname("NetBSD", machine="evbarm")) == "evbarm"


def _thin_macho(command: int, sdk: int) -> bytes:
    # mach_header_64, then one version command (and a dummy command before it).
    dummy = struct.pack("<II", 0x19, 16) + b"\0" * 8
    if command == 0x32:  # LC_BUILD_VERSION: cmd, cmdsize, platform, minos, sdk, ntools
        version = struct.pack("<IIIIII", 0x32, 24, 1, 0x000B0000, sdk, 0)
    else:  # LC_VERSION_MIN_MACOSX: cmd, cmdsize, version, sdk
        version = struct.pack("<IIII", 0x24, 16, 0x000A0900, sdk)
    commands = dummy + version
    header = struct.pack("<IIIIIIII", 0xFEEDFACF, 0x0100000C, 0, 2, 2, len(commands), 0, 0)
    return header + commands


@pytest.mark.parametrize(("command", "expected"), [(0x32, "14.2.0"), (0x24, "10.15.0")])
def test_the_sdk_is_read_from_a_thin_macho(command: int, expected: str) -> None:
    sdk = 0x000E0200 if command == 0x32 else 0x000A0F00
    assert macho_sdk(io.BytesIO(_thin_macho(command, sdk)), "arm64") == expected


def test_the_sdk_is_read_from_the_matching_slice_of_a_universal_binary() -> None:
    x86 = _thin_macho(0x32, 0x000D0000).replace(
        struct.pack("<I", 0x0100000C), struct.pack("<I", 0x01000007), 1
    )
    arm = _thin_macho(0x32, 0x000E0500)
    fat = struct.pack(">II", 0xCAFEBABE, 2)
    fat += struct.pack(">IIIII", 0x01000007, 3, 4096, len(x86), 12)
    fat += struct.pack(">IIIII", 0x0100000C, 0, 8192, len(arm), 14)
    image = fat.ljust(4096, b"\0") + x86.ljust(4096, b"\0") + arm
    assert macho_sdk(io.BytesIO(image), "arm64") == "14.5.0"
    assert macho_sdk(io.BytesIO(image), "x86_64") == "13.0.0"
    assert macho_sdk(io.BytesIO(image), "ppc") == ""
    assert macho_sdk(io.BytesIO(b"\x7fELF" + b"\0" * 60), "arm64") == ""
