"""Seccomp filters that make Linux refuse calls the way another platform or a sandbox would.

The filter runs in the kernel on the real syscall, so the suite under test sees the refusal
through the same path a real platform's refusal would take. A filter can never be removed:
install it only in a process that is about to exec the run under test (see ``run_filtered``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import struct
import sys
from collections.abc import Callable, Sequence

# <linux/filter.h>, <linux/bpf_common.h>
_LD_W_ABS = 0x00 | 0x00 | 0x20
_JMP_JEQ_K = 0x05 | 0x10 | 0x00
_JMP_JSET_K = 0x05 | 0x40 | 0x00
_RET_K = 0x06 | 0x00
# <linux/seccomp.h>
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_SECCOMP_MODE_FILTER = 2
# <linux/prctl.h>
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
# <linux/sched.h>
_CLONE_THREAD = 0x00010000


@dataclasses.dataclass(frozen=True)
class Arch:
    audit: int  # AUDIT_ARCH_* from <linux/audit.h>
    mmap: int  # syscall numbers from <asm/unistd.h>
    clone: int
    clone3: int
    forks: tuple[int, ...]  # fork and vfork, where the architecture has them
    madvise: int
    mprotect: int
    munmap: int
    wait4: int


_ARCHES = {
    "x86_64": Arch(
        audit=0xC000003E,
        mmap=9,
        clone=56,
        clone3=435,
        forks=(57, 58),
        madvise=28,
        mprotect=10,
        munmap=11,
        wait4=61,
    ),
    "aarch64": Arch(
        audit=0xC00000B7,
        mmap=222,
        clone=220,
        clone3=435,
        forks=(),
        madvise=233,
        mprotect=226,
        munmap=215,
        wait4=260,
    ),
}

_NR_OFFSET = 0
_ARCH_OFFSET = 4


def _arg_low_word(index: int) -> int:
    # struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
    # The low 32 bits only: CPython passes fd -1 zero-extended, libffi sign-extended.
    offset = 16 + 8 * index
    return offset if sys.byteorder == "little" else offset + 4


@dataclasses.dataclass(frozen=True)
class Insn:
    code: int
    k: int
    jt: int = 0
    jf: int = 0

    def pack(self) -> bytes:
        return struct.pack("=HBBI", self.code, self.jt, self.jf, self.k)


@dataclasses.dataclass(frozen=True)
class Jump:
    """A conditional jump to labels; None means the next instruction."""

    code: int
    k: int
    true: str | None = None
    false: str | None = None


@dataclasses.dataclass(frozen=True)
class Label:
    name: str


def _assemble(items: Sequence[Insn | Jump | Label]) -> list[Insn]:
    positions: dict[str, int] = {}
    index = 0
    for item in items:
        if isinstance(item, Label):
            positions[item.name] = index
        else:
            index += 1
    program: list[Insn] = []
    for item in items:
        if isinstance(item, Label):
            continue
        if isinstance(item, Jump):
            here = len(program) + 1  # BPF jumps count from the next instruction

            def offset(label: str | None, here: int = here) -> int:
                return 0 if label is None else positions[label] - here

            program.append(Insn(item.code, item.k, offset(item.true), offset(item.false)))
        else:
            program.append(item)
    return program


def supported(machine: str) -> bool:
    return machine in _ARCHES


def _anonymous_mmap(arch: Arch, map_anonymous: int) -> list[Insn | Jump | Label]:
    """Fall through only for this architecture's mmap with MAP_ANONYMOUS; else jump to allow."""
    return [
        Insn(_LD_W_ABS, _ARCH_OFFSET),
        Jump(_JMP_JEQ_K, arch.audit, false="allow"),
        Insn(_LD_W_ABS, _NR_OFFSET),
        Jump(_JMP_JEQ_K, arch.mmap, false="allow"),
        Insn(_LD_W_ABS, _arg_low_word(3)),
        Jump(_JMP_JSET_K, map_anonymous, false="allow"),
    ]


def anonymous_refusals(
    machine: str, map_anonymous: int, *, allowed_fd_bits: int = 0, offset_must_be_zero: bool = False
) -> list[Insn]:
    """mmap with MAP_ANONYMOUS fails with EINVAL when the fd is not -1 and carries a bit outside
    ``allowed_fd_bits``, or, with ``offset_must_be_zero``, when the offset is not 0."""
    arch = _ARCHES[machine]
    offset_check: list[Insn | Jump | Label] = []
    if offset_must_be_zero:
        low, high = _arg_low_word(5), _arg_low_word(5) ^ 4  # the other half of the 64-bit offset
        offset_check = [
            Insn(_LD_W_ABS, low),
            Jump(_JMP_JEQ_K, 0, false="deny"),
            Insn(_LD_W_ABS, high),
            Jump(_JMP_JEQ_K, 0, false="deny"),
        ]
    fd_check: list[Insn | Jump | Label] = [Jump(_JMP_JEQ_K, 0xFFFFFFFF, true="allow")]
    if allowed_fd_bits:
        fd_check.append(Jump(_JMP_JSET_K, ~allowed_fd_bits & 0xFFFFFFFF, true="deny", false="allow"))
    return _assemble(
        [
            *_anonymous_mmap(arch, map_anonymous),
            *offset_check,
            Insn(_LD_W_ABS, _arg_low_word(4)),
            *fd_check,
            Label("deny"),
            Insn(_RET_K, _RET_ERRNO | errno.EINVAL),
            Label("allow"),
            Insn(_RET_K, _RET_ALLOW),
        ]
    )


