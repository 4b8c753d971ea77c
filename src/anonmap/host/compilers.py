"""The C layer: which compilers exist, what <sys/mman.h> declares under each feature-test
configuration, and building and running the seed's demonstration program.

Visibility is read from the preprocessor (``-E -dM``): one run per compiler and configuration,
all of a compiler's configurations in parallel. Build directories are private temporaries.
Every compiler and program runs through ``processes.run``: bounded, and killed with its group.
A compiler counts only once it has built and run a trivial program (``check``), so a broken
toolchain (no headers, a failing or hanging ``cc``, no room to write) is the environment's
fault, reported as such, never a platform's deviation.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TypeVar

from anonmap.host import headroom, processes

#: The compilers the matrix tries, by the name looked up on PATH.
COMPILERS = ("cc", "gcc", "clang", "musl-gcc")
#: The compilers that build with this machine's own C library, first usable first: the observer
#: is built, and the platform's <sys/mman.h> read, with the first of them (musl-gcc is gcc
#: again, with a C library neither the observer nor the platform's header is).
NATIVE = ("cc", "gcc", "clang")

#: Feature-test configurations: name -> compiler flags.
CONFIGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "c99": ("-std=c99",),
    "c11": ("-std=c11",),
    "c99-posix2008": ("-std=c99", "-D_POSIX_C_SOURCE=200809L"),
    "posix2024": ("-D_POSIX_C_SOURCE=202405L",),
    "xopen700": ("-D_XOPEN_SOURCE=700",),
    "default-source": ("-D_DEFAULT_SOURCE",),
    "bsd-source": ("-D_BSD_SOURCE",),
    "gnu-source": ("-D_GNU_SOURCE",),
    "darwin-c-source": ("-D_DARWIN_C_SOURCE",),
    "bsd-visible": ("-D__BSD_VISIBLE=1",),
}

T = TypeVar("T")
_MARKER = re.compile(r'"(\w+)" = (.*?) ;')
_NUMBER = re.compile(r"\(?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?")


#: The names whose visibility and value the preprocessor is asked for.
NAMES = ("MAP_ANONYMOUS", "MAP_ANON")


@dataclasses.dataclass(frozen=True)
class Preprocessed:
    values: dict[str, int | None]
    """Each name's value, None where the header leaves it undeclared."""
    warnings: tuple[str, ...]
    error: str
    """Non-empty when the preprocessor failed (the header could not be read at all)."""
    unsupported: str = ""
    """Non-empty when the environment stopped the preprocessor (see ``Ran.unsupported``)."""


def _source(asked: Mapping[str, str]) -> str:
    # A string literal is never macro-expanded, so each line reads '"KEY" = <expansion> ;':
    # the value where the header defines the macro, the expression itself where it does not.
    return "#include <sys/mman.h>\n" + "".join(
        f'"{key}" = {expression} ;\n' for key, expression in asked.items()
    )


def expansions(
    compiler: str, flags: tuple[str, ...], asked: Mapping[str, str], time_limit: float
) -> tuple[processes.Finished, dict[str, str]]:
    """The preprocessor's run over ``#include <sys/mman.h>`` and each expression ``asked`` (by a
    key of word characters), and what each expands to there (the expression itself where the
    header leaves its macro undefined).

    The source is a real file, preprocessed as in a user's build: GCC keeps a system header's
    #warning to itself when it reads standard input or dumps macros (-dM).
    """
    with tempfile.TemporaryDirectory(prefix="anonmap-c-") as build:
        source = os.path.join(build, "visibility.c")
        with open(source, "w", encoding="utf-8") as stream:
            stream.write(_source(asked))
        done = processes.run([compiler, *flags, "-E", source], time_limit, cwd=build)
    # Expansions from a system header come split by line markers: drop them, rejoin the text.
    text = " ".join(line for line in done.stdout.splitlines() if not line.startswith("#"))
    found = dict(_MARKER.findall(" ".join(text.split())))
    return done, {key: found[key].strip() for key in asked if key in found} if done.ok else {}


