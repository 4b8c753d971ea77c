"""Who is this host? ``probe()`` answers cheaply and never performs a behaviour under test.

It says which platform, release, architecture and libc this is, what compatibility layer may
stand between the suite and the kernel, and which capabilities the environment grants (fork,
/dev/zero, a C compiler). Expectations are chosen by these facts; they never come from here.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import mmap
import os
import platform
import re
import resource
import shutil
import signal
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from anonmap.host import processes, sysctl
from anonmap.host.binaries import binary_abi
from anonmap.host.compilers import COMPILERS
from anonmap.host.versions import Version, parse_version

#: The compatibility-layer word for a process under a seccomp filter (/proc/self/status
#: "Seccomp: 2", SECCOMP_MODE_FILTER; proc(5)): a sandbox may refuse calls the platform allows.
SECCOMP = "seccomp-filter"
#: The compatibility-layer word for a user-mode emulator (qemu-user) answering in the kernel's place.
QEMU_USER = "qemu-user"

#: uname machine names folded to one spelling per architecture.
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i86pc": "x86_64"}


class Capability(str, enum.Enum):
    """What the environment (not the platform) may withhold from a check."""

    FORK = "fork"
    """The process may fork: every check runs in a forked child."""
    DEV_ZERO = "dev-zero"
    """/dev/zero exists, is a character device and opens for reading and writing."""
    C_COMPILER = "c-compiler"
    """A C compiler the C layer tries (cc, gcc, clang, musl-gcc) is on PATH."""
    EXEC_MEMORY = "exec-memory"
    """No policy set on this process or system forbids memory that is written, then executed:
    Linux's per-process MDWE (prctl PR_SET_MDWE), SELinux's deny_execmem."""


@dataclasses.dataclass(frozen=True)
class CapabilityState:
    available: bool
    detail: str
    """Why not, when unavailable; what was found, when available."""


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """The facts profile conditions may test, plus the capabilities guards use."""

    os: str
    release: str
    kernel: str
    binary_abi: str
    """The release this process's binary was built for, where mmap decides by it: FreeBSD's
    p_osrel (kern.proc.osrel), the macOS SDK of the Python executable; '' elsewhere."""
    arch: str
    libc: str
    libc_version: str
    python: str
    page_size: int
    compat: tuple[str, ...]
    rlimit_as: int | None
    rlimit_data: int | None
    capabilities: Mapping[Capability, CapabilityState]
    compilers: Mapping[str, str]
    """Each C compiler the C layer tries, with its path ('' where it is not on PATH)."""
    settings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """System settings that decide outcomes (``SETTINGS``), by name, where they could be read."""

    def version_of(self, field: str) -> Version | None:
        """A version-like field as a comparable tuple (None when unknown or unparsable)."""
        return parse_version(str(getattr(self, field)))

    def can(self, capability: Capability) -> CapabilityState:
        return self.capabilities[capability]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["compat"] = list(self.compat)
        data["compilers"] = dict(self.compilers)
        data["settings"] = dict(self.settings)
        data["capabilities"] = {
            cap.value: {"available": state.available, "detail": state.detail}
            for cap, state in self.capabilities.items()
        }
        return data


#: Oracle Solaris 11's uname -v: 11.<update>.<sru>.<build>.<reserved>, read at boot from
#: /etc/versions/uts_version (Oracle, "What's in a uname?"); 11.3 and earlier print 11.3, 11.0.
_SOLARIS_VERSION = re.compile(r"11(\.\d+)*")


def _os_name(uname: os.uname_result) -> str:
    system = uname.sysname.lower()
    if system == "sunos":
        # illumos and Oracle Solaris both print SunOS 5.11 (illumos-gate uts/common/os/vers.c).
        # Each illumos distribution sets the version at build time to a name of its own
        # (uts/Makefile.targ vers.o from $(VERSION)): omnios-r151054-6ad70ba62c,
        # joyent_20200602T173751Z, tribblix-m39, illumos-<hash>; Solaris alone prints numbers.
        return "solaris" if _SOLARIS_VERSION.fullmatch(uname.version) else "illumos"
    return system


def _release(os_name: str, uname: os.uname_result) -> str:
    if os_name == "darwin":
        # The kernel version (Darwin 23.x) is not what porters name: macOS 14.x is.
        return platform.mac_ver()[0] or uname.release
    if os_name == "illumos":
        # uname -r says 5.11 on every illumos; the distribution's release is in the version.
        return uname.version
    return uname.release


def _system_libc(os_name: str, release: str) -> tuple[str, str]:
    """The BSDs, macOS and illumos ship libc with the system: its version is the release."""
    return f"{os_name}-libc", release


#: How the observer's C-library backend names a C library that comes with the system.
SYSTEM_LIBC = "system"


def _libc(os_name: str, release: str) -> tuple[str, str]:
    if os_name != "linux":
        return _system_libc(os_name, release)
    try:
        gnu = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        gnu = None
    if gnu:
        name, _, version = gnu.partition(" ")
        return ("glibc" if name == "glibc" else name), version
    if any(Path("/lib").glob("ld-musl-*.so.1")):
        return "musl", ""
    return "unknown", ""


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _x86_cpuinfo(text: str) -> bool:
    """Whether /proc/cpuinfo is an x86 kernel's: its show_cpuinfo() (arch/x86/kernel/cpu/proc.c)
    prints "vendor_id" and "cpu family". A vendor_id alone is not x86: a real s390x kernel
    prints "vendor_id       : IBM/S390" (arch/s390/kernel/processor.c show_cpu_summary())."""
    return all(re.search(rf"^{key}\s*:", text, re.MULTILINE) for key in ("vendor_id", "cpu family"))


def _compat_layers(os_name: str, uname: os.uname_result, arch: str) -> tuple[str, ...]:
    """Layers between us and a real kernel of this platform. Heuristic, and optional data."""
    found: list[str] = []
    if os_name == "linux":
        if "Microsoft" in uname.release:
            found.append("wsl1")
        elif "microsoft-standard" in uname.release:
            found.append("wsl2")
        # gVisor's sentry answers uname(2) and /proc/version with fixed strings: version
        # '#1 SMP Sun Jan 10 15:06:54 PST 2016' and release 4.4.0 (pkg/sentry/syscalls/linux/
        # linux64.go LinuxVersion, LinuxRelease at release-20221219.0, Debian bookworm's runsc),
        # later '4.19.0-gvisor' (pkg/sentry/kernel/version/version.go).
        if "gvisor" in _read_text("/proc/version").lower() or uname.version == (
            "#1 SMP Sun Jan 10 15:06:54 PST 2016"
        ):
            found.append("gvisor")
        if arch not in ("x86_64", "i386", "i686") and _x86_cpuinfo(_read_text("/proc/cpuinfo")):
            # An x86 host's cpuinfo under a non-x86 uname: qemu-user passed the host's through.
            found.append(QEMU_USER)
        # systemd and podman spell the variable lower-case.
        in_container = os.environ.get("container")  # noqa: SIM112
        if in_container or Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
            found.append("container")
        if re.search(r"^Seccomp:\s*2$", _read_text("/proc/self/status"), re.MULTILINE):
            found.append(SECCOMP)
        if uname.version.startswith("FreeBSD"):
            # FreeBSD's Linux ABI layer answers uname(2) with FreeBSD's own version string
            # (sys/compat/linux/linux_misc.c linux_newuname()), whatever osname it is set to.
            found.append("freebsd-linux-abi")
    elif os_name == "darwin" and sysctl.integer("sysctl.proc_translated") == 1:
        # xnu bsd/kern/kern_sysctl.c sysctl_sysctl_translated(): 1 for a process under Rosetta 2.
        found.append("rosetta")
    elif os_name == "freebsd" and sysctl.integer("security.jail.jailed") == 1:
        # sys/kern/kern_jail.c sysctl_jail_jailed(): 1 inside a jail.
        found.append("jail")
    return tuple(found)


#: How the probe and the observer (whose cases.h anonmap.apis.syscall.build writes them into)
#: say what they found of each capability.
FORK_WORKS = "fork() works"
FORK_FAILED = "fork() failed here"
FORK_UNCLEAN = "a forked child could not exit cleanly"
DEV_ZERO_WORKS = "/dev/zero opens read-write and reads as zeros"
DEV_ZERO_NOT_RW = "/dev/zero does not open read-write"
DEV_ZERO_NOT_ZERO = "/dev/zero is not the zero device"
DEV_ZERO_NOT_DEVICE = "/dev/zero is not a character device"
EXEC_MEMORY_WORKS = "no MDWE on this process, no SELinux deny_execmem"
MDWE_REFUSES = "MDWE (prctl PR_SET_MDWE) refuses writable-then-executable memory in this process"
SELINUX_DENIES = "SELinux is enforcing deny_execmem"


def tagged(text: str, capability: Capability) -> str:
    """A capability's problem as the probe reports it: the text, tagged with its name."""
    return f"{text} (probe: {capability.value})"