def fork_blocked(machine: str) -> list[Insn]:
    """Creating a process fails with EPERM, as in a sandbox that forbids fork; threads still work.

    clone3 fails with ENOSYS so that libc falls back to clone, whose flags the filter can read.
    """
    arch = _ARCHES[machine]
    return _assemble(
        [
            Insn(_LD_W_ABS, _ARCH_OFFSET),
            Jump(_JMP_JEQ_K, arch.audit, false="allow"),
            Insn(_LD_W_ABS, _NR_OFFSET),
            Jump(_JMP_JEQ_K, arch.clone3, true="enosys"),
            *(Jump(_JMP_JEQ_K, nr, true="eperm") for nr in arch.forks),
            Jump(_JMP_JEQ_K, arch.clone, false="allow"),
            Insn(_LD_W_ABS, _arg_low_word(0)),
            Jump(_JMP_JSET_K, _CLONE_THREAD, true="allow"),
            Label("eperm"),
            Insn(_RET_K, _RET_ERRNO | errno.EPERM),
            Label("enosys"),
            Insn(_RET_K, _RET_ERRNO | errno.ENOSYS),
            Label("allow"),
            Insn(_RET_K, _RET_ALLOW),
        ]
    )


def shared_anonymous_refused(action: int) -> Callable[[str, int], list[Insn]]:
    """mmap of MAP_SHARED|MAP_ANONYMOUS answered with ``action``, as a sandbox's policy would
    refuse it: SECCOMP_RET_ERRNO with EPERM (Docker's default profile, systemd with an errno),
    or SECCOMP_RET_KILL_PROCESS (systemd's SystemCallFilter= default), which ends the caller
    with SIGSYS."""

    def program(machine: str, map_anonymous: int) -> list[Insn]:
        arch = _ARCHES[machine]
        map_shared = 0x01  # <asm-generic/mman-common.h> MAP_SHARED, the same on every Linux ABI
        return _assemble(
            [
                *_anonymous_mmap(arch, map_anonymous),
                Jump(_JMP_JSET_K, map_shared, false="allow"),
                Insn(_RET_K, action),
                Label("allow"),
                Insn(_RET_K, _RET_ALLOW),
            ]
        )

    return program


def wait4_eperm(machine: str, _map_anonymous: int) -> list[Insn]:
    """wait4() fails with EPERM: a sandbox that lets a process fork but not reap, so that what
    it cannot see of its children is told apart from what they did."""
    arch = _ARCHES[machine]
    return _assemble(
        [
            Insn(_LD_W_ABS, _ARCH_OFFSET),
            Jump(_JMP_JEQ_K, arch.audit, false="allow"),
            Insn(_LD_W_ABS, _NR_OFFSET),
            Jump(_JMP_JEQ_K, arch.wait4, true="deny"),
            Label("allow"),
            Insn(_RET_K, _RET_ALLOW),
            Label("deny"),
            Insn(_RET_K, _RET_ERRNO | errno.EPERM),
        ]
    )


#: <asm-generic/mman-common.h>: the advice that asks a child not to get a mapping's contents.
FORK_ADVICE = {"MADV_DONTFORK": 10, "MADV_WIPEONFORK": 18}


def fork_advice_einval(machine: str, _map_anonymous: int) -> list[Insn]:
    """madvise(MADV_DONTFORK) and madvise(MADV_WIPEONFORK) fail with EINVAL, as on a kernel
    that has neither (Linux before 2.6.16 and 4.14): the sensitivity proof of fork-controls."""
    arch = _ARCHES[machine]
    return _assemble(
        [
            Insn(_LD_W_ABS, _ARCH_OFFSET),
            Jump(_JMP_JEQ_K, arch.audit, false="allow"),
            Insn(_LD_W_ABS, _NR_OFFSET),
            Jump(_JMP_JEQ_K, arch.madvise, false="allow"),
            Insn(_LD_W_ABS, _arg_low_word(2)),
            *(Jump(_JMP_JEQ_K, advice, true="deny") for advice in FORK_ADVICE.values()),
            Label("allow"),
            Insn(_RET_K, _RET_ALLOW),
            Label("deny"),
            Insn(_RET_K, _RET_ERRNO | errno.EINVAL),
        ]
    )


#: <asm-generic/mman-common.h> PROT_EXEC, the same on every Linux ABI.
_PROT_EXEC = 0x4


