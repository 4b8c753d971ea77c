"""The part of the observer's cases.h that carries what it shares with Python's executor: the
numbers and texts of ``anonmap.expect.shared_values`` its steps use, the probe's capability
texts and the settings it reads (``anonmap.host.probe``), as C definitions. None of them is
typed in the C; the checks' own lengths, bytes and words travel in their programs.
"""

from __future__ import annotations

from anonmap.expect import shared_values
from anonmap.host import probe
from anonmap.host.probe import Capability

#: The compiler's name for each os and architecture the Python side names (abi.h's targets).
OS_MACROS = {"linux": "__linux__", "freebsd": "__FreeBSD__", "netbsd": "__NetBSD__"}
ARCH_MACROS = {"x86_64": "__x86_64__", "aarch64": "__aarch64__"}

#: The names in shared_values of the numbers the checks share; cases.h calls each OBS_<name>.
NUMBERS = (
    "FILE_BYTE",
    "FILE_PAGES",
    "PLACED_FD",
    "HUGE_FD",
    "SAW_AFTER",
    "SAW_BEFORE",
    "SAW_OTHER",
    "SAW_ZERO",
    "RETURNED",
)

#: Byte strings the checks write and compare, each with its length (OBS_<name>_SIZE).
BYTES = ("BEFORE_FORK", "AFTER_FORK", "FIRST", "EXISTING")

#: Texts of shared_values the checks report.
TEXTS = (
    "PLACED_FD_REFUSED",
    "NO_REGULAR_FILE",
    "NO_DEV_ZERO",
    "NO_FORK",
    "CHILD_SIGNALLED",
)

#: Texts of the probe, which the observer reports too.
PROBE_TEXTS = (
    "FORK_WORKS",
    "FORK_FAILED",
    "FORK_UNCLEAN",
    "DEV_ZERO_WORKS",
    "DEV_ZERO_NOT_RW",
    "DEV_ZERO_NOT_ZERO",
    "DEV_ZERO_NOT_DEVICE",
    "EXEC_MEMORY_WORKS",
    "LINUX_SETTINGS",
)

#: Texts of shared_values with one field, written as the parts before and after it
#: (OBS_<name>_BEFORE, _AFTER).
TEMPLATES = {"EMULATOR_ANSWERS": "what", "UNDEFINED_NAME": "name"}


def _probe_texts() -> dict[str, str]:
    texts: dict[str, str] = {name: getattr(probe, name) for name in PROBE_TEXTS}
    texts["MDWE_REFUSES"] = probe.tagged(probe.MDWE_REFUSES, Capability.EXEC_MEMORY)
    texts["SELINUX_DENIES"] = probe.tagged(probe.SELINUX_DENIES, Capability.EXEC_MEMORY)
    texts["TAG_FORK"] = probe.tagged("", Capability.FORK)
    texts["TAG_DEV_ZERO"] = probe.tagged("", Capability.DEV_ZERO)
    return texts


def c_string(data: bytes | str) -> str:
    """A C string literal of ``data``: printable ASCII as it is, anything else in octal (three
    digits, so a following digit is never read into the escape), '?' escaped against trigraphs."""
    raw = data.encode() if isinstance(data, str) else data
    spelled = "".join(
        "\\" + chr(b) if chr(b) in '"\\?' else chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}" for b in raw
    )
    return f'"{spelled}"'


def defines() -> list[str]:
    """The C lines."""
    # Past an int, unsigned long: a 64 GiB limit must not wrap.
    lines = [
        f"#define OBS_{name} {value}{'UL' if value > 0x7FFFFFFF else ''}"
        for name, value in ((name, getattr(shared_values, name)) for name in NUMBERS)
    ]
    for name in BYTES:
        data = getattr(shared_values, name)
        lines += [f"#define OBS_{name} {c_string(data)}", f"#define OBS_{name}_SIZE {len(data)}"]
    texts = {name: getattr(shared_values, name) for name in TEXTS} | _probe_texts()
    lines += [f"#define OBS_{name} {c_string(text)}" for name, text in texts.items()]
    for name, field in TEMPLATES.items():
        before, after = getattr(shared_values, name).split("{" + field + "}")
        lines += [
            f"#define OBS_{name}_BEFORE {c_string(before)}",
            f"#define OBS_{name}_AFTER {c_string(after)}",
        ]
    # The code an exec-memory case writes and runs: RETURN_42 where the architecture has it
    # (OBS_HAS_CODE), NO_CODE elsewhere.
    for arch, code in shared_values.RETURN_42.items():
        lines += [
            f"#if defined({ARCH_MACROS[arch]})",
            f"#define OBS_CODE {c_string(code)}",
            f"#define OBS_CODE_SIZE {len(code)}",
            "#define OBS_HAS_CODE 1",
            "#endif",
        ]
    lines += [
        "#if !defined(OBS_HAS_CODE)",
        f"#define OBS_CODE {c_string(shared_values.NO_CODE)}",
        f"#define OBS_CODE_SIZE {len(shared_values.NO_CODE)}",
        "#define OBS_HAS_CODE 0",
        "#endif",
    ]
    return [*lines, *_settings(), *_data_limit()]


def _data_limit() -> list[str]:
    """OBS_DATA_LIMIT_COUNTS_WRITABLE and _RESERVED: whether RLIMIT_DATA counts a writable or a
    PROT_NONE private anonymous mapping on the os the observer is built for
    (shared_values.DATA_LIMIT_COUNTS)."""
    lines: list[str] = []
    for os_name, macro in OS_MACROS.items():
        counts = shared_values.DATA_LIMIT_COUNTS.get(os_name, "")
        lines += [
            f"#{'if' if not lines else 'elif'} defined({macro})",
            f"#define OBS_DATA_LIMIT_COUNTS_WRITABLE {int(counts in ('writable', 'every'))}",
            f"#define OBS_DATA_LIMIT_COUNTS_RESERVED {int(counts == 'every')}",
        ]
    # Elsewhere (the C-library observer's other systems) no data limit is counted.
    return [
        *lines,
        "#else",
        "#define OBS_DATA_LIMIT_COUNTS_WRITABLE 0",
        "#define OBS_DATA_LIMIT_COUNTS_RESERVED 0",
        "#endif",
    ]


def _settings() -> list[str]:
    """OBS_SETTINGS: the names of the settings the probe reads on the os the observer is built
    for (probe.SETTINGS), which the observer reads the same way and reports."""
    lines: list[str] = []
    for os_name, macro in OS_MACROS.items():
        spelled = ", ".join(c_string(name) for name in probe.SETTINGS.get(os_name, ()))
        lines += [f"#{'if' if not lines else 'elif'} defined({macro})", f"#define OBS_SETTINGS {spelled}"]
    # Elsewhere none is read: the one empty name reads as no setting (observer.c skips it).
    return [*lines, "#else", '#define OBS_SETTINGS ""', "#endif"]