def _probe_fork() -> CapabilityState:
    try:
        pid, mask = processes.fork_holding_interrupts()
    except OSError as error:
        return CapabilityState(False, tagged(f"{FORK_FAILED}: {error.strerror}", Capability.FORK))
    if pid == 0:
        os._exit(0)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return CapabilityState(False, f"{FORK_UNCLEAN} (status {status})")
    return CapabilityState(True, FORK_WORKS)


def _probe_dev_zero() -> CapabilityState:
    """Whether /dev/zero is the zero device: read(2) gives zeros and write(2) succeeds (zero(4)
    on every platform here). A container's minimal /dev may bind /dev/null (reads nothing),
    /dev/full (writes fail) or /dev/urandom there. Reading and writing it is not mapping it:
    no behaviour under test is performed."""
    try:
        info = os.stat("/dev/zero")
    except OSError as error:
        return CapabilityState(False, f"/dev/zero: {error.strerror} (probe: dev-zero)")
    if not stat.S_ISCHR(info.st_mode):
        return CapabilityState(False, tagged(DEV_ZERO_NOT_DEVICE, Capability.DEV_ZERO))
    try:
        handle = os.open("/dev/zero", os.O_RDWR)
    except OSError as error:
        return CapabilityState(False, tagged(f"{DEV_ZERO_NOT_RW}: {error.strerror}", Capability.DEV_ZERO))
    try:
        read = os.read(handle, 64)
        written = os.write(handle, b"\1" * 64)
    except OSError as error:
        return CapabilityState(False, tagged(f"{DEV_ZERO_NOT_ZERO}: {error.strerror}", Capability.DEV_ZERO))
    finally:
        os.close(handle)
    if read != bytes(64) or written != 64:
        return CapabilityState(
            False, tagged(f"{DEV_ZERO_NOT_ZERO}: read gave {read[:8]!r}...", Capability.DEV_ZERO)
        )
    return CapabilityState(True, DEV_ZERO_WORKS)