def exec_refused(refusal: int) -> Callable[[str, int], list[Insn]]:
    """Anonymous mmap and any mprotect asking for PROT_EXEC fail with ``refusal``: with EPERM as
    systemd's MemoryDenyWriteExecute= answers (a sandbox's policy), with EACCES as a kernel
    enforcing W^X would (the sensitivity proof of exec-memory)."""

    def program(machine: str, map_anonymous: int) -> list[Insn]:
        arch = _ARCHES[machine]
        return _assemble(
            [
                Insn(_LD_W_ABS, _ARCH_OFFSET),
                Jump(_JMP_JEQ_K, arch.audit, false="allow"),
                Insn(_LD_W_ABS, _NR_OFFSET),
                Jump(_JMP_JEQ_K, arch.mprotect, true="prot"),
                Jump(_JMP_JEQ_K, arch.mmap, false="allow"),
                Insn(_LD_W_ABS, _arg_low_word(3)),
                Jump(_JMP_JSET_K, map_anonymous, false="allow"),
                Label("prot"),
                Insn(_LD_W_ABS, _arg_low_word(2)),
                Jump(_JMP_JSET_K, _PROT_EXEC, true="deny"),
                Label("allow"),
                Insn(_RET_K, _RET_ALLOW),
                Label("deny"),
                Insn(_RET_K, _RET_ERRNO | refusal),
            ]
        )

    return program


def ignored(call: str, prot_bits: int = 0) -> Callable[[str, int], list[Insn]]:
    """``call`` (munmap or mprotect) reports success and does nothing: SECCOMP_RET_ERRNO with 0
    returns 0 without running it. With ``prot_bits``, only an mprotect asking for one of them.
    A kernel that is wrong in the way the partial-munmap and write-after-RX checks must catch,
    seen by the observer's raw system calls as by libc (the sensitivity proofs)."""

    def program(machine: str, _map_anonymous: int) -> list[Insn]:
        arch = _ARCHES[machine]
        prot_check: list[Insn | Jump | Label] = []
        if prot_bits:
            prot_check = [Insn(_LD_W_ABS, _arg_low_word(2)), Jump(_JMP_JSET_K, prot_bits, false="allow")]
        return _assemble(
            [
                Insn(_LD_W_ABS, _ARCH_OFFSET),
                Jump(_JMP_JEQ_K, arch.audit, false="allow"),
                Insn(_LD_W_ABS, _NR_OFFSET),
                Jump(_JMP_JEQ_K, getattr(arch, call), false="allow"),
                *prot_check,
                Insn(_RET_K, _RET_ERRNO | 0),
                Label("allow"),
                Insn(_RET_K, _RET_ALLOW),
            ]
        )

    return program


#: Mach VM flags XNU's mmap() accepts in the fd of a MAP_ANON call (osfmk/mach/vm_statistics.h):
#: VM_FLAGS_ALIAS_MASK | VM_FLAGS_SUPERPAGE_MASK | VM_FLAGS_PURGABLE | VM_FLAGS_4GB_CHUNK.
XNU_FD_FLAGS = 0xFF000000 | 0x00070000 | 0x2 | 0x4

#: The programs a launcher can name, each for this machine and its MAP_ANONYMOUS value.
PROGRAMS: dict[str, Callable[[str, int], list[Insn]]] = {
    # FreeBSD kern_mmap(): '(flags & MAP_ANON) != 0 && (fd != -1 || pos != 0)' -> EINVAL.
    "freebsd-anonymous": lambda m, anon: anonymous_refusals(m, anon, offset_must_be_zero=True),
    # OpenBSD and NetBSD sys_mmap(): MAP_ANON with 'fd != -1' -> EINVAL.
    "fd-must-be-minus-one": anonymous_refusals,
    # XNU mmap(): the fd's bits outside the VM flags it accepts -> EINVAL.
    "darwin-anonymous": lambda m, anon: anonymous_refusals(m, anon, allowed_fd_bits=XNU_FD_FLAGS),
    # A sandbox that forbids creating processes (the flag value is not needed).
    "fork-blocked": lambda m, _anon: fork_blocked(m),
    # A sandbox that forbids shared anonymous memory.
    "shared-anonymous-eperm": shared_anonymous_refused(_RET_ERRNO | errno.EPERM),
    "shared-anonymous-kill": shared_anonymous_refused(_RET_KILL_PROCESS),
    # One that refuses it with the errno a kernel short of memory gives.
    "shared-anonymous-enomem": shared_anonymous_refused(_RET_ERRNO | errno.ENOMEM),
    # A sandbox that lets a process fork but not wait for its children.
    "wait4-eperm": wait4_eperm,
    # A kernel without the fork advice.
    "fork-advice-einval": fork_advice_einval,
    # A sandbox that forbids executable anonymous memory, and a kernel that refuses it.
    "exec-eperm": exec_refused(errno.EPERM),
    "exec-eacces": exec_refused(errno.EACCES),
    # A kernel whose munmap removes nothing, and one whose mprotect to executable changes nothing
    # (the page stays writable and not executable).
    "munmap-ignored": ignored("munmap"),
    "exec-mprotect-ignored": ignored("mprotect", _PROT_EXEC),
}


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
