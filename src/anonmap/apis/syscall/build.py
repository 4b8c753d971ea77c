"""The ``syscall`` api: a freestanding C observer that asks the kernel directly, with no libc.

``case_header`` generates the observer's case list from the catalogue (the single source: a
behaviour given the syscall api names a ``check_<id>`` the C must define, or it does not build);
``build`` compiles it for this machine or, with clang, for another target; ``run`` runs it.
Its output (``anonmap-observations/1``, one JSON object per line) is read back by
``anonmap.apis.syscall.observations`` wherever it is judged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from anonmap.apis.syscall import shared_header
from anonmap.expect import catalogue, errnos
from anonmap.host import compilers, processes
from anonmap.host.probe import Capability

#: The call interface whose cases the observer makes: the ``api`` its records carry.
SYSCALL_API = "syscall"
#: The C-library backend (data/observer/libc.h, built with -DOBS_CLIB) makes the ``libc`` api's
#: cases: the same checks, through the C library's functions instead of raw system calls.
LIBC_API = "libc"
#: Each backend by the api it observes: the system interface's header, and how it is compiled.
BACKENDS = (SYSCALL_API, LIBC_API)

#: The compilers the observer is built with here, first usable first (musl-gcc is gcc again,
#: with a libc the observer does not use).
COMPILERS = ("cc", "gcc", "clang")

#: The targets the observer's system interface (data/observer/abi.h) knows: a clang triple,
#: with the profile whose constants it is built with.
TARGETS = {
    "x86_64-linux-gnu": "linux",
    "aarch64-linux-gnu": "linux",
    "x86_64-unknown-freebsd": "freebsd",
    "x86_64-unknown-netbsd": "netbsd",
}


def abi_unsupported(os_name: str, arch: str) -> str:
    """Why the observer cannot be built for this platform ('' when its abi.h knows it)."""
    known = {(TARGETS[triple], triple.split("-", 1)[0]) for triple in TARGETS}
    if (os_name, arch) in known:
        return ""
    names = ", ".join(f"{o} {a}" for o, a in sorted(known))
    return f"the observer knows no system-call ABI for {os_name} {arch} (it knows {names})"


#: Freestanding: no libc, no startup files, no stack protector (its canary lives in the TLS a
#: libc sets up), no PIE (nothing would relocate it), no red zone (the NetBSD mmap stub pushes).
#: Unoptimised: it builds in half the time, and every access it checks is volatile anyway.
_FLAGS = (
    "-std=c99",
    "-O0",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-fno-stack-protector",
    "-fno-pie",
    "-no-pie",
    "-fno-asynchronous-unwind-tables",
    "-Wall",
    "-Wextra",
)
_X86_FLAGS = ("-mno-red-zone",)
#: The C-library backend: a hosted C99 program with the C library's own startup and functions.
_LIBC_FLAGS = ("-std=c99", "-O0", "-DOBS_CLIB", "-Wall", "-Wextra")


@dataclasses.dataclass(frozen=True)
class LibcTarget:
    """A target the C-library observer is built for with its own toolchain, run under Node."""

    os: str
    """The platform (its profile's os) the observer reports."""
    compiler: str
    flags: tuple[str, ...]
    link: tuple[str, ...]
    """Libraries, after the source."""
    suffix: str


#: WASI: wasi-libc with clang, whose mmap is emulated in libwasi-emulated-mman (wasi-libc's
#: Makefile, LIBWASI_EMULATED_MMAN_SOURCES); Emscripten: emcc, one .js file for Node with the
#: module inside it (SINGLE_FILE: Node 18 and later have fetch, which Emscripten 3.1.6's loader
#: would try on the .wasm file's path); ALLOW_MEMORY_GROWTH, so that a malloc that cannot be met
#: answers NULL (src/settings.js ABORTING_MALLOC: "Setting ALLOW_MEMORY_GROWTH turns this off")
#: and mmap ENOMEM, where the default build aborts; EXIT_RUNTIME, so that exit flushes stdout.
LIBC_TARGETS = {
    "wasm32-wasi": LibcTarget("wasi", "clang", ("--target=wasm32-wasi",), ("-lwasi-emulated-mman",), ".wasm"),
    "wasm32-emscripten": LibcTarget(
        "emscripten",
        "emcc",
        ("-sENVIRONMENT=node", "-sSINGLE_FILE=1", "-sALLOW_MEMORY_GROWTH=1", "-sEXIT_RUNTIME=1"),
        (),
        ".js",
    ),
}


def cases(api: str = SYSCALL_API) -> tuple[catalogue.Case, ...]:
    """Every catalogue case on ``api`` (the observer's backend), in catalogue order."""
    return tuple(
        case
        for behaviour in catalogue.behaviours()
        for case in catalogue.cases(behaviour)
        if case.params.get("api") == api
    )


def label(case: catalogue.Case) -> str:
    """How the observer and its errors name a case: behaviour[case id]."""
    return f"{case.behaviour}[{case.id}]"


def digest(labels: Sequence[str]) -> str:
    """A short fingerprint of a case list, to tell observers built from other catalogues."""
    return hashlib.sha256("\n".join(labels).encode()).hexdigest()[:16]


def _identifier(text: str) -> str:
    spelled = text.replace("+", "_plus_").replace("-", "_")
    spelled = "minus" + spelled if spelled.startswith("_") else spelled
    if not re.fullmatch(r"\w+", spelled):
        raise ValueError(f"catalogue value {text!r} has no C spelling")
    return spelled


def case_header(constants: Mapping[str, int], api: str = SYSCALL_API, host: bool = True) -> str:
    """cases.h: parameter and value enums, the catalogue fingerprint, the constants the
    observer takes from the target's profile, what it shares with the Python checks
    (shared_header), the errno names (``errno_table``) and the case table (OBS_CASES).
    ``host``: built for this machine, not cross-built for another."""
    found = cases(api)
    glossary: dict[str, catalogue.Parameter] = {}
    for case in found:
        glossary.update({name: catalogue.behaviours()[case.behaviour].glossary[name] for name in case.params})
    names = sorted(glossary)
    lines = [
        "/* Generated by anonmap.apis.syscall.build from the catalogue: do not edit. */",
        f'#define OBS_CATALOGUE "{digest([label(c) for c in found])}"',
        # -1: the profile does not define it, and a case that needs it observes 'absent'.
        *(f"#define OBS_{name} {constants.get(name, -1):#x}" for name in PROFILE_CONSTANTS),
        "enum { " + ", ".join(f"P_{_identifier(n)}" for n in names) + ", OBS_PARAMS };",
        *shared_header.defines(glossary, names),
        *errno_table(api, host),
    ]
    for name in names:
        values = ", ".join(
            f"V_{_identifier(name)}_{_identifier(v)} = {i}" for i, v in enumerate(glossary[name].values)
        )
        lines.append(f"enum {{ {values} }};")
    rows = []
    for case in found:
        indices = [
            str(list(glossary[n].values).index(case.params[n])) if n in case.params else "-1" for n in names
        ]
        needs = ", ".join(str(int(c in case.requires)) for c in (Capability.DEV_ZERO, Capability.EXEC_MEMORY))
        rows.append(
            f'    {{"{case.behaviour}", "{case.id}", check_{_identifier(case.behaviour)}, {needs}, '
            f"{{{', '.join(indices)}}}}}, \\"
        )
    lines += ["#define OBS_CASES \\", *rows, ""]
    return "\n".join(lines) + "\n"


def errno_table(api: str, host: bool) -> list[str]:
    """obs_errnos, the observer's errno names, so that it records every errno by the word the
    Python apis record (anonmap.expect.errnos). The C-library backend looks every name up in
    its target's <errno.h>, canonical names first (the first entry a number matches names it);
    the raw backend built for this machine takes the numbers Python knows here; one cross-built
    for another system takes abi.h's table of that system's numbers (OBS_CROSS_ERRNOS)."""
    if api == LIBC_API:
        entries = [f'#ifdef {name}\n    {{{name}, "{name}"}},\n#endif' for name in errnos.spellings()]
        entries.append('    {OBS_ABSENT, "absent"},')
    elif host:
        entries = [f'    {{{number}, "{word}"}},' for number, word in errnos.by_number().items()]
    else:
        entries = ["    OBS_CROSS_ERRNOS"]
    return ["static const struct obs_name obs_errnos[] = {", *entries, "    {0, 0}};"]


#: The names the observer takes from the mmap module or the profile, as the Python checks do
#: (Flags.value); the rest of its numbers are the ABI's, in abi.h.
PROFILE_CONSTANTS = (
    "MAP_FIXED",
    "UNUSED_FLAG_BIT",
    "MADV_FREE",
    "MADV_DONTFORK",
    "MADV_WIPEONFORK",
    "MADV_KEEPONFORK",
    "INHERIT_NONE",
    "INHERIT_ZERO",
    "INHERIT_SHARE",
    "MAP_FIXED_NOREPLACE",
    "MAP_EXCL",
    "MAP_TRYFIXED",
    "MAP_ALIGNED_21",
    "MAP_STACK",
    "MAP_GROWSDOWN",
    "MAP_NORESERVE",
    "MAP_JIT",
)


@dataclasses.dataclass(frozen=True)
class Built:
    path: Path | None
    """The observer binary, or None when it did not build."""
    problem: str = ""
    """Why not: the compiler's last lines, or how the environment stopped it."""
    environment: bool = False
    """Whether the environment stopped it (a time limit, no room to start), not the source."""


def build(
    compiler: str,
    directory: Path,
    constants: Mapping[str, int],
    time_limit: float,
    target: str | None = None,
    api: str = SYSCALL_API,
) -> Built:
    """Compile the observer into ``directory``; ``target`` is a clang triple (cross build) or,
    for the C-library backend (``api`` libc), one of ``LIBC_TARGETS``."""
    source = resources.files("anonmap").joinpath("data/observer")
    for name in ("observer.c", "abi.h", "libc.h"):
        (directory / name).write_text(source.joinpath(name).read_text())
    (directory / "cases.h").write_text(case_header(constants, api, host=target is None))
    link: tuple[str, ...] = ()
    if api == LIBC_API:
        wasm = LIBC_TARGETS.get(target or "")
        output = directory / f"anonmap-observer{wasm.suffix if wasm else ''}"
        flags = [*_LIBC_FLAGS, *(wasm.flags if wasm else ())]
        link = wasm.link if wasm else ()
        if target and not wasm:
            flags += [f"--target={target}", "-fuse-ld=lld"]
    else:
        output = directory / "anonmap-observer"
        arch = (target or "").split("-", 1)[0] or os.uname().machine
        flags = [*_FLAGS, *(_X86_FLAGS if arch in ("x86_64", "amd64") else ())]
        if target:
            flags += [f"--target={target}", "-fuse-ld=lld"]
    done = processes.run(
        [compiler, *flags, "-o", str(output), str(directory / "observer.c"), *link],
        time_limit,
        cwd=str(directory),
    )
    environment = compilers.stopped_by_environment(done, "compiler")
    if environment:
        return Built(None, f"{compiler}: {environment}", environment=True)
    if not done.ok:
        lines = done.stderr.strip().splitlines()
        # The errors, not the notes and warnings around them: one names the missing check_<id>.
        shown = [line for line in lines if "error" in line][:12] or lines[-12:]
        return Built(
            None, f"{compiler} could not build the observer ({done.failure()}):\n" + "\n".join(shown)
        )
    return Built(output)


def run(binary: Path, time_limit: float, on: str = "real", api: str = SYSCALL_API) -> processes.Finished:
    """Run every case: each in its own child with ``time_limit``, the whole run bounded too."""
    count = len(cases(api))
    return processes.run(
        [str(binary), "--on", on, "--time-limit-ms", str(max(1, int(time_limit * 1000)))],
        min(3600.0, time_limit * (count + 2)),
    )


def build_and_run(
    compiler: str, constants: Mapping[str, int], time_limit: float, api: str = SYSCALL_API
) -> tuple[Built, processes.Finished | None]:
    """Build the observer with the host compiler and run it here, in a directory that goes."""
    with tempfile.TemporaryDirectory(prefix="anonmap-observer-") as build_dir:
        built = build(compiler, Path(build_dir), constants, time_limit, api=api)
        if built.path is None:
            return built, None
        return built, run(built.path, time_limit, api=api)
