"""What Python's executor and the observer share is written once: every number and text of
``anonmap.expect.shared_values`` (and the probe's texts) reaches the observer through its
generated cases.h, a value changed in Python changes the header, and the observer's C holds no
copy of its own."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from anonmap.apis.syscall import build, shared_header
from anonmap.expect import shared_values
from anonmap.host import probe


def _defines(header: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (OBS_\w+) (.*)$", header, re.MULTILINE))


def _observer_source() -> str:
    source = resources.files("anonmap").joinpath("data/observer")
    return "".join(source.joinpath(name).read_text() for name in ("observer.c", "abi.h", "libc.h"))


def test_every_shared_value_is_defined_in_the_header_as_python_has_it() -> None:
    defines = _defines(build.case_header({}))
    for name in shared_header.NUMBERS:
        assert defines[f"OBS_{name}"].removesuffix("UL") == str(getattr(shared_values, name)), name
    for name in shared_header.BYTES:
        data = getattr(shared_values, name)
        assert defines[f"OBS_{name}"] == shared_header.c_string(data), name
        assert defines[f"OBS_{name}_SIZE"] == str(len(data)), name
    for name in shared_header.TEXTS:
        assert defines[f"OBS_{name}"] == shared_header.c_string(getattr(shared_values, name)), name
    for name in shared_header.PROBE_TEXTS:
        assert defines[f"OBS_{name}"] == shared_header.c_string(getattr(probe, name)), name


@pytest.mark.parametrize("name", shared_header.NUMBERS)
def test_changing_a_shared_number_in_python_changes_the_header(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_values, name, getattr(shared_values, name) + 1)
    assert _defines(build.case_header({}))[f"OBS_{name}"].removesuffix("UL") == str(
        getattr(shared_values, name)
    )


#: The numbers the checks' programs take from shared_values when they are built.
PROGRAM_NUMBERS = (
    "TOUCH_BYTE",
    "MADVISE_BYTE",
    "STACK_PAGES",
    "COMMIT_PAGES",
    "GROWTH_ROOM_PAGES",
    "PARTIAL_PAGES",
    "ALIGNMENT",
    "DATA_LIMIT",
    "ASSUMED_PAGE_SHIFT",
)


@pytest.mark.parametrize("name", PROGRAM_NUMBERS)
def test_changing_a_number_a_program_uses_changes_the_observers_programs(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = build.case_header({})
    monkeypatch.setattr(shared_values, name, getattr(shared_values, name) + 2)
    assert build.case_header({}) != before, f"{name} changed, and the observer's programs did not"


def test_changing_a_shared_text_in_python_changes_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_values, "EXISTING", b"elsewise")
    monkeypatch.setattr(probe, "FORK_WORKS", "fork() works, changed")
    defines = _defines(build.case_header({}))
    assert defines["OBS_EXISTING"] == '"elsewise"'
    assert defines["OBS_FORK_WORKS"] == '"fork() works, changed"'


def test_the_observer_types_no_shared_value_itself() -> None:
    source = _observer_source()
    texts = [getattr(shared_values, name) for name in (*shared_header.BYTES, *shared_header.TEXTS)]
    texts += [getattr(probe, name) for name in shared_header.PROBE_TEXTS]
    for template in shared_header.TEMPLATES:
        texts += [part for part in getattr(shared_values, template).split("{") if len(part) > 3]
    for text in texts:
        # As its spelling in C, or (a text long enough not to begin other names, as "MADV_"
        # begins the profile's constants) as the start of a C string literal.
        spelled = text.decode() if isinstance(text, bytes) else text
        literals = [shared_header.c_string(text), *(['"' + spelled] if len(spelled) > 5 else [])]
        for literal in literals:
            assert literal not in source, (
                f"observer.c, abi.h or libc.h types {literal!r}: take it from cases.h"
            )
    # Numbers too small to tell from any other count (a page, an exit code) are checked through
    # their names above; the distinctive ones must not appear as literals in observer.c (abi.h
    # holds the kernel's numbers alone, system calls among them, which may equal any of them).
    checks = resources.files("anonmap").joinpath("data/observer/observer.c").read_text()
    for name in (*shared_header.NUMBERS, *PROGRAM_NUMBERS):
        value = getattr(shared_values, name)
        if value < 20 or name == "RETURNED":
            continue
        for spelled in (str(value), f"{value:#x}", f"{value:#X}"):
            assert not re.search(rf"\b{spelled}\b", checks), f"{name} is typed in the observer as {spelled}"
    assert "42" not in re.findall(r"\b\d+\b", checks), "RETURNED is typed in the observer"
    for value in shared_values.RESERVATION_SIZES.values():
        assert f"{value >> 30} * gib" not in source


def test_the_settings_the_observer_reads_are_the_probes() -> None:
    header = build.case_header({})
    for os_name, macro in shared_header.OS_MACROS.items():
        spelled = ", ".join(shared_header.c_string(n) for n in probe.SETTINGS[os_name])
        assert re.search(rf"defined\({macro}\)\n#define OBS_SETTINGS {re.escape(spelled)}\n", header), os_name
    for names in probe.SETTINGS.values():
        for name in names:
            assert name not in _observer_source(), f"observer.c or abi.h names the setting {name}"
