"""The first line of an observations file, checked for its shape and against itself.

The judging run picks the profile and its conditions from what the header says, so a header
that says something its observer could not have printed (a system name edited from Linux to
FreeBSD, a machine or page size the ABI the observer was built for does not have) would have
every case judged against the wrong platform. Each problem is a ``Malformed`` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anonmap.apis.syscall import build as observer
from anonmap.files.checked import Malformed, checked_text, quoted, quoted_names
from anonmap.host.probe import SECCOMP, SETTINGS, observed

FORMAT = "anonmap-observations/1"
#: What the porter may say the observer ran on (its --on argument).
PLACES = ("real", "vm", "emulator", "unstated")
KEYS = {
    "format",
    "catalogue",
    "api",
    "abi",
    "on",
    "binary_abi",
    "uname",
    "page_size",
    "time_limit_ms",
    "capabilities",
    "compat",
    "settings",
    "cases",
}
#: Keys an older observer did not print: the C library it ran on ("" for the raw backend).
OPTIONAL_KEYS = {"libc"}
_UNAME_KEYS = ("sysname", "release", "version", "machine")
_CAPABILITIES = ("fork", "dev-zero", "exec-memory")
#: The ABIs abi.h knows, as the observer names them (OBS_ABI): <os>-<arch>.
ABIS = {f"{os_name}-{triple.split('-', 1)[0]}" for triple, os_name in observer.TARGETS.items()}
#: The C-library backend's (libc.h OBS_ABI): libc-<os>-<arch>, for any system its C library
#: runs on; the os and arch must still be the ones uname reports.
LIBC_ABI_PREFIX = f"{observer.LIBC_API}-"
#: The page sizes each architecture the observer is built for has: x86-64 has one; aarch64
#: kernels are built for 4, 16 or 64 KiB pages; WebAssembly's page is 64 KiB (the core
#: specification's memory page), which wasi-libc and Emscripten both answer as _SC_PAGESIZE.
PAGE_SIZES = {"x86_64": (4096,), "aarch64": (4096, 16384, 65536), "wasm32": (65536,)}
#: uname's fields are short on every kernel (Linux 64 bytes, the BSDs 256).
_UNAME_LENGTH = 256
#: The observer's time limit is the suite's, at most an hour.
_MAX_TIME_LIMIT_MS = 3_600_000
#: The catalogue fingerprint: build.fingerprint's 16 hex digits.
_FINGERPRINT_LENGTH = 16


def _short(key: str, value: object, *, empty: bool = False, most: int = _UNAME_LENGTH) -> str:
    text = checked_text(key, value, empty=empty)
    if len(text) > most:
        raise Malformed(f"key {key!r}: {len(text)} characters, more than the observer prints ({most})")
    return text


def _count(key: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Malformed(f"key {key!r}: {quoted(value)} is not a whole number from {low} to {high}")
    return value


def _shape(data: Mapping[str, Any]) -> None:
    """Every key of the type and form the observer prints."""
    if data["api"] not in observer.BACKENDS:
        raise Malformed(f"key 'api': {quoted(data['api'])} is not one of {', '.join(observer.BACKENDS)}")
    catalogue = _short("catalogue", data["catalogue"], most=_FINGERPRINT_LENGTH)
    if len(catalogue) != _FINGERPRINT_LENGTH or catalogue.strip("0123456789abcdef"):
        raise Malformed(f"key 'catalogue': {quoted(catalogue)} is not a fingerprint of 16 hex digits")
    if not isinstance(data["abi"], str) or (
        data["abi"] not in ABIS if data["api"] == observer.SYSCALL_API else not _libc_abi(data["abi"])
    ):
        raise Malformed(
            f"key 'abi': {quoted(data['abi'])} is not one the observer is built for ({', '.join(sorted(ABIS))})"
        )
    if data["on"] not in PLACES:
        raise Malformed(f"key 'on': {quoted(data['on'])} is not one of {', '.join(PLACES)}")
    uname = data["uname"]
    if not isinstance(uname, dict) or sorted(uname) != sorted(_UNAME_KEYS):
        raise Malformed(f"key 'uname': expected an object of {', '.join(_UNAME_KEYS)}")
    for key in _UNAME_KEYS:
        _short(f"uname.{key}", uname[key], empty=key == "version")
    _count("page_size", data["page_size"], 1, 1 << 30)
    _count("time_limit_ms", data["time_limit_ms"], 1, _MAX_TIME_LIMIT_MS)
    capabilities = data["capabilities"]
    if not isinstance(capabilities, dict) or sorted(capabilities) != sorted(_CAPABILITIES):
        raise Malformed(f"key 'capabilities': expected an object of {', '.join(_CAPABILITIES)}")
    for name, state in capabilities.items():
        if not (
            isinstance(state, dict)
            and set(state) == {"available", "detail"}
            and isinstance(state["available"], bool)
        ):
            raise Malformed(f"key 'capabilities.{name}': expected {{available, detail}}")
        _short(f"capabilities.{name}.detail", state["detail"], empty=True)
    if not isinstance(data["compat"], list) or not set(data["compat"]) <= {SECCOMP}:
        raise Malformed(f"key 'compat': {quoted(data['compat'])} is not [] or [{SECCOMP!r}]")
    if not isinstance(data["settings"], dict):
        raise Malformed("key 'settings': expected an object of setting names and values")
    for name, value in data["settings"].items():
        _short(f"settings.{name}", value, most=64)
    _count("cases", data["cases"], 0, 100_000)
    libc = _short("libc", data.get("libc", ""), empty=True, most=64)
    if data["api"] == observer.SYSCALL_API and libc:
        raise Malformed(f"key 'libc': {quoted(libc)}, but the raw observer takes no C library")


def _libc_abi(abi: str) -> bool:
    """Whether ``abi`` is one the C-library backend prints: libc-<os>-<arch>, lower-case words."""
    parts = abi.removeprefix(LIBC_ABI_PREFIX).split("-")
    return (
        abi.startswith(LIBC_ABI_PREFIX)
        and len(parts) == 2
        and all(part and part.replace("_", "").isalnum() and part.islower() for part in parts)
        and len(abi) <= 64
    )


def _consistent(data: Mapping[str, Any]) -> None:
    """The system the header describes is one the observer's ABI runs on."""
    os_name, arch = data["abi"].removeprefix(LIBC_ABI_PREFIX).split("-", 1)
    uname = data["uname"]
    found = observed(uname, data["page_size"], data["binary_abi"], {}, (), {})
    if (found.os, found.arch) != (os_name, arch):
        raise Malformed(
            f"key 'uname': {quoted(uname['sysname'])} on {quoted(uname['machine'])} is not where an observer built for {data['abi']} runs"
        )
    sizes = PAGE_SIZES.get(arch, ())
    if data["page_size"] not in sizes:
        raise Malformed(
            f"key 'page_size': {quoted(data['page_size'])} is not a page size of {arch} ({', '.join(map(str, sizes))})"
        )
    binary_abi = _short("binary_abi", data["binary_abi"], empty=True, most=10)
    # Only the FreeBSD observer is branded with the release it was built for (abi.h's note);
    # the C-library backend is the C library's own program, branded by its startup files.
    if data["api"] == observer.LIBC_API:
        if binary_abi:
            raise Malformed(
                f"key 'binary_abi': {quoted(binary_abi)}, but the C-library observer carries none"
            )
    elif os_name == "freebsd" and not binary_abi.isdigit():
        raise Malformed(
            f"key 'binary_abi': {quoted(binary_abi)} is not the osrel a FreeBSD observer is branded with"
        )
    if os_name != "freebsd" and binary_abi:
        raise Malformed(
            f"key 'binary_abi': {quoted(binary_abi)}, but an observer for {data['abi']} carries none"
        )
    unknown = sorted(set(data["settings"]) - set(SETTINGS.get(os_name, ())))
    if unknown:
        raise Malformed(
            f"key 'settings': {quoted_names(unknown)} is not a setting the observer reads on {os_name}"
        )


def checked(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` if it is a header the observer could have printed; ``Malformed`` otherwise."""
    if data.get("format") != FORMAT:
        raise Malformed(
            f"format {quoted(data.get('format'))} is not {FORMAT!r}: not an observations file, or another version's"
        )
    missing = sorted(KEYS - set(data))
    unknown = sorted(set(data) - KEYS - OPTIONAL_KEYS)
    if missing or unknown:
        raise Malformed(
            f"header lacks key(s) {quoted_names(missing)}"
            if missing
            else f"header unknown key(s) {quoted_names(unknown)}"
        )
    try:
        _shape(data)
        _consistent(data)
    except Malformed as error:
        raise Malformed(f"header: {error}") from None
    return data
