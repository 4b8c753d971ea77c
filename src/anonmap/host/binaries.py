"""Which release the running binary was built for, where the kernel decides by it.

FreeBSD's kern_mmap() keys some checks on the process's p_osrel, taken from the binary's ELF
ABI note; XNU's mmap() keys its unknown-flag check on the SDK the main binary was linked
against. Both are facts about this process's executable, so the probe reports them.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from typing import BinaryIO

# FreeBSD <sys/sysctl.h>
_CTL_KERN, _KERN_PROC, _KERN_PROC_OSREL = 1, 14, 40
# <mach-o/loader.h>, <mach-o/fat.h>, <mach/machine.h>
_FAT_MAGICS = {0xCAFEBABE: (">IIIII", 20), 0xCAFEBABF: (">IIQQII", 32)}
_MH_MAGIC_64 = 0xFEEDFACF
_LC_VERSION_MIN_MACOSX = 0x24
_LC_BUILD_VERSION = 0x32
_CPU_TYPES = {"x86_64": 0x01000007, "arm64": 0x0100000C, "aarch64": 0x0100000C}


def freebsd_osrel() -> str:
    """This process's p_osrel (kern.proc.osrel), or '' where it cannot be read."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mib = (ctypes.c_int * 4)(_CTL_KERN, _KERN_PROC, _KERN_PROC_OSREL, os.getpid())
        value = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if libc.sysctl(mib, 4, ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0)) != 0:
            return ""
    except (OSError, AttributeError):
        return ""
    return str(value.value)


def _version(encoded: int) -> str:
    # xxxx.yy.zz in nibbles, as the loader header describes.
    return f"{encoded >> 16}.{(encoded >> 8) & 0xFF}.{encoded & 0xFF}"


def macho_sdk(stream: BinaryIO, machine: str, base: int = 0) -> str:
    """The SDK version a Mach-O image (thin or universal) at ``base`` was linked against, or ''."""
    stream.seek(base)
    header = stream.read(32)
    if len(header) < 8:
        return ""
    (magic,) = struct.unpack(">I", header[:4])
    if magic in _FAT_MAGICS:
        layout, size = _FAT_MAGICS[magic]
        (count,) = struct.unpack(">I", header[4:8])
        stream.seek(base + 8)
        table = stream.read(count * size)
        for index in range(count):
            entry = struct.unpack(layout, table[index * size : (index + 1) * size])
            if entry[0] == _CPU_TYPES.get(machine):
                return macho_sdk(stream, machine, base + entry[2])
        return ""
    (magic,) = struct.unpack("<I", header[:4])
    if magic != _MH_MAGIC_64 or len(header) < 32:
        return ""
    ncmds, sizeofcmds = struct.unpack("<II", header[16:24])
    commands = stream.read(sizeofcmds)
    position = 0
    for _ in range(ncmds):
        if position + 8 > len(commands):
            break
        command, command_size = struct.unpack("<II", commands[position : position + 8])
        if command_size < 8 or position + command_size > len(commands):
            break
        if command == _LC_BUILD_VERSION:  # cmd, cmdsize, platform, minos, sdk
            return _version(struct.unpack("<I", commands[position + 16 : position + 20])[0])
        if command == _LC_VERSION_MIN_MACOSX:  # cmd, cmdsize, version, sdk
            return _version(struct.unpack("<I", commands[position + 12 : position + 16])[0])
        position += command_size
    return ""


def darwin_sdk() -> str:
    """The SDK the Python executable (this process's main binary) was built with, or ''."""
    try:
        with open(os.path.realpath(sys.executable), "rb") as stream:
            return macho_sdk(stream, os.uname().machine)
    except (OSError, struct.error):
        return ""


def binary_abi(os_name: str) -> str:
    """The release this process's binary was built for, where the platform's mmap cares."""
    if os_name == "freebsd":
        return freebsd_osrel()
    if os_name == "darwin":
        return darwin_sdk()
    return ""