def _value(name: str, expansion: str) -> int | None:
    if expansion == name:
        return None
    number = _NUMBER.fullmatch(expansion)
    if number is None:
        raise ValueError(f"{name} expands to {expansion!r}, which is not a plain integer constant")
    return int(number.group(1), 0)


#: Spellings of one architecture across uname (the probe's arch) and compiler target triples.
_ARCH_SPELLINGS = (
    {"x86_64", "amd64"},
    {"aarch64", "arm64"},
    {"mips64", "mips64el"},
    {"i386", "i486", "i586", "i686"},
    {"ppc64le", "powerpc64le"},
    {"ppc64", "powerpc64"},
)


def target(compiler: str, time_limit: float) -> processes.Finished:
    """``compiler -dumpmachine``: its stdout is the target triple the compiler builds for."""
    return processes.run([compiler, "-dumpmachine"], time_limit)


def builds_for(triple: str, arch: str) -> bool:
    """Whether a target triple is for this machine's architecture (as the probe names it)."""
    machine = triple.split("-", 1)[0]
    return bool(machine) and (
        machine == arch or any(machine in same and arch in same for same in _ARCH_SPELLINGS)
    )


def preprocess(compiler: str, flags: tuple[str, ...], time_limit: float) -> Preprocessed:
    """What ``#include <sys/mman.h>`` declares under ``flags``, and the warnings it draws."""
    done, expanded = expansions(compiler, flags, {name: name for name in NAMES}, time_limit)
    warnings = tuple(line for line in done.stderr.splitlines() if "warning:" in line)
    if not done.ok:
        return Preprocessed(
            {}, warnings, done.stderr.strip() or done.failure(), stopped_by_environment(done, "preprocessor")
        )
    values = {name: _value(name, expansion) for name, expansion in expanded.items()}
    return Preprocessed(values, warnings, "")


def _in_parallel(
    jobs: dict[tuple[str, str], tuple[Callable[..., T], tuple[object, ...]]],
) -> dict[tuple[str, str], T]:
    """Each job's result, run in parallel threads where this process has room for them (see
    ``headroom``); otherwise one after another, here."""
    workers = min(len(jobs), os.cpu_count() or 2)
    results: dict[tuple[str, str], T] = {}
    if workers > 1 and not headroom.no_room_for_threads(workers):
        futures: dict[tuple[str, str], concurrent.futures.Future[T]] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for key, (function, args) in jobs.items():
                try:
                    futures[key] = pool.submit(function, *args)
                except RuntimeError:  # "can't start new thread" (RLIMIT_NPROC): the rest run here
                    break
            results = {key: future.result() for key, future in futures.items()}
    for key, (function, args) in jobs.items():
        if key not in results:
            results[key] = function(*args)
    return results


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """One compiler found on PATH, and whether it can serve the C layer on this machine."""

    path: str
    target: str
    unsupported: str
    """Why it cannot ('' when it built and ran the trivial program for this machine)."""


#: Includes a header beside <sys/mman.h>, so a machine without C headers fails here, not later.
_TRIVIAL = '#include <stdio.h>\nint main(void) { puts("anonmap-ok"); return 0; }\n'


@functools.cache
def check(compiler: str, arch: str, time_limit: float) -> Toolchain:
    """Whether ``compiler`` builds for ``arch`` and its trivial program builds and runs here;
    once per process, shared by the C layer and the observer (a failure is remembered too)."""
    asked = target(compiler, time_limit)
    if not asked.ok:
        return Toolchain(compiler, "", f"cannot tell its target (-dumpmachine): {asked.failure()}")
    triple = asked.stdout.strip()
    if not builds_for(triple, arch):
        return Toolchain(
            compiler, triple, f"builds for {triple or 'an unknown target'}, not for this {arch} machine"
        )
    ran = _build_and_run(compiler, (), _TRIVIAL, time_limit)
    if not ran.compiled:
        return Toolchain(compiler, triple, f"cannot build a trivial program: {_why(ran)}")
    if ran.returncode != 0 or ran.stdout != "anonmap-ok\n":
        return Toolchain(compiler, triple, f"its trivial program does not run here: {_why(ran)}")
    return Toolchain(compiler, triple, "")


