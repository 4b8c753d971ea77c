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

#: Numbers the checks share, by the name cases.h gives them (OBS_<name>).
NUMBERS = {
    "FILE_BYTE": shared_values.FILE_BYTE,
    "FILE_PAGES": shared_values.FILE_PAGES,
    "PLACED_FD": shared_values.PLACED_FD,
    "HUGE_FD": shared_values.HUGE_FD,
    "SAW_AFTER": shared_values.SAW_AFTER,
    "SAW_BEFORE": shared_values.SAW_BEFORE,
    "SAW_OTHER": shared_values.SAW_OTHER,
    "SAW_ZERO": shared_values.SAW_ZERO,
    "MADVISE_BYTE": shared_values.MADVISE_BYTE,
    "TOUCH_BYTE": shared_values.TOUCH_BYTE,
    "ALIGNMENT": shared_values.ALIGNMENT,
    "STACK_PAGES": shared_values.STACK_PAGES,
    "COMMIT_PAGES": shared_values.COMMIT_PAGES,
    "DATA_LIMIT": shared_values.DATA_LIMIT,
    "EMULATED_MOST": shared_values.EMULATED_MOST,
    "RETURNED": shared_values.RETURNED,
}

#: Byte strings the checks write and compare, each with its length (OBS_<name>_SIZE).
BYTES = {
    "BEFORE_FORK": shared_values.BEFORE_FORK,
    "AFTER_FORK": shared_values.AFTER_FORK,
    "FIRST": shared_values.FIRST,
    "EXISTING": shared_values.EXISTING,
}


def _tag(capability: Capability) -> str:
    return probe.tagged("", capability)


#: Texts the checks and the probe report.
TEXTS = {
    "ADVICE_PREFIX": shared_values.ADVICE_PREFIX,
    "PLACEMENT_EMULATED": shared_values.PLACEMENT_EMULATED,
    "TERABYTES_EMULATED": shared_values.TERABYTES_EMULATED,
    "PLACED_FD_REFUSED": shared_values.PLACED_FD_REFUSED,
    "NO_REGULAR_FILE": shared_values.NO_REGULAR_FILE,
    "NO_DEV_ZERO": shared_values.NO_DEV_ZERO,
    "NO_FORK": shared_values.NO_FORK,
    "CHILD_SIGNALLED": shared_values.CHILD_SIGNALLED,
    "FORK_WORKS": probe.FORK_WORKS,
    "FORK_FAILED": probe.FORK_FAILED,
    "FORK_UNCLEAN": probe.FORK_UNCLEAN,
    "DEV_ZERO_WORKS": probe.DEV_ZERO_WORKS,
    "DEV_ZERO_NOT_RW": probe.DEV_ZERO_NOT_RW,
    "DEV_ZERO_NOT_ZERO": probe.DEV_ZERO_NOT_ZERO,
    "EXEC_MEMORY_WORKS": probe.EXEC_MEMORY_WORKS,
    "MDWE_REFUSES": probe.tagged(probe.MDWE_REFUSES, Capability.EXEC_MEMORY),
    "SELINUX_DENIES": probe.tagged(probe.SELINUX_DENIES, Capability.EXEC_MEMORY),
    "LINUX_SETTINGS": probe.LINUX_SETTINGS,
    "TAG_FORK": _tag(Capability.FORK),
    "TAG_DEV_ZERO": _tag(Capability.DEV_ZERO),
}

#: Texts with one field, written as the parts before and after it (OBS_<name>_BEFORE, _AFTER).
TEMPLATES = {
    "EMULATOR_ANSWERS": (shared_values.EMULATOR_ANSWERS, "what"),
    "ADVICE_EMULATED": (shared_values.ADVICE_EMULATED, "advice"),
    "UNDEFINED_NAME": (shared_values.UNDEFINED_NAME, "name"),
}

#: Lengths and offsets by catalogue value, in pages and bytes: the C table obs_span_<parameter>.
SPANS = {"size": shared_values.LENGTHS, "offset": shared_values.OFFSETS}


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
        f"#define OBS_{name} {value}{'UL' if value > 0x7FFFFFFF else ''}" for name, value in NUMBERS.items()
    ]
    for name, data in BYTES.items():
        lines += [f"#define OBS_{name} {c_string(data)}", f"#define OBS_{name}_SIZE {len(data)}"]
    lines += [f"#define OBS_{name} {c_string(text)}" for name, text in TEXTS.items()]
    for name, (template, field) in TEMPLATES.items():
        before, after = template.split("{" + field + "}")
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
    lines += [*_settings(), "struct obs_span { unsigned long pages, bytes; };"]
    for parameter, spans in SPANS.items():
        rows = ", ".join(
            f"{{{s.pages}, {s.bytes}}}" for s in _by_value(glossary[parameter], parameter, spans)
        )
        lines.append(f"static const struct obs_span obs_span_{parameter}[] = {{{rows}}};")
    sizes = _by_value(glossary["reservation"], "reservation sizes", shared_values.RESERVATION_SIZES)
    lines.append(
        f"static const unsigned long obs_reservation_sizes[] = {{{', '.join(f'{s:#x}UL' for s in sizes)}}};"
    )
    widest = max(len(glossary[n].values) for n in names)
    rows = ", ".join("{" + ", ".join(c_string(v) for v in glossary[n].values) + "}" for n in names)
    lines.append(f"static const char *const obs_value_names[][{widest}] = {{{rows}}};")
    return lines


def _settings() -> list[str]:
    """OBS_SETTINGS: the names of the settings the probe reads on the os the observer is built
    for (probe.SETTINGS), which the observer reads the same way and reports."""
    lines: list[str] = []
    for os_name, macro in OS_MACROS.items():
        spelled = ", ".join(c_string(name) for name in probe.SETTINGS.get(os_name, ()))
        lines += [f"#{'if' if not lines else 'elif'} defined({macro})", f"#define OBS_SETTINGS {spelled}"]
    return [*lines, "#endif"]
