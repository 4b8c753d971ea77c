"""The C layer: which compilers exist, what <sys/mman.h> declares under each feature-test
configuration, and building and running the seed's demonstration program.

Visibility is read from the preprocessor (``-E -dM``): one run per compiler and configuration,
all of a compiler's configurations in parallel. Build directories are private temporaries.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TypeVar

#: The compilers the matrix tries, by the name looked up on PATH.
COMPILERS = ("cc", "gcc", "clang", "musl-gcc")

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

TIME_LIMIT = 30.0
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


def _source() -> str:
    # A string literal is never macro-expanded, so each line reads '"NAME" = <expansion> ;':
    # the value where the header defines NAME, NAME itself where it does not.
    return "#include <sys/mman.h>\n" + "".join(f'"{name}" = {name} ;\n' for name in NAMES)


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


def target(compiler: str) -> str:
    """The target triple the compiler builds for (``-dumpmachine``), or '' if it will not say."""
    done = subprocess.run(
        [compiler, "-dumpmachine"], capture_output=True, text=True, timeout=TIME_LIMIT, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def builds_for(triple: str, arch: str) -> bool:
    """Whether a target triple is for this machine's architecture (as the probe names it)."""
    machine = triple.split("-", 1)[0]
    return bool(machine) and (
        machine == arch or any(machine in same and arch in same for same in _ARCH_SPELLINGS)
    )


def preprocess(compiler: str, flags: tuple[str, ...]) -> Preprocessed:
    """What ``#include <sys/mman.h>`` declares under ``flags``, and the warnings it draws.

    The source is a real file, preprocessed as in a user's build: GCC keeps a system header's
    #warning to itself when it reads standard input or dumps macros (-dM).
    """
    with tempfile.TemporaryDirectory(prefix="anonmap-c-") as build:
        source = os.path.join(build, "visibility.c")
        with open(source, "w", encoding="utf-8") as stream:
            stream.write(_source())
        done = subprocess.run(
            [compiler, *flags, "-E", source], capture_output=True, text=True, timeout=TIME_LIMIT, check=False
        )
    warnings = tuple(line for line in done.stderr.splitlines() if "warning:" in line)
    if done.returncode != 0:
        return Preprocessed({}, warnings, done.stderr.strip() or f"exit status {done.returncode}")
    # Expansions from a system header come split by line markers: drop them, rejoin the text.
    text = " ".join(line for line in done.stdout.splitlines() if not line.startswith("#"))
    found = dict(_MARKER.findall(" ".join(text.split())))
    values = {name: _value(name, found[name].strip()) for name in NAMES if name in found}
    return Preprocessed(values, warnings, "")


def _in_parallel(
    jobs: dict[tuple[str, str], tuple[Callable[..., T], tuple[object, ...]]],
) -> dict[tuple[str, str], T]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {key: pool.submit(function, *args) for key, (function, args) in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def targets(compilers: Mapping[str, str]) -> dict[str, str]:
    """Each compiler's target triple, asked of all of them in parallel."""
    found = _in_parallel({(name, ""): (target, (path,)) for name, path in compilers.items()})
    return {name: triple for (name, _), triple in found.items()}


def preprocess_matrix(compilers: Mapping[str, str]) -> dict[tuple[str, str], Preprocessed]:
    """Every (compiler, configuration), one preprocessor run each, all in parallel.

    ``compilers`` maps each compiler's name to its path; the result is keyed by name."""
    return _in_parallel(
        {
            (name, config): (preprocess, (path, flags))
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


def build_demos(
    compilers: Mapping[str, str], variants: Mapping[str, tuple[str, ...]]
) -> dict[tuple[str, str], Ran]:
    """The seed demonstration built and run by every compiler in every variant, in parallel."""
    return _in_parallel(
        {
            (name, variant): (build_and_run, (path, flags))
            for name, path in compilers.items()
            for variant, flags in variants.items()
        }
    )


def build_and_run(compiler: str, flags: tuple[str, ...]) -> Ran:
    """Compile the seed demonstration with ``flags`` in a private temporary directory, run it."""
    source = resources.files("anonmap").joinpath("data/seed_demo.c").read_text()
    with tempfile.TemporaryDirectory(prefix="anonmap-c-") as build:
        program = os.path.join(build, "seed_demo")
        path = os.path.join(build, "seed_demo.c")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(source)
        compiled = subprocess.run(
            [compiler, *flags, "-o", program, path],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            check=False,
        )
        if compiled.returncode != 0:
            return Ran(False, compiled.returncode, "", compiled.stderr)
        done = subprocess.run([program], capture_output=True, text=True, timeout=TIME_LIMIT, check=False)
        return Ran(True, done.returncode, done.stdout, done.stderr)