def _why(ran: Ran) -> str:
    last = ran.stderr.strip().splitlines()[-1:]
    return ran.unsupported or (last[0] if last else f"exit status {ran.returncode}, stdout {ran.stdout!r}")


def checks(compilers: Mapping[str, str], arch: str, time_limit: float) -> dict[str, Toolchain]:
    """``check`` for every compiler, in parallel; keyed by name."""
    found = _in_parallel({(name, ""): (check, (path, arch, time_limit)) for name, path in compilers.items()})
    return {name: toolchain for (name, _), toolchain in found.items()}


def preprocess_matrix(compilers: Mapping[str, str], time_limit: float) -> dict[tuple[str, str], Preprocessed]:
    """Every (compiler, configuration), one preprocessor run each, all in parallel.

    ``compilers`` maps each compiler's name to its path; the result is keyed by name."""
    return _in_parallel(
        {
            (name, config): (preprocess, (path, flags, time_limit))
            for name, path in compilers.items()
            for config, flags in CONFIGS.items()
        }
    )


@dataclasses.dataclass(frozen=True)
class Ran:
    compiled: bool
    returncode: int
    stdout: str
    stderr: str
    unsupported: str = ""
    """How the environment stopped the compiler or the program (a time limit, a signal, no
    room to start), or '': a failure of the machine, not an outcome of the case."""


def build_demos(
    compilers: Mapping[str, str], variants: Mapping[str, tuple[str, ...]], time_limit: float
) -> dict[tuple[str, str], Ran]:
    """The seed demonstration built and run by every compiler in every variant, in parallel."""
    source = resources.files("anonmap").joinpath("data/seed_demo.c").read_text()
    return _in_parallel(
        {
            (name, variant): (_build_and_run, (path, flags, source, time_limit))
            for name, path in compilers.items()
            for variant, flags in variants.items()
        }
    )


def _build_and_run(compiler: str, flags: tuple[str, ...], source: str, time_limit: float) -> Ran:
    """Compile ``source`` with ``flags`` in a private temporary directory, then run it."""
    try:
        return _build_in_temporary(compiler, flags, source, time_limit)
    except OSError as error:
        return Ran(False, -1, "", "", f"no private build directory: {error.strerror or error}")


def _build_in_temporary(compiler: str, flags: tuple[str, ...], source: str, time_limit: float) -> Ran:
    with tempfile.TemporaryDirectory(prefix="anonmap-c-") as build:
        program = os.path.join(build, "program")
        path = os.path.join(build, "program.c")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(source)
        compiled = processes.run([compiler, *flags, "-o", program, path], time_limit, cwd=build)
        if not compiled.ok:
            return Ran(
                False, compiled.returncode, "", compiled.stderr, stopped_by_environment(compiled, "compiler")
            )
        done = processes.run([program], time_limit, cwd=build)
        stopped = stopped_by_environment(done, "program") if done.timed_out or done.start_error else ""
        return Ran(True, done.returncode, done.stdout, done.stderr, stopped)


#: What a compiler driver prints when the machine, not the source, stopped it: libiberty's
#: xmalloc_failed() ("out of memory allocating N bytes"), gcc.cc execute() ("Killed signal
#: terminated program cc1", "cannot execute ...: vfork: Resource temporarily unavailable"),
#: clang's "LLVM ERROR: out of memory", and strerror(ENOMEM) where an exec or mmap failed.
_STARVED = re.compile(
    r"out of memory|virtual memory exhausted|Cannot allocate memory|Killed signal terminated program"
    r"|Resource temporarily unavailable"
)


def stopped_by_environment(finished: processes.Finished, what: str) -> str:
    """How the environment stopped a run (a time limit, no room to start, a signal, no memory
    or processes left), or '' when it ran to an exit status of its own."""
    if finished.timed_out or finished.start_error or finished.returncode < 0:
        return f"the {what} {finished.failure()}"
    starved = _STARVED.search(finished.stderr)
    if finished.returncode != 0 and starved:
        return f"the {what} ran out of what the environment allows ({starved.group(0)})"
    return ""