#: The settings read, per os: each decides what some case does, and each is read from where the
#: system publishes it (a file, a sysctl), never by doing what it governs.
SETTINGS = {
    # proc(5) /proc/sys/vm/overcommit_memory: 0 heuristic, 1 always, 2 never (strict accounting).
    "linux": ("vm.overcommit_memory",),
    # FreeBSD tuning(7) vm.overcommit: bit 0 strict swap accounting, bit 1 RLIMIT_SWAP counts.
    # kern.elf64.allow_wx: 0 refuses mappings both writable and executable (sys/kern/imgact_elf.c).
    "freebsd": ("vm.overcommit", "kern.elf64.allow_wx"),
    # security(7) PaX MPROTECT: enabled, and global (every program, not only those marked).
    "netbsd": ("security.pax.mprotect.enabled", "security.pax.mprotect.global"),
    # Not a sysctl: whether this process runs under the hardened runtime (csops(2) CS_RUNTIME).
    "darwin": ("darwin.hardened-runtime",),
}


#: xnu osfmk/kern/cs_blobs.h CS_OPS_STATUS and CS_RUNTIME: the process runs under the
#: hardened runtime, which refuses unsigned executable memory without an entitlement.
_CS_OPS_STATUS = 0
_CS_RUNTIME = 0x00010000


