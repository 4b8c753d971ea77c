"""Hostile inputs for the fuzzer beyond results files: workflows for ``merge --expect-from``,
observations files for ``--anonmap-observations``, C sources for ``scan``, and arguments.

Each generator yields (name, bytes or argv, valid); the fuzzer decides what each command must
answer. Nothing here needs a compiler: the observations file is built from the catalogue the
way the observer prints it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from anonmap.apis.syscall import build as observer

#: Values of every JSON type, and text no one-line field may hold: every fuzzed file's junk.
COMMON_JUNK: dict[str, Any] = {
    "null": None,
    "minus-one": -1,
    "empty": "",
    "list": [],
    "object": {},
    "banana": "banana",
    "huge": 10**30,
    "true": True,
    "float": 1.5,
    "nested": {"a": [{"b": None}, [[]]]},
    "newline": "two\nlines",
}
#: The workflow's and observations file's junk: a zero and text longer than any field's.
JUNK: dict[str, Any] = {**COMMON_JUNK, "zero": 0, "long": "x" * 300}

WORKFLOW = {
    "name": "ci",
    "on": {"push": None},
    "jobs": {
        "suite": {
            "runs-on": "ubuntu-latest",
            "strategy": {
                "matrix": {
                    "platform": ["linux-x86_64", "linux-aarch64"],
                    "include": [{"platform": "freebsd-14.3", "vm": True}, {"extra": 1}],
                }
            },
            "steps": [{"run": "tox"}],
        },
        "merge": {"runs-on": "ubuntu-latest", "steps": [{"run": "anonmap merge"}]},
    },
}
#: The platforms WORKFLOW names, in file order.
WORKFLOW_PLATFORMS = ("linux-x86_64", "linux-aarch64", "freebsd-14.3")


def _yaml(document: Any) -> bytes:
    # JSON is YAML: the mutated document is written without needing PyYAML to write it.
    return (json.dumps(document, indent=1) + "\n").encode()


def _with(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    changed = json.loads(json.dumps(document))
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


def _bomb(levels: int, width: int) -> bytes:
    """A "billion laughs": each level a list of ``width`` aliases of the one before."""
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * width)}]" for n in range(1, levels)]
    top = f"a{levels - 1}"
    lines.append(f"jobs: {{suite: {{strategy: {{matrix: {{platform: *{top}}}}}}}}}")
    return "\n".join(lines).encode() + b"\n"


def _corrupted(text: bytes, rng: random.Random, count: int) -> Iterator[tuple[int, bytes]]:
    for index in range(count):
        data = bytearray(text)
        for _ in range(4):
            data[rng.randrange(len(data))] = rng.randrange(1, 256)
        yield index, bytes(data)


def workflows(rng: random.Random) -> Iterator[tuple[str, bytes, bool | None]]:
    """Workflows, with whether each is one whose platforms merge may read (None: either)."""
    yield "workflow: valid", _yaml(WORKFLOW), True
    places: list[tuple[str | int, ...]] = [
        ("jobs",),
        ("jobs", "suite"),
        ("jobs", "suite", "strategy"),
        ("jobs", "suite", "strategy", "matrix"),
        ("jobs", "suite", "strategy", "matrix", "platform"),
        ("jobs", "suite", "strategy", "matrix", "platform", 0),
        ("jobs", "suite", "strategy", "matrix", "include"),
        ("jobs", "suite", "strategy", "matrix", "include", 0),
        ("jobs", "suite", "strategy", "matrix", "include", 0, "platform"),
    ]
    for path in places:
        for junk, value in JUNK.items():
            # Junk in one job may leave the others' platforms to read: either status will do.
            yield f"workflow: {'.'.join(map(str, path))}={junk}", _yaml(_with(WORKFLOW, path, value)), None
    text = _yaml(WORKFLOW)
    for end in sorted(rng.sample(range(1, len(text) - 1), 100)):
        yield f"workflow: cut at {end}", text[:end], None
    for index, data in _corrupted(text, rng, 60):
        yield f"workflow: corrupted {index}", data, None
    for levels, width in ((4, 10), (9, 9), (12, 12), (30, 2)):
        yield f"workflow: alias bomb {width}^{levels}", _bomb(levels, width), False
    hostile = {
        "an alias of itself": b"jobs: &j {suite: {strategy: {matrix: {platform: [*j]}}}}\n",
        "an undefined alias": b"jobs: *nowhere\n",
        "deep lists": b"jobs: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "deep mappings": b"jobs:\n" + b"".join(b" " * (n + 1) + b"a:\n" for n in range(3000)),
        "deep flow mappings": b"jobs: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000 + b"\n",
        "5000 digits": b"jobs: {suite: {strategy: {matrix: {platform: [" + b"9" * 5000 + b"]}}}}\n",
        "a long float": b"jobs: {suite: {strategy: {matrix: {platform: [1." + b"5" * 5000 + b"]}}}}\n",
        "an impossible date": b"jobs: {suite: {strategy: {matrix: {platform: [2026-13-45]}}}}\n",
        "a python tag": b"jobs: !!python/object/apply:os.system [true]\n",
        "a binary tag": b"jobs: !!binary AAAA\n",
        "a NUL": b"jobs: {a: \x00}\n",
        "not UTF-8": b"jobs: {a: \xff\xfe}\n",
        "UTF-16": json.dumps(WORKFLOW).encode("utf-16"),
        "two documents": text + b"---\n" + text,
        "a scalar": b"just text\n",
        "a list": b"- jobs\n",
        "empty": b"",
        "tabs": b"jobs:\n\tsuite: 1\n",
        "a duplicate key": b"jobs: {a: 1, a: 2}\n",
        "a key that is a list": b"jobs: {[1, 2]: 3}\n",
        "2 MiB of comment": b"#" + b"x" * (2 << 20) + b"\n" + text,
    }
    for name, data in hostile.items():
        yield f"workflow: {name}", data, False


def _observation_header() -> dict[str, Any]:
    labels = [observer.label(case) for case in observer.cases()]
    return {
        "format": "anonmap-observations/1",
        "catalogue": observer.fingerprint(observer.programs()),
        "api": "syscall",
        "abi": "linux-x86_64",
        "on": "vm",
        "binary_abi": "",
        "uname": {"sysname": "Linux", "release": "6.1.0", "version": "#1 SMP", "machine": "x86_64"},
        "page_size": 4096,
        "time_limit_ms": 10000,
        "capabilities": {
            name: {"available": True, "detail": "works"} for name in ("fork", "dev-zero", "exec-memory")
        },
        "compat": [],
        "settings": {"vm.overcommit_memory": "0"},
        "cases": len(labels),
    }


def observations_lines() -> list[dict[str, Any]]:
    """A valid observations file, one object a line: every case of this catalogue observed."""
    records: list[dict[str, Any]] = [
        {"behaviour": case.behaviour, "case": case.id, "outcome": "zero", "detail": ""}
        for case in observer.cases()
    ]
    return [_observation_header(), *records, {"end": len(records)}]


def _lines(objects: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in objects).encode()


def _header_with(path: tuple[str, ...], value: Any) -> bytes:
    lines = observations_lines()
    lines[0] = _with(lines[0], path, value)
    return _lines(lines)


#: Headers an observer could not have printed: its ABI contradicted by what it reports.
INCONSISTENT = {
    "a Linux observer calling itself FreeBSD": (("uname", "sysname"), "FreeBSD"),
    "a Linux observer calling itself NetBSD": (("uname", "sysname"), "NetBSD"),
    "an x86_64 observer on aarch64": (("uname", "machine"), "aarch64"),
    "an x86_64 observer on riscv64": (("uname", "machine"), "riscv64"),
    "a FreeBSD ABI on Linux": (("abi",), "freebsd-x86_64"),
    "an aarch64 ABI on x86_64": (("abi",), "linux-aarch64"),
    "an ABI it has no code for": (("abi",), "darwin-arm64"),
    "a binary_abi without a brand": (("binary_abi",), "1300000"),
    "a page of 8 KiB on x86_64": (("page_size",), 8192),
    "a page of 64 KiB on x86_64": (("page_size",), 65536),
    "a page of 3000": (("page_size",), 3000),
    "a page of 2^40": (("page_size",), 1 << 40),
    "a FreeBSD setting on Linux": (("settings",), {"vm.overcommit": "0"}),
    "a compat layer it cannot detect": (("compat",), ["wsl"]),
    "a time limit of a year": (("time_limit_ms",), 31_536_000_000),
    "a catalogue that is no fingerprint": (("catalogue",), "x" * 300),
    "a capability of another shape": (("capabilities", "fork"), {"available": 1, "detail": ""}),
    "a sysname of 300 characters": (("uname", "sysname"), "L" * 300),
    "a raw observer naming a C library": (("libc",), "glibc 2.36"),
}


#: Header values that are the valid one's in another form, or another valid one.
_VALID_HEADERS = {
    ("binary_abi", "empty"),
    ("settings", "object"),
    ("compat", "list"),
    ("uname.release", "banana"),
}


def observations(rng: random.Random) -> Iterator[tuple[str, bytes, bool | None]]:
    """Observations files, with whether each is one the suite may judge (None: either)."""
    good = observations_lines()
    yield "observations: valid", _lines(good), True
    for key in good[0]:
        for junk, value in JUNK.items():
            valid = (key, junk) in _VALID_HEADERS
            yield f"observations: header {key}={junk}", _header_with((key,), value), valid
    for key in ("sysname", "release", "machine"):
        for junk, value in JUNK.items():
            valid = (f"uname.{key}", junk) in _VALID_HEADERS
            yield f"observations: uname.{key}={junk}", _header_with(("uname", key), value), valid
    for name, (path, value) in INCONSISTENT.items():
        yield f"observations: {name}", _header_with(path, value), False
    for record in sorted(rng.sample(range(1, len(good) - 1), 3)):
        for key in ("behaviour", "case", "outcome", "detail"):
            for junk, value in JUNK.items():
                lines = list(good)
                lines[record] = {**lines[record], key: value}
                valid = key == "detail" and junk in ("empty", "banana", "newline", "long")
                yield f"observations: record {record} {key}={junk}", _lines(lines), valid
    text = _lines(good)
    for end in sorted(rng.sample(range(1, len(text) - 1), 150)):
        yield f"observations: cut at {end}", text[:end], False
    for index, data in _corrupted(text, rng, 100):
        yield f"observations: corrupted {index}", data, None
    first = text.index(b"\n")
    hostile = {
        "empty": b"",
        "5000 digits": text.replace(b'"page_size": 4096', b'"page_size": ' + b"9" * 5000, 1),
        "deep nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n" + text[first + 1 :],
        "NaN page": text.replace(b'"page_size": 4096', b'"page_size": NaN', 1),
        "not UTF-8": text[:10] + b"\xff" + text[10:],
        "a line of junk": text[: first + 1] + b"garbage\n" + text[first + 1 :],
        "text after the end": text + b'{"end": 0}\n',
        "the observer refused": b'{"error": "--on expects real, vm or emulator"}\n',
    }
    for name, data in hostile.items():
        yield f"observations: {name}", data, False


#: A C source with every hazard the scanner knows, to cut and corrupt.
SOURCE = b"""#define _BSD_SOURCE
#include <sys/mman.h>
#define ZERO_FD 0
#define FLAGS (MAP_ANONYMOUS | MAP_PRIVATE)
void *f(void) {
    void *p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, FLAGS, ZERO_FD, 4096);
    if (p == NULL) return 0;
    madvise(p, 4096, MADV_DONTNEED);
    return fopen("/dev/zero", "r") ? p : 0;
}
"""


def sources(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """C sources that are broken, hostile or huge; each must scan, or be refused in one line."""
    for end in sorted(rng.sample(range(1, len(SOURCE) - 1), 100)):
        yield f"source: cut at {end}", SOURCE[:end]
    for index, data in _corrupted(SOURCE, rng, 100):
        yield f"source: corrupted {index}", data
    yield "source: deep parentheses", b"int f(void){return " + b"(" * 20_000 + b"1" + b")" * 20_000 + b";}\n"
    yield "source: deep blocks", b"void f(void){" + b"{" * 10_000 + b"}" * 10_000 + b"}\n"
    yield (
        "source: a macro of itself",
        (b"#define A A A A A A A A A A A A A A A A\nvoid *p = mmap(0, 1, A, A | MAP_ANON, A, A);\n"),
    )
    yield (
        "source: macros of each other",
        (
            b"#define A B B B B B B B B\n#define B A A A A A A A A\n"
            b"void *p = mmap(0, 1, A, B | MAP_ANONYMOUS, A, B);\n"
        ),
    )
    yield "source: defines without names", b"#define\n# define (x) 1\n#define 1 2\n"
    yield "source: not UTF-8", b"/* \xe9\xff */ " + SOURCE
    yield "source: empty", b""
    yield "source: a NUL past the start", SOURCE + b" " * 9000 + b"\0"
    yield "source: an unterminated string", b'char *s = "' + b"x" * 100_000 + b"\n"


def arguments(rng: random.Random) -> Iterator[tuple[str, list[str], set[int]]]:
    """Argument vectors for the commands that take names rather than files: each with the
    statuses it may end with (2 bad arguments, 3 an input that cannot be used)."""
    names = [
        "",
        " ",
        "x" * 300,
        "x" * 5000,
        "li\x00nux",
        "li\nnux",
        "../linux",
        "/",
        "linux/",
        ".json",
        "é" * 80,
        "\ud800",
        "-",
        "linux.toml",
        *(f"{rng.randrange(10**6)}" for _ in range(4)),
    ]
    for index, name in enumerate(names):
        yield f"argv: diff A={index}", ["diff", name, "linux"], {3}
        yield f"argv: diff B={index}", ["diff", "linux", name], {3}
        # An empty --targets is every profile's, as no --targets is: SOURCE has findings.
        yield f"argv: scan --targets={index}", ["scan", "--targets", name, "--", "SOURCE"], {1, 2, 3}
        yield f"argv: atlas --baseline={index}", ["atlas", "--html", "OUT", "--baseline", name], {3}
        yield f"argv: report {index}", ["report", name], {3}
        yield f"argv: profile draft {index}", ["profile", "draft", name], {3}
    releases = ["9" * 5000, "9" * 50, "banana", "", "1.2.3.4.5.6.7.8.9.10", "14.3\n", "-1", "1e9", "٣"]
    arches = ["x" * 300, "", "X86_64", "x86-64", "x86_64\n", "\x00", "amd 64", "ø"]
    for index, release in enumerate(releases):
        for side in ("a", "b"):
            yield (
                f"argv: --{side}-release={index}",
                ["diff", "linux", "freebsd", f"--{side}-release", release],
                {2},
            )
    for index, arch in enumerate(arches):
        for side in ("a", "b"):
            yield f"argv: --{side}-arch={index}", ["diff", "linux", "freebsd", f"--{side}-arch={arch}"], {2}
    for release in ("14.3", "1403000", "6.1.0-18-amd64", "15.0"):
        yield f"argv: a valid release {release}", ["diff", "linux", "freebsd", "--b-release", release], {0, 1}
