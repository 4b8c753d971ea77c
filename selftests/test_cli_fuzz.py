"""Bad input, fuzzed: mutations of a valid results file through every reporting command.

Each bad input must end the command with its own status (3 an input, 4 an output), one line
on stderr naming the file (and the record and key where there is one), no traceback, and no
output written or replaced. Each valid variant must still report. The bulk runs in this process
through ``anonmap.cli.main``; what could hang or exhaust memory if the guard against it failed
(a FIFO, /dev/zero), and a sample of the rest, runs in subprocesses with a time limit.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import json
import os
import platform
import random
import select
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from anonmap import cli
from anonmap.apis.syscall import header, observations
from anonmap.cli import EXIT_DIFFERENT, EXIT_INPUT, EXIT_MISSING, EXIT_OUTPUT, EXIT_USAGE, main
from anonmap.reporting import documented
from anonmap.reporting.runs import MERGED_SCHEMA
from selftests import hostile_inputs
from selftests.helpers import run_suite, write_results

SEED = 20261127

#: A results file's junk: a lone surrogate no output can encode, and digits as text.
JUNK: dict[str, Any] = {**hostile_inputs.COMMON_JUNK, "surrogate": "\ud800", "digits": "1"}

_TEXT = {"banana", "digits"}
_ONE_LINE = _TEXT | {"empty"}
_FREE = _ONE_LINE | {"newline"}

#: For each place a junk value goes, the junk that is valid there; every other is refused.
ACCEPTED: dict[str, set[str]] = {
    "schema": set(),
    "started_at": set(),
    "run_info": set(),
    "profile": {"null"},
    "emulation": {"null"},
    "counts": set(),
    "records": set(),
    "label": _TEXT | {"null"},
    "complete": {"true"},
    "incomplete_reason": {"empty"},
    "nodeid": _TEXT,
    "behaviour": set(),
    "case": _TEXT,
    "params": {"object"},
    "expected": {"empty"},
    "observed": {"empty"},
    "verdict": set(),
    "cite": {"list"},
    "note": _FREE,
    "detail": _FREE,
    "source": _ONE_LINE,
    "params.fd": _ONE_LINE,
    "cite[0]": _FREE,
    "run_info.os": _TEXT,
    "run_info.release": _TEXT,
    "run_info.arch": _TEXT,
    "run_info.compat": {"list"},
    "profile.name": _TEXT,
    "profile.title": _TEXT,
    "profile.path": _TEXT,
    "emulation.persona": _TEXT,
    "emulation.platform": _TEXT,
    "emulation.description": _FREE,
    **{f"run_info.{key}": _ONE_LINE for key in ("kernel", "binary_abi", "libc", "libc_version", "python")},
    "run_info.page_size": set(),
    "run_info.rlimit_as": {"null"},
    "run_info.rlimit_data": {"null"},
    "run_info.capabilities": {"object"},
    "run_info.compilers": {"object"},
    "run_info.settings": {"object"},
    "run_info.capabilities.fork.available": {"true"},
    "run_info.capabilities.fork.detail": _FREE,
    "run_info.compilers.cc": _ONE_LINE,
    "run_info.settings.vm.overcommit_memory": _ONE_LINE,
}
#: What the probe writes beyond the identity: each key is fuzzed in a run that has them all.
PROBED = {
    "kernel": "6.1.0",
    "binary_abi": "",
    "libc": "glibc",
    "libc_version": "2.36",
    "python": "3.11.2",
    "page_size": 4096,
    "rlimit_as": None,
    "rlimit_data": 1 << 30,
    "capabilities": {"fork": {"available": True, "detail": "fork() works"}},
    "compilers": {"cc": "/usr/bin/cc"},
    "settings": {"vm.overcommit_memory": "0"},
}
RECORD_FIELDS = (
    "nodeid",
    "behaviour",
    "case",
    "params",
    "expected",
    "observed",
    "verdict",
    "cite",
    "note",
    "detail",
    "source",
)
TOP_LEVEL = ("schema", "started_at", "run_info", "profile", "emulation", "counts", "records")
EMULATION = {"persona": "freebsd-on-linux", "platform": "freebsd", "description": "a persona"}


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    data: bytes
    valid: bool = False
    mentions: tuple[str, ...] = ()
    """What the error line must name besides the file: the record, the key."""


def _dumps(document: Any) -> bytes:
    return (json.dumps(document, indent=1) + "\n").encode()


def _recount(document: dict[str, Any]) -> dict[str, Any]:
    document["counts"] = dict(sorted(Counter(r["verdict"] for r in document["records"]).items()))
    return document


def _parent(document: Any, path: Sequence[str | int]) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _set(document: dict[str, Any], path: Sequence[str | int], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    _parent(changed, path)[path[-1]] = value
    return changed


def _deleted(document: dict[str, Any], path: Sequence[str | int]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    del _parent(changed, path)[path[-1]]
    return changed


def _replacements(base: dict[str, Any], emulated: dict[str, Any], rng: random.Random) -> Iterator[Mutant]:
    record = rng.randrange(len(base["records"]))
    where = f"record {record + 1}"
    places: list[tuple[dict[str, Any], tuple[str | int, ...], str, tuple[str, ...]]] = [
        (base, (key,), key, (key,)) for key in (*TOP_LEVEL, "label", "complete", "incomplete_reason")
    ]
    places += [(base, ("records", record, key), key, (where, key)) for key in RECORD_FIELDS]
    places += [
        (base, ("records", record, "params", "fd"), "params.fd", (where, "params.fd")),
        (base, ("records", record, "cite", 0), "cite[0]", (where, "cite[0]")),
    ]
    places += [
        (base, ("run_info", key), f"run_info.{key}", (f"run_info.{key}",))
        for key in ("os", "release", "arch", "compat")
    ]
    places += [
        (base, ("profile", key), f"profile.{key}", (f"profile.{key}",)) for key in ("name", "title", "path")
    ]
    places += [
        (emulated, ("emulation", key), f"emulation.{key}", (f"emulation.{key}",))
        for key in ("persona", "platform", "description")
    ]
    probed = _set(base, ("run_info",), {**base["run_info"], **PROBED})
    inner = [(key,) for key in PROBED] + [
        ("capabilities", "fork", "available"),
        ("capabilities", "fork", "detail"),
        ("compilers", "cc"),
        ("settings", "vm.overcommit_memory"),
    ]
    places += [
        (probed, ("run_info", *path), f"run_info.{'.'.join(path)}", (f"run_info.{path[0]}",))
        for path in inner
    ]
    for document, path, place, mentions in places:
        for junk, value in JUNK.items():
            valid = junk in ACCEPTED[place]
            # An empty records list is a fine list: what is wrong then is the counts.
            named = ("counts",) if place == "records" and junk == "list" else mentions
            yield Mutant(
                f"{place}={junk}", _dumps(_set(document, path, value)), valid, () if valid else named
            )


def _missing_and_extra(base: dict[str, Any], emulated: dict[str, Any]) -> Iterator[Mutant]:
    for key in TOP_LEVEL:
        yield Mutant(f"no {key}", _dumps(_deleted(base, (key,))), mentions=(key,))
    for key in RECORD_FIELDS:
        yield Mutant(
            f"record without {key}", _dumps(_deleted(base, ("records", 1, key))), mentions=("record 2", key)
        )
    for key in ("os", "release", "arch"):
        yield Mutant(
            f"run_info without {key}", _dumps(_deleted(base, ("run_info", key))), mentions=("run_info", key)
        )
    for key in ("name", "title", "path"):
        yield Mutant(
            f"profile without {key}", _dumps(_deleted(base, ("profile", key))), mentions=("profile", key)
        )
    for key in EMULATION:
        yield Mutant(
            f"emulation without {key}",
            _dumps(_deleted(emulated, ("emulation", key))),
            mentions=("emulation", key),
        )
    for path in (("banana",), ("records", 0, "banana"), ("profile", "banana"), ("emulation", "banana")):
        document = emulated if path[0] == "emulation" else base
        yield Mutant(f"extra {path}", _dumps(_set(document, path, "x")), mentions=("banana",))
    yield Mutant("extra run_info key", _dumps(_set(base, ("run_info", "banana"), "x")), valid=True)
    yield Mutant("emulated", _dumps(emulated), valid=True)
    yield Mutant("label", _dumps(_set(base, ("label",), "linux-x86_64")), valid=True)
    incomplete = _set(base, ("complete",), False)
    yield Mutant("incomplete", _dumps(incomplete), valid=True)
    yield Mutant(
        "incomplete, why", _dumps(_set(incomplete, ("incomplete_reason",), "interrupted")), valid=True
    )


def _duplicates_and_counts(base: dict[str, Any]) -> Iterator[Mutant]:
    first = base["records"][0]
    again = copy.deepcopy(base)
    again["records"].append(copy.deepcopy(first))
    yield Mutant("a record twice", _dumps(_recount(again)), mentions=("record 4", "nodeid", "again"))
    renamed = copy.deepcopy(again)
    renamed["records"][-1]["nodeid"] += "-again"
    yield Mutant("a case twice", _dumps(_recount(renamed)), mentions=("record 4", "case", "again"))
    recased = copy.deepcopy(again)
    recased["records"][-1]["case"] = "libc-private-fd=100"
    yield Mutant("a test id twice", _dumps(_recount(recased)), mentions=("record 4", "nodeid", "again"))
    counts = base["counts"]
    for name, wrong in (
        ("one more", {**counts, "pass": counts["pass"] + 1}),
        ("a zero", {**counts, "error": 0}),
        ("one fewer verdict", {"pass": counts["pass"]}),
        ("a bool", {**counts, "deviation": True}),
        ("a float", {key: float(value) for key, value in counts.items()}),
        ("a banana verdict", {**counts, "banana": 1}),
        ("a negative", {**counts, "pass": -counts["pass"]}),
    ):
        yield Mutant(f"counts: {name}", _dumps(_set(base, ("counts",), wrong)), mentions=("counts",))
    flipped = _set(base, ("records", 0, "verdict"), "error")
    yield Mutant("a verdict changed, counts not", _dumps(flipped), mentions=("counts",))
    yield Mutant("a verdict changed, counts too", _dumps(_recount(flipped)), valid=True)


def _bytes(text: bytes, rng: random.Random) -> Iterator[Mutant]:
    for position in sorted(rng.sample(range(len(text)), 8)):
        yield Mutant(f"0xff at {position}", text[:position] + b"\xff" + text[position:], mentions=("UTF-8",))
    letter = text.index(b"banana" if b"banana" in text else b"linux")
    for name, bad in (("latin-1", b"\xe9"), ("overlong", b"\xc0\xaf"), ("cut short", b"\xe2\x82")):
        yield Mutant(f"{name} byte", text[:letter] + bad + text[letter + 1 :], mentions=("UTF-8",))
    yield Mutant("UTF-16", text.decode().encode("utf-16"), mentions=("UTF-8",))
    yield Mutant("BOM", b"\xef\xbb\xbf" + text, mentions=("BOM",))
    yield Mutant("NUL in a string", text.replace(b'"linux"', b'"li\x00nux"', 1), mentions=("JSON",))


def _json_level(text: bytes) -> Iterator[Mutant]:
    body = text.decode()
    for name, content in (
        ("empty", ""),
        ("blank", "  \n\t\n"),
        ("null", "null"),
        ("a list", "[1, 2]"),
        ("a number", "1"),
        ("a string", '"anonmap-results/1"'),
        ("an empty object", "{}"),
        ("a key twice", body.replace("{", '{"schema": "anonmap-results/1", ', 1)),
        ("a record key twice", body.replace('"nodeid":', '"note": "", "nodeid":', 1)),
        ("NaN", body.replace('"pass": 2', '"pass": NaN', 1)),
        ("Infinity", body.replace('"pass": 2', '"pass": Infinity', 1)),
        ("1e999", body.replace('"pass": 2', '"pass": 1e999', 1)),
        ("50 digits", body.replace('"pass": 2', f'"pass": {10**50}', 1)),
        ("5000 digits", body.replace('"pass": 2', f'"pass": {"9" * 5000}', 1)),
        ("nested deep", '{"schema": "anonmap-results/1", "records": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("trailing junk", body + "x"),
        ("two documents", body + body),
        ("a comment", "// results\n" + body),
    ):
        yield Mutant(f"JSON: {name}", content.encode())


def _merged(base: dict[str, Any], other: dict[str, Any]) -> Iterator[Mutant]:
    def merged(runs: Any, **extra: Any) -> bytes:
        return _dumps({"schema": MERGED_SCHEMA, "runs": runs, **extra})

    yield Mutant("merged: one run", merged([base]), valid=True)
    yield Mutant("merged: no runs", merged([]), mentions=("runs",))
    yield Mutant("merged: runs a string", merged(""), mentions=("runs",))
    yield Mutant("merged: a run a number", merged([42]), mentions=("run 1",))
    yield Mutant("merged: an extra key", merged([base], banana=1), mentions=("banana",))
    yield Mutant("merged: without runs", _dumps({"schema": MERGED_SCHEMA}), mentions=("runs",))
    yield Mutant("merged: two runs", merged([base, other]), mentions=("run",))
    bad_run = _set(base, ("records", 2, "verdict"), "banana")
    yield Mutant("merged: a bad run", merged([other, bad_run]), mentions=("run 2", "record 3", "verdict"))
    yield Mutant(
        "merged: another version",
        _dumps({"schema": "anonmap-merged/2", "runs": [base]}),
        mentions=("schema",),
    )


def _truncations(text: bytes, rng: random.Random) -> Iterator[Mutant]:
    for end in sorted(rng.sample(range(1, len(text) - 1), 50)):
        yield Mutant(f"cut at {end}", text[:end], mentions=("JSON",))


def mutants(base: dict[str, Any], other: dict[str, Any]) -> list[Mutant]:
    rng = random.Random(SEED)
    emulated = _set(base, ("emulation",), EMULATION)
    text = _dumps(base)
    return [
        *_replacements(base, emulated, rng),
        *_missing_and_extra(base, emulated),
        *_duplicates_and_counts(base),
        *_bytes(text, rng),
        *_json_level(text),
        *_merged(base, other),
        *_truncations(text, rng),
    ]


@dataclasses.dataclass(frozen=True)
class Done:
    status: int
    stdout: str
    stderr: str


def _main(argv: Sequence[str]) -> Done:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(argv)
        except SystemExit as done:  # argparse
            status = int(done.code or 0)
        except Exception as error:  # noqa: BLE001 - what a user would see as a traceback, counted
            return Done(-1, stdout.getvalue(), f"Traceback: {error!r}")
    return Done(status, stdout.getvalue(), stderr.getvalue())


def _problem(done: Done, status: int, path: Path | str, mentions: Sequence[str] = ()) -> str:
    """What is wrong with how a command refused (empty when nothing is)."""
    lines = done.stderr.splitlines()
    if done.status != status:
        return f"status {done.status}, not {status}: {done.stderr!r}"
    if "Traceback" in done.stderr + done.stdout:
        return f"a traceback: {done.stderr!r}"
    if len(lines) != 1 or not lines[0].startswith("anonmap: ") or str(path) not in lines[0]:
        return f"not one line naming {path}: {done.stderr!r}"
    missing = [word for word in mentions if word not in lines[0]]
    return f"does not name {missing}: {lines[0]!r}" if missing else ""


@pytest.fixture(autouse=True)
def _one_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building the argument parser is most of what a call of main() costs in one process;
    # the thousands of calls here share one.
    monkeypatch.setattr(cli, "parser", functools.cache(cli.parser))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("fuzz")
    good = write_results(
        directory / "good.json",
        "linux",
        {"libc-private-fd=0": "zero", "libc-private-fd=closed": "zero", "libc-private-fd=-2": "EINVAL"},
    )
    other = write_results(directory / "other.json", "freebsd", {"libc-private-fd=0": "EINVAL"})
    return good, other


SENTINEL = b"an output from before\n"


class Outputs:
    """A directory of outputs holding one older output, which no failed command may touch."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()
        self.kept = directory / "kept.md"
        self.reset()

    def reset(self) -> None:
        for path in self.directory.iterdir():
            path.unlink()
        self.kept.write_bytes(SENTINEL)

    def untouched(self) -> bool:
        return list(self.directory.iterdir()) == [self.kept] and self.kept.read_bytes() == SENTINEL

    def commands(self, bad: Path, other: Path) -> list[tuple[list[str], set[int]]]:
        """Each command with the statuses it may end with on a valid ``bad``."""
        out, kept = str(self.directory), str(self.kept)
        return [
            (["report", str(bad), "--html", f"{out}/report.html", "--markdown", kept], {0}),
            (["merge", str(other), str(bad), "--json", f"{out}/merged.json", "--html", kept], {0}),
            (["diff", str(bad), str(other)], {0, EXIT_DIFFERENT}),
            (["diff", str(other), str(bad)], {0, EXIT_DIFFERENT}),
            (["profile", "draft", str(bad), "--output", kept], {0}),
        ]