def _hardened_runtime() -> str:
    try:
        csops = ctypes.CDLL(None, use_errno=True).csops
    except (OSError, AttributeError):
        return ""
    csops.restype = ctypes.c_int
    csops.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_void_p, ctypes.c_size_t]
    status = ctypes.c_uint32(0)
    if csops(os.getpid(), _CS_OPS_STATUS, ctypes.byref(status), ctypes.sizeof(status)) != 0:
        return ""
    return "1" if status.value & _CS_RUNTIME else "0"


#: Where Linux publishes a setting: its name with the dots as slashes, under this directory.
LINUX_SETTINGS = "/proc/sys/"


def _setting(os_name: str, name: str) -> str:
    if os_name == "linux":
        return _read_text(LINUX_SETTINGS + name.replace(".", "/")).strip()
    if name == "darwin.hardened-runtime":
        return _hardened_runtime()
    number = sysctl.integer(name)
    return "" if number is None else str(number)


def _settings(os_name: str) -> dict[str, str]:
    found = {name: _setting(os_name, name) for name in SETTINGS.get(os_name, ())}
    return {name: value for name, value in found.items() if value}


#: <linux/prctl.h> PR_GET_MDWE, and its PR_MDWE_REFUSE_EXEC_GAIN bit (Linux 6.3).
_PR_GET_MDWE = 66
_PR_MDWE_REFUSE_EXEC_GAIN = 1


