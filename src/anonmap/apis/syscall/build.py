"""The ``syscall`` api: a freestanding C observer that asks the kernel directly, with no libc.

``case_header`` generates the observer's case list from the catalogue, each case with the
program its behaviour's check (``anonmap.checks.programs``) makes of it;
``build`` compiles it for this machine or, with clang, for another target; ``run`` runs it.
Its output (``anonmap-observations/1``, one JSON object per line) is read back by
``anonmap.apis.syscall.observations`` wherever it is judged.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from anonmap.apis.syscall import shared_header, steps_header
from anonmap.checks import programs as checks
from anonmap.checks.steps import Program
from anonmap.expect import catalogue, errnos
from anonmap.host import compilers, headers, processes
from anonmap.host.probe import Capability

#: The call interface whose cases the observer makes: the ``api`` its records carry.
SYSCALL_API = "syscall"
#: The C-library backend (data/observer/libc.h, built with -DOBS_CLIB) makes the ``libc`` api's
#: cases: the same checks, through the C library's functions instead of raw system calls.
LIBC_API = "libc"
#: Each backend by the api it observes: the system interface's header, and how it is compiled.
BACKENDS = (SYSCALL_API, LIBC_API)

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
    """The catalogue cases the observer's backend for ``api`` makes, in catalogue order: every
    ``syscall`` case, and the ``libc`` cases of the behaviours written as programs (the others
    are Python's own checks)."""
    return tuple(
        case
        for behaviour in catalogue.behaviours()
        for case in catalogue.cases(behaviour)
        if case.params.get("api") == api and (api == SYSCALL_API or behaviour in checks.CHECKS)
    )


def label(case: catalogue.Case) -> str:
    """How the observer and its errors name a case: behaviour[case id]."""
    return f"{case.behaviour}[{case.id}]"


def fingerprint(found: Sequence[tuple[catalogue.Case, Program]]) -> str:
    """A short fingerprint of the cases and their programs as cases.h carries them, to tell an
    observer built from another catalogue, or from other checks, from this anonmap's."""
    names = steps_header.names_used(p for _, p in found)
    text = "\n".join(f"{label(c)}\n{steps_header.program_table(0, p, names)}" for c, p in found)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def programs(api: str = SYSCALL_API) -> tuple[tuple[catalogue.Case, Program], ...]:
    """Every case on ``api`` with its program: a behaviour given the api without a check in
    ``anonmap.checks.programs`` is ``MissingCheck`` naming it, so the observer cannot forget one."""
    found = []
    for case in cases(api):
        if case.behaviour not in checks.CHECKS:
            raise MissingCheck(case.behaviour)
        found.append((case, checks.program(case)))
    return tuple(found)


class MissingCheck(KeyError):
    """A behaviour given an api the observer makes has no program."""

    def __str__(self) -> str:
        return (
            f"{self.args[0]} is given the {SYSCALL_API} api, but anonmap.checks.programs has no "
            "check for it (@check)"
        )


@functools.cache
def profile_constants() -> tuple[str, ...]:
    """The names the observer takes from the mmap module or the profile, as Python's executor
    does (``Flags.value``): every name the programs use beyond the ABI's (abi.h, libc.h)."""
    written = [case for b in catalogue.behaviours() if b in checks.CHECKS for case in catalogue.cases(b)]
    used = steps_header.names_used(checks.program(case) for case in written)
    return tuple(name for name in used if name not in steps_header.ABI_NAMES)


def case_header(constants: Mapping[str, int], api: str = SYSCALL_API, host: bool = True) -> str:
    """cases.h: the catalogue fingerprint, the constants the observer takes from the target's
    profile, what it shares with the Python executor (shared_header), the errno names
    (``errno_table``), the step language (steps_header) and each case with its program
    (OBS_CASES). ``host``: built for this machine, not cross-built for another."""
    found = programs(api)
    names = steps_header.names_used(p for _, p in found)
    lines = [
        "/* Generated by anonmap.apis.syscall.build from the catalogue: do not edit. */",
        f'#define OBS_CATALOGUE "{fingerprint(found)}"',
        *(line for name in profile_constants() for line in _constant(name, constants, api)),
        *shared_header.defines(),
        *errno_table(api, host),
        *steps_header.enums(),
        *steps_header.name_table(names),
        *(steps_header.program_table(i, p, names) for i, (_, p) in enumerate(found)),
    ]
    rows = []
    for i, (case, program) in enumerate(found):
        needs = ", ".join(str(int(c in case.requires)) for c in (Capability.DEV_ZERO, Capability.EXEC_MEMORY))
        rows.append(f'    {{"{case.behaviour}", "{case.id}", obs_steps_{i}, {len(program)}, {needs}}}, \\')
    lines += ["#define OBS_CASES \\", *rows, ""]
    return "\n".join(lines) + "\n"


def _constant(name: str, constants: Mapping[str, int], api: str) -> list[str]:
    """OBS_<name>: for the C-library backend the C library's own header's value where it
    defines the name (in any spelling of ``headers.SPELLINGS``), else the value given (the mmap
    module's, this machine's header's or the profile's), else -1: undefined, and a case that
    needs it observes 'absent'."""
    given = f"#define OBS_{name} {constants.get(name, -1):#x}"
    if api != LIBC_API:
        return [given]
    lines: list[str] = []
    for spelling in headers.SPELLINGS.get(name, (name,)):
        macro = spelling.split("(", 1)[0]
        lines += [f"#{'elif' if lines else 'if'} defined({macro})", f"#define OBS_{name} ({spelling})"]
    return [*lines, "#else", given, "#endif"]


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
    try:
        header = case_header(constants, api, host=target is None)
    except MissingCheck as missing:
        return Built(None, str(missing))
    (directory / "cases.h").write_text(header)
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
        # The errors, not the notes and warnings around them.
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