def test_the_sources_are_valid_and_every_command_reads_them(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    good, other = sources
    outputs = Outputs(tmp_path / "out")
    for argv, statuses in outputs.commands(good, other):
        done = _main(argv)
        assert done.status in statuses and not done.stderr, (argv, done)
    assert (outputs.directory / "report.html").read_text().startswith("<!doctype html>")
    assert json.loads((outputs.directory / "merged.json").read_text())["schema"] == MERGED_SCHEMA
    assert "[[expect]]" in outputs.kept.read_text()


def test_every_mutation_is_refused_by_every_command_or_still_reports(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    good, other = sources
    found = mutants(json.loads(good.read_text()), json.loads(other.read_text()))
    assert len(found) >= 400 and len({m.name for m in found}) == len(found)
    bad = tmp_path / "bad.json"
    outputs = Outputs(tmp_path / "out")
    failures: list[str] = []
    for mutant in found:
        bad.write_bytes(mutant.data)
        for argv, statuses in outputs.commands(bad, other):
            done = _main(argv)
            if mutant.valid:
                problem = "" if done.status in statuses and not done.stderr else f"valid, but {done}"
                outputs.reset()
            else:
                problem = _problem(done, EXIT_INPUT, bad, mutant.mentions)
                if not problem and not outputs.untouched():
                    problem = f"outputs touched: {sorted(p.name for p in outputs.directory.iterdir())}"
            if problem:
                failures.append(f"{mutant.name}: anonmap {' '.join(argv[:2])}...: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])
    counted = Counter(m.valid for m in found)
    assert counted[True] >= 40 and counted[False] >= 400, counted


def test_inputs_that_are_not_regular_files_are_refused_before_reading(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    good, other = sources
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.truncate(1 << 30)  # sparse: nothing is written, and nothing may be read
    missing = tmp_path / "missing.json"
    directory = tmp_path / "directory.json"
    directory.mkdir()
    for path, words in (
        (huge, "1073741824 bytes"),
        (missing, "No such file"),
        (directory, "a directory"),
        (tmp_path / "directory.json" / "x" / "..", "cannot be read"),
    ):
        for argv in (
            ["report", str(path)],
            ["merge", str(good), str(path)],
            ["diff", str(other), str(path)],
            ["profile", "draft", str(path)],
        ):
            started = time.monotonic()
            problem = _problem(_main(argv), EXIT_INPUT, path, (words,))
            assert not problem, (argv, problem)
            assert time.monotonic() - started < 1, argv


def _unwritable(tmp_path: Path) -> list[Path]:
    afile = tmp_path / "afile"
    afile.write_text("")
    (tmp_path / "adir").mkdir()
    places = [
        tmp_path / "missing" / "out.html",
        afile / "out.html",
        tmp_path / "adir",
        Path("/proc/anonmap-fuzz/out.html"),
    ]
    if os.geteuid() != 0:  # root writes into a read-only directory anyway
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o555)
        places.append(readonly / "out.html")
    return places


def test_an_unwritable_output_is_status_4_and_writes_nothing(
    sources: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, other = sources
    outputs = Outputs(tmp_path / "out")
    out = outputs.directory
    before = sorted(tmp_path.rglob("*"))
    for place in _unwritable(tmp_path):
        before = sorted(tmp_path.rglob("*"))
        for argv in (
            ["report", str(good), "--html", str(place)],
            ["report", str(good), "--markdown", str(place), "--html", f"{out}/report.html"],
            ["merge", str(good), str(other), "--json", f"{out}/merged.json", "--html", str(place)],
            ["merge", str(good), str(other), "--markdown", str(place)],
            ["merge", str(good), str(other), "--json", str(place), "--markdown", str(outputs.kept)],
            ["profile", "draft", str(good), "--output", str(place)],
        ):
            problem = _problem(_main(argv), EXIT_OUTPUT, place, ("cannot be written",))
            assert not problem, (argv, problem)
            assert outputs.untouched() and sorted(tmp_path.rglob("*")) == before, argv
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    argv = ["report", str(good), "--summary", "--html", f"{out}/report.html"]
    assert not _problem(_main(argv), EXIT_OUTPUT, tmp_path / "missing" / "summary.md")
    assert outputs.untouched()


def test_bad_arguments_are_status_2() -> None:
    for argv in (
        ["report"],
        ["merge"],
        ["diff", "a.json"],
        ["report", "a.json", "--frobnicate"],
        ["frobnicate"],
    ):
        done = _main(argv)
        assert done.status == EXIT_USAGE and "Traceback" not in done.stderr, (argv, done)


def test_a_device_fifo_or_symlink_output_is_written_through_never_replaced(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    """With devices and links of the test's own: were this to regress, no device of the
    machine's would be at risk."""
    good, _ = sources
    expected = _main(["report", str(good)]).stdout
    target = tmp_path / "target.md"
    target.write_text("older\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert _main(["report", str(good), "--markdown", str(link)]).status == 0
    assert link.is_symlink() and target.read_text() == expected
    null = tmp_path / "null"
    with contextlib.suppress(PermissionError):  # without CAP_MKNOD, the namespace test covers it
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        assert _main(["report", str(good), "--markdown", str(null)]).status == 0
        assert stat.S_ISCHR(os.stat(null).st_mode)
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    # Opened read-write, the reader never sees end-of-file before the writer comes, and the
    # writer's open does not wait for it.
    reader = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    received = bytearray()

    def read() -> None:
        deadline = time.monotonic() + 10
        while len(received) < len(expected.encode()) and time.monotonic() < deadline:
            if select.select([reader], [], [], 0.1)[0]:
                received.extend(os.read(reader, 1 << 16))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        assert _main(["report", str(good), "--markdown", str(fifo)]).status == 0
    finally:
        thread.join()
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and received.decode() == expected


def _anonmap(argv: Sequence[str], stdout: str = "") -> Done:
    """``anonmap`` in a fresh process, its stdout captured or sent to the file ``stdout``."""
    with open(stdout or os.devnull, "w") as sink:
        done = subprocess.run(
            [sys.executable, "-m", "anonmap", *argv],
            stdout=sink if stdout else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=20,
            check=False,
        )
    return Done(done.returncode, done.stdout or "", done.stderr)


def test_in_fresh_processes_nothing_hangs_or_tracebacks(sources: tuple[Path, Path], tmp_path: Path) -> None:
    good, other = sources
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    cases: list[tuple[list[str], int, str]] = [
        (["report", str(fifo)], EXIT_INPUT, str(fifo)),
        (["diff", str(good), str(fifo)], EXIT_INPUT, str(fifo)),
        (["merge", str(good), str(fifo)], EXIT_INPUT, str(fifo)),
        (["profile", "draft", str(fifo)], EXIT_INPUT, str(fifo)),
        (["report", "/dev/zero"], EXIT_INPUT, "/dev/zero"),
        (["diff", "/dev/zero", str(good)], EXIT_INPUT, "/dev/zero"),
        (["report", str(good), "--html", str(tmp_path / "missing" / "x.html")], EXIT_OUTPUT, "missing"),
    ]
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.truncate(1 << 30)
    cases.append((["merge", str(good), str(huge)], EXIT_INPUT, str(huge)))
    found = [m for m in mutants(json.loads(good.read_text()), json.loads(other.read_text())) if not m.valid]
    commands = (["report"], ["merge", str(other)], ["diff", str(other)], ["profile", "draft"])
    for index, mutant in enumerate(random.Random(SEED).sample(found, 10)):
        bad = tmp_path / f"bad-{index}.json"
        bad.write_bytes(mutant.data)
        cases.append(([*commands[index % len(commands)], str(bad)], EXIT_INPUT, str(bad)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        full = (
            pool.submit(_anonmap, ["report", str(good)], "/dev/full") if Path("/dev/full").exists() else None
        )
        ran = list(pool.map(lambda case: _anonmap(case[0]), cases))
    for (argv, status, path), done in zip(cases, ran, strict=True):
        problem = _problem(done, status, path)
        assert not problem, (argv, problem)
    if full is not None:
        assert not _problem(full.result(), EXIT_OUTPUT, "stdout")


@pytest.mark.skipif(platform.system() != "Linux", reason="mount namespaces are Linux's")
def test_as_root_dev_null_and_dev_stdout_stay_what_they_are(sources: tuple[Path, Path]) -> None:
    """In a private mount namespace with a /dev of its own: the machine's is never at risk."""
    if os.geteuid() != 0:
        pytest.skip("only root could replace /dev/null")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make a private mount namespace")
    good, _ = sources
    report = shlex.join([sys.executable, "-m", "anonmap", "report", str(good)])
    script = "\n".join(
        [
            # Nothing below runs unless /dev is the namespace's own tmpfs.
            "mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3"
            " && ln -s /proc/self/fd/1 /dev/stdout || exit 99",
            f"{report} --markdown /dev/null || exit 1",
            f"{report} --html /dev/stdout | wc -c",
            "stat -c %F /dev/null /dev/stdout",
        ]
    )
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    if done.returncode == 99 or "unshare failed" in done.stderr:
        pytest.skip(f"cannot make a private /dev here: {done.stderr.strip()}")
    assert done.returncode == 0 and not done.stderr, done.stderr
    written, null, stdout = done.stdout.split("\n")[:3]
    assert int(written) > 1000
    assert (null, stdout) == ("character special file", "symbolic link")


def _refused(done: Done, statuses: set[int], path: Path | str) -> str:
    """What is wrong with a refusal of ``path`` (a traceback, more than one line, a status not
    documented for it); empty when nothing is."""
    if done.status not in statuses:
        return f"status {done.status}, not one of {sorted(statuses)}: {done.stderr!r}"
    if "Traceback" in done.stderr + done.stdout:
        return f"a traceback: {done.stderr!r}"
    if done.status == EXIT_USAGE:
        # argparse prints its usage, then one line of error.
        last = done.stderr.splitlines()[-1:]
        return "" if last and ": error: " in last[0] else f"no error line: {done.stderr!r}"
    lines = done.stderr.splitlines()
    if len(lines) != 1 or not lines[0].startswith("anonmap: ") or str(path) not in lines[0]:
        return f"not one line naming {path}: {done.stderr!r}"
    return ""


def _outputs_after(outputs: Outputs, status: int, written: set[int]) -> str:
    """Outputs are written only by a status in ``written``; every other leaves them untouched."""
    if status not in written and not outputs.untouched():
        return f"outputs touched: {sorted(p.name for p in outputs.directory.iterdir())}"
    outputs.reset()
    return ""


def test_hostile_workflows_are_one_line_with_the_input_status(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    pytest.importorskip("yaml", reason="unsupported: reading a workflow needs PyYAML (anonmap[ci])")
    good, _ = sources
    outputs = Outputs(tmp_path / "out")
    workflow = tmp_path / "ci.yml"
    failures = []
    for name, data, valid in hostile_inputs.workflows(random.Random(SEED)):
        workflow.write_bytes(data)
        argv = ["merge", str(good), "--expect-from", str(workflow)]
        argv += ["--json", f"{outputs.directory}/merged.json", "--markdown", str(outputs.kept)]
        started = time.monotonic()
        done = _main(argv)
        statuses = {EXIT_MISSING} if valid else {EXIT_INPUT} if valid is False else {EXIT_INPUT, EXIT_MISSING}
        problem = "" if done.status == EXIT_MISSING else _refused(done, statuses, workflow)
        problem = problem or _outputs_after(outputs, done.status, {EXIT_MISSING})
        if done.status not in statuses:
            problem = problem or f"status {done.status}"
        if time.monotonic() - started > 20:
            problem = problem or f"took {time.monotonic() - started:.1f} s"
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])
    merged = _main(["merge", str(good), "--expect-from", str(_valid_workflow(tmp_path))])
    assert all(f"**{label}**" in merged.stdout for label in hostile_inputs.WORKFLOW_PLATFORMS)


def _valid_workflow(tmp_path: Path) -> Path:
    path = tmp_path / "valid.yml"
    path.write_bytes(next(hostile_inputs.workflows(random.Random(SEED)))[1])
    return path


def test_workflows_that_are_no_regular_file_are_refused_unread(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    pytest.importorskip("yaml", reason="unsupported: reading a workflow needs PyYAML (anonmap[ci])")
    good, _ = sources
    fifo = tmp_path / "ci.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.yml"
    with huge.open("wb") as stream:
        stream.truncate(1 << 30)
    for path in (fifo, huge, Path("/dev/zero"), tmp_path, tmp_path / "missing.yml"):
        started = time.monotonic()
        problem = _refused(_main(["merge", str(good), "--expect-from", str(path)]), {EXIT_INPUT}, path)
        assert not problem and time.monotonic() - started < 2, (path, problem)


def test_observations_files_are_judged_or_refused_in_one_line(tmp_path: Path) -> None:
    failures = []
    for name, data, valid in hostile_inputs.observations(random.Random(SEED)):
        path = tmp_path / "observations.jsonl"
        path.write_bytes(data)
        try:
            observations.load(path)
            problem = "accepted" if valid is False else ""
        except observations.ObservationsError as error:
            message = str(error)
            problem = "refused" if valid else ""
            if "\n" in message or not message.startswith(str(path)):
                problem = f"not one line naming the file: {message!r}"
        except Exception as error:  # noqa: BLE001 - what the suite would show as INTERNALERROR
            problem = f"a traceback: {error!r}"
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_hostile_sources_scan_or_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tree_sitter", reason="unsupported: scan needs tree-sitter (anonmap[scan])")
    # Reading the target's profile is most of what one scan costs; what varies here is the source.
    monkeypatch.setattr(documented, "platform", functools.cache(documented.platform))
    outputs = Outputs(tmp_path / "out")
    source = tmp_path / "source.c"
    failures = []
    for name, data in hostile_inputs.sources(random.Random(SEED)):
        source.write_bytes(data)
        started = time.monotonic()
        done = _main(
            ["scan", str(source), "--targets", "linux", "--output", f"{outputs.directory}/scan.json"]
        )
        if done.status in (0, EXIT_DIFFERENT):
            problem = "" if not done.stderr else f"wrote to stderr: {done.stderr!r}"
        else:
            problem = _refused(done, {EXIT_INPUT}, source)
        problem = problem or _outputs_after(outputs, done.status, {0, EXIT_DIFFERENT})
        if time.monotonic() - started > 20:
            problem = problem or f"took {time.monotonic() - started:.1f} s"
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_scan_skips_what_a_directory_holds_but_cannot_be_scanned(tmp_path: Path) -> None:
    pytest.importorskip("tree_sitter", reason="unsupported: scan needs tree-sitter (anonmap[scan])")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "blob.c").write_bytes(b"\x7fELF\0\0\0")
    (tree / "code.c").write_bytes(hostile_inputs.SOURCE)
    done = _main(["scan", str(tree), "--targets", "linux"])
    assert done.status == EXIT_DIFFERENT and "code.c" in done.stdout, done
    (note,) = done.stderr.splitlines()
    assert note.startswith(f"anonmap: {tree / 'blob.c'}: a binary file") and note.endswith("skipped")
    fifo = tmp_path / "source.c"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        assert not _refused(_main(["scan", str(path)]), {EXIT_INPUT}, path)


def test_names_releases_and_architectures_are_checked_before_use(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    source = tmp_path / "source.c"
    source.write_bytes(hostile_inputs.SOURCE)
    outputs = Outputs(tmp_path / "out")
    failures = []
    for name, given, statuses in hostile_inputs.arguments(random.Random(SEED)):
        argv = [
            str(source) if a == "SOURCE" else f"{outputs.directory}/atlas" if a == "OUT" else a for a in given
        ]
        done = _main(argv)
        problem = ""
        if done.status not in statuses:
            problem = f"status {done.status}, not one of {sorted(statuses)}: {done.stderr[-200:]!r}"
        elif done.status in (EXIT_USAGE, EXIT_INPUT):
            lines = done.stderr.splitlines()
            one = lines[-1:] if done.status == EXIT_USAGE else lines
            if "Traceback" in done.stderr or len(one) != 1:
                problem = f"not one line: {done.stderr!r}"
        problem = problem or _outputs_after(outputs, done.status, {0, EXIT_DIFFERENT})
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def _closed_stdout(argv: Sequence[str]) -> Done:
    """``anonmap`` in a fresh process started with descriptor 1 closed."""
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "anonmap", *argv],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    return Done(done.returncode, "", done.stderr)


def test_a_closed_stdout_is_an_output_error_of_one_line(sources: tuple[Path, Path], tmp_path: Path) -> None:
    good, other = sources
    out = tmp_path / "report.md"
    commands = [
        ["report", str(good)],
        ["merge", str(good), str(other)],
        ["diff", "linux", "freebsd"],
        ["profile", "draft", str(good)],
        ["probe"],
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        ran = list(pool.map(_closed_stdout, [*commands, ["report", str(good), "--markdown", str(out)]]))
    for argv, done in zip(commands, ran[:-1], strict=True):
        problem = _refused(done, {EXIT_OUTPUT}, "stdout")
        assert not problem, (argv, problem)
    assert ran[-1].status == 0 and not ran[-1].stderr and out.read_text().startswith("#")


@pytest.mark.skipif(platform.system() != "Linux", reason="unsupported: observations are judged on Linux here")
def test_the_suite_refuses_hostile_options_in_one_usage_line(tmp_path: Path) -> None:
    chosen = {
        "observations: a Linux observer calling itself FreeBSD",
        "observations: 5000 digits",
        "observations: deep nesting",
        "observations: a sysname of 300 characters",
    }
    runs: list[list[str]] = []
    for name, data, _ in hostile_inputs.observations(random.Random(SEED)):
        if name in chosen:
            path = tmp_path / f"{len(runs)}.jsonl"
            path.write_bytes(data)
            runs.append([f"--anonmap-observations={path}"])
    runs += [["--anonmap-platform=" + "x" * 300], ["--anonmap-time-limit=" + "9" * 5000]]
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = list(pool.map(lambda args: run_suite(tmp_path / str(hash(args[0])), ["-n", "0", *args]), runs))
    for args, run in zip(runs, done, strict=True):
        assert run.returncode == pytest.ExitCode.USAGE_ERROR and run.results is None, (
            args,
            run.output[-500:],
        )
        assert "INTERNALERROR" not in run.output and "Traceback" not in run.output, run.output[-2000:]
        errors = [line for line in run.output.splitlines() if line.startswith(("ERROR:", "anonmap:"))]
        assert errors, run.output[-500:]


def test_the_fuzzer_holds_at_least_2000_inputs(sources: tuple[Path, Path]) -> None:
    good, other = sources
    rng = random.Random(SEED)
    counted = {
        "results files": len(mutants(json.loads(good.read_text()), json.loads(other.read_text()))),
        "workflows": len(list(hostile_inputs.workflows(rng))),
        "observations files": len(list(hostile_inputs.observations(rng))),
        "C sources": len(list(hostile_inputs.sources(rng))),
        "arguments": len(list(hostile_inputs.arguments(rng))),
    }
    assert sum(counted.values()) >= 2000, counted


def test_every_abi_the_observer_is_built_for_has_its_page_sizes_known() -> None:
    """A target added to the observer without its page sizes would have every file it prints refused."""
    assert {abi.split("-", 1)[1] for abi in header.ABIS} <= set(header.PAGE_SIZES)
