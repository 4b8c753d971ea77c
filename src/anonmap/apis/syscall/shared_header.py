"""The part of the observer's cases.h that carries what it shares with the Python checks: every
number and text of ``anonmap.expect.shared_values``, the probe's capability texts and the
settings it reads (``anonmap.host.probe``), as C definitions. None of them is typed in the C.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from anonmap.expect import catalogue, shared_values
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
    "MADVISE_BYTE",
    "TOUCH_BYTE",
    "ALIGNMENT",
    "STACK_PAGES",
    "COMMIT_PAGES",
    "GROWTH_ROOM_PAGES",
    "PARTIAL_PAGES",
    "ASSUMED_PAGE_SHIFT",
    "DATA_LIMIT",
    "EMULATED_MOST",
    "RETURNED",
)

#: Byte strings the checks write and compare, each with its length (OBS_<name>_SIZE).
BYTES = ("BEFORE_FORK", "AFTER_FORK", "FIRST", "EXISTING")

#: Texts of shared_values the checks report.
TEXTS = (
    "ADVICE_PREFIX",
    "PLACEMENT_EMULATED",
    "TERABYTES_EMULATED",
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
TEMPLATES = {"EMULATOR_ANSWERS": "what", "ADVICE_EMULATED": "advice", "UNDEFINED_NAME": "name"}


def _probe_texts() -> dict[str, str]:
    texts: dict[str, str] = {name: getattr(probe, name) for name in PROBE_TEXTS}
    texts["MDWE_REFUSES"] = probe.tagged(probe.MDWE_REFUSES, Capability.EXEC_MEMORY)
    texts["SELINUX_DENIES"] = probe.tagged(probe.SELINUX_DENIES, Capability.EXEC_MEMORY)
    texts["TAG_FORK"] = probe.tagged("", Capability.FORK)
    texts["TAG_DEV_ZERO"] = probe.tagged("", Capability.DEV_ZERO)
    return texts


#: Lengths and offsets by catalogue value, in pages and bytes: the C table obs_span_<parameter>.
SPANS = {"size": "LENGTHS", "offset": "OFFSETS"}


def c_string(data: bytes | str) -> str:
    """A C string literal of ``data``: printable ASCII as it is, anything else in octal (three
    digits, so a following digit is never read into the escape), '?' escaped against trigraphs."""
    raw = data.encode() if isinstance(data, str) else data
    spelled = "".join(
        "\\" + chr(b) if chr(b) in '"\\?' else chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}" for b in raw
    )
    return f'"{spelled}"'


_Entry = TypeVar("_Entry")


def _by_value(parameter: catalogue.Parameter, name: str, table: Mapping[str, _Entry]) -> list[_Entry]:
    """``table``'s entries in the catalogue's order of ``parameter``'s values: the order of its
    V_ enum, so that the C indexes the table by the case's value."""
    if set(table) != set(parameter.values):
        raise ValueError(
            f"shared_values gives {name} for {sorted(table)}, the catalogue for {sorted(parameter.values)}"
        )
    return [table[value] for value in parameter.values]


def defines(glossary: Mapping[str, catalogue.Parameter], names: Sequence[str]) -> list[str]:
    """The C lines: ``names`` are the parameters in the order of cases.h's P_ enum, and
    ``glossary`` describes each."""
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
    lines.append(f"#define OBS_PASSED_ADVICE {', '.join(c_string(a) for a in shared_values.PASSED_ADVICE)}")
    for arch, code in shared_values.RETURN_42.items():
        lines += [
            f"#if defined({ARCH_MACROS[arch]})",
            f"#define OBS_RETURN_42 {c_string(code)}",
            f"#define OBS_RETURN_42_SIZE {len(code)}",
            "#endif",
        ]
    lines += [*_settings(), *_data_limit(), "struct obs_span { unsigned long pages, bytes; };"]
    for parameter, table in SPANS.items():
        spans = _by_value(glossary[parameter], table, getattr(shared_values, table))
        rows = ", ".join(f"{{{span.pages}, {span.bytes}}}" for span in spans)
        lines.append(f"static const struct obs_span obs_span_{parameter}[] = {{{rows}}};")
    sizes = _by_value(glossary["reservation"], "reservation sizes", shared_values.RESERVATION_SIZES)
    lines.append(
        # unsigned long long: terabytes stay terabytes where long has 32 bits (wasm32), and the
        # check can tell a size that target cannot ask for.
        f"static const unsigned long long obs_reservation_sizes[] = {{{', '.join(f'{s:#x}ULL' for s in sizes)}}};"
    )
    widest = max(len(glossary[n].values) for n in names)
    rows = ", ".join("{" + ", ".join(c_string(v) for v in glossary[n].values) + "}" for n in names)
    lines.append(f"static const char *const obs_value_names[][{widest}] = {{{rows}}};")
    return lines


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