def _probe_exec_memory(os_name: str) -> CapabilityState:
    """Whether a policy on this process or system refuses write-then-execute memory. Both are
    read, never tried: prctl(PR_GET_MDWE) returns the process's flags (EINVAL before 6.3), and
    selinuxfs publishes the enforcing mode and the deny_execmem boolean."""
    if os_name != "linux":
        return CapabilityState(True, "no per-process policy the probe knows of on this platform")
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl.restype = ctypes.c_int
        prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        flags = prctl(_PR_GET_MDWE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        flags = -1
    if flags > 0 and flags & _PR_MDWE_REFUSE_EXEC_GAIN:
        return CapabilityState(False, tagged(MDWE_REFUSES, Capability.EXEC_MEMORY))
    enforcing = _read_text("/sys/fs/selinux/enforce").strip() == "1"
    if enforcing and _read_text("/sys/fs/selinux/booleans/deny_execmem").startswith("1"):
        return CapabilityState(False, tagged(SELINUX_DENIES, Capability.EXEC_MEMORY))
    return CapabilityState(True, EXEC_MEMORY_WORKS)


def _probe_c_compiler(compilers: Mapping[str, str]) -> CapabilityState:
    found = [path for path in compilers.values() if path]
    if not found:
        names = ", ".join(compilers)
        return CapabilityState(False, f"no C compiler ({names}) on PATH (probe: c-compiler)")
    return CapabilityState(True, found[0])


def _rlimit(name: str) -> int | None:
    # OpenBSD has no RLIMIT_AS: the field is then unknown, not an error.
    which = getattr(resource, name, None)
    if which is None:
        return None
    soft, _ = resource.getrlimit(which)
    return None if soft == resource.RLIM_INFINITY else soft


def _arch(os_name: str, uname: os.uname_result) -> str:
    machine = uname.machine.lower()
    if os_name == "netbsd" and machine.startswith("evb"):
        # NetBSD names the board family in uname -m (evbarm for armv7 and aarch64 alike,
        # sys/arch/evbarm/include/param.h MACHINE) and the CPU in hw.machine_arch.
        machine = (sysctl.text("hw.machine_arch") or machine).lower()
    return _ARCH_ALIASES.get(machine, machine)


def probe() -> RunInfo:
    """Describe this host. Tens of milliseconds; needs no /proc (fields it would fill stay empty)."""
    uname = os.uname()
    os_name = _os_name(uname)
    release = _release(os_name, uname)
    arch = _arch(os_name, uname)
    libc, libc_version = _libc(os_name, release)
    compilers = {name: shutil.which(name) or "" for name in COMPILERS}
    return RunInfo(
        os=os_name,
        release=release,
        kernel=uname.release,
        binary_abi=binary_abi(os_name),
        arch=arch,
        libc=libc,
        libc_version=libc_version,
        python=platform.python_version(),
        page_size=mmap.PAGESIZE,
        compat=_compat_layers(os_name, uname, arch),
        rlimit_as=_rlimit("RLIMIT_AS"),
        rlimit_data=_rlimit("RLIMIT_DATA"),
        compilers=compilers,
        settings=_settings(os_name),
        capabilities={
            Capability.FORK: _probe_fork(),
            Capability.DEV_ZERO: _probe_dev_zero(),
            Capability.C_COMPILER: _probe_c_compiler(compilers),
            Capability.EXEC_MEMORY: _probe_exec_memory(os_name),
        },
    )


def describe(info: RunInfo) -> list[str]:
    """Lines for pytest's header and the summary."""
    compat = ", ".join(info.compat) or "none detected"
    missing = [
        f"{cap.value} ({state.detail})" for cap, state in info.capabilities.items() if not state.available
    ]
    return [
        f"anonmap: {info.os} {info.release} (kernel {info.kernel}) {info.arch}, "
        f"{info.libc} {info.libc_version}, Python {info.python}, page {info.page_size}",
        f"anonmap: compatibility layer: {compat}; missing capabilities: {', '.join(missing) or 'none'}",
    ]


def observed(
    uname: Mapping[str, str],
    page_size: int,
    abi_release: str,
    capabilities: Mapping[str, tuple[bool, str]],
    compat: tuple[str, ...],
    settings: Mapping[str, str],
    libc: str = "",
) -> RunInfo:
    """Describe the system an observations file was made on, from what the observer reported
    of it (``anonmap.apis.syscall.observations``): no Python or compiler took part there, and
    a C library only where ``libc`` names it ("glibc 2.36", "musl", or SYSTEM_LIBC)."""
    names = os.uname_result((uname["sysname"], "", uname["release"], uname["version"], uname["machine"]))
    os_name = _os_name(names)
    release = names.version if os_name == "illumos" else names.release
    if not libc:
        libc_name, libc_version = "none", ""
    elif libc == SYSTEM_LIBC:
        libc_name, libc_version = _system_libc(os_name, release)
    else:
        libc_name, _, libc_version = libc.partition(" ")
    states = {cap.value: cap for cap in Capability}
    return RunInfo(
        os=os_name,
        release=release,
        kernel=names.release,
        binary_abi=abi_release,
        arch=_ARCH_ALIASES.get(names.machine.lower(), names.machine.lower()),
        libc=libc_name,
        libc_version=libc_version,
        python="",
        page_size=page_size,
        compat=compat,
        rlimit_as=None,
        rlimit_data=None,
        compilers={},
        settings=dict(settings),
        capabilities={
            **{states[name]: CapabilityState(*state) for name, state in capabilities.items()},
            Capability.C_COMPILER: CapabilityState(
                False, "observations made elsewhere: no compiler was asked (probe: c-compiler)"
            ),
        },
    )
