"""A seccomp filter that makes Linux refuse mmap calls another platform would refuse.

The filter runs in the kernel on the real syscall, so the suite under test sees the refusal
through the same path a real platform's refusal would take. A filter can never be removed:
install it only in a process that is about to exec the run under test (see ``run_filtered``).
"""

from __future__ import annotations

import ctypes
import errno
import struct
import sys
from collections.abc import Sequence

# <linux/filter.h>, <linux/bpf_common.h>
_LD_W_ABS = 0x00 | 0x00 | 0x20
_JMP_JEQ_K = 0x05 | 0x10 | 0x00
_JMP_JSET_K = 0x05 | 0x40 | 0x00
_RET_K = 0x06 | 0x00
# <linux/seccomp.h>
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_SECCOMP_MODE_FILTER = 2
# <linux/prctl.h>
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22

#: (AUDIT_ARCH_* from <linux/audit.h>, __NR_mmap) for the architectures the proof runs on.
_ARCHES = {"x86_64": (0xC000003E, 9), "aarch64": (0xC00000B7, 222)}

_NR_OFFSET = 0
_ARCH_OFFSET = 4


def _arg_low_word(index: int) -> int:
    # struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
    # The low 32 bits only: CPython passes fd -1 zero-extended, libffi sign-extended.
    offset = 16 + 8 * index
    return offset if sys.byteorder == "little" else offset + 4


class Insn:
    def __init__(self, code: int, k: int, jt: int = 0, jf: int = 0) -> None:
        self.code, self.k, self.jt, self.jf = code, k, jt, jf

    def pack(self) -> bytes:
        return struct.pack("=HBBI", self.code, self.jt, self.jf, self.k)


def supported(machine: str) -> bool:
    return machine in _ARCHES


def anonymous_fd_must_be_minus_one(
    machine: str, map_anonymous: int, refuse_with: int = errno.EINVAL
) -> list[Insn]:
    """mmap with MAP_ANONYMOUS and an fd other than -1 fails with ``refuse_with``."""
    audit_arch, nr_mmap = _ARCHES[machine]
    allow, deny = Insn(_RET_K, _RET_ALLOW), Insn(_RET_K, _RET_ERRNO | refuse_with)
    body = [
        Insn(_LD_W_ABS, _ARCH_OFFSET),
        Insn(_JMP_JEQ_K, audit_arch, jt=0, jf=7),
        Insn(_LD_W_ABS, _NR_OFFSET),
        Insn(_JMP_JEQ_K, nr_mmap, jt=0, jf=5),
        Insn(_LD_W_ABS, _arg_low_word(3)),
        Insn(_JMP_JSET_K, map_anonymous, jt=0, jf=3),
        Insn(_LD_W_ABS, _arg_low_word(4)),
        Insn(_JMP_JEQ_K, 0xFFFFFFFF, jt=1, jf=0),
    ]
    return [*body, deny, allow]


def install(program: Sequence[Insn]) -> None:
    """Load ``program`` into this process (and every process it execs or forks) for good."""
    libc = ctypes.CDLL(None, use_errno=True)
    code = b"".join(insn.pack() for insn in program)
    buffer = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.addressof(buffer))
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
