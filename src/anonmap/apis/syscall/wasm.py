"""The C-library observer where it runs under Node: built for wasm32-wasi (wasi-libc, run by
``node:wasi``) or for Emscripten (run by Node itself).

Neither has ``fork``: the observer's own run prints its header and marks every case that needs
nothing but a process of its own unsupported with the fork capability's reason. Each such case
is then run again, alone, in a fresh instance (``observer --case I``, the check in the observer's
own process), as the forked child would have run it; its message becomes the record the
observer would have printed. The file is the observer's format (``anonmap-observations/1``),
judged as any other (``--anonmap-observations``).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from anonmap.apis.syscall import build
from anonmap.host import processes

#: The node:wasi runner: node run-wasi.mjs OBSERVER.wasm TMPDIR [arguments].
WASI_RUNNER = "run-wasi.mjs"


def command(binary: Path, work: Path) -> list[str]:
    """How Node runs the observer in ``binary`` (``.wasm``: under node:wasi, with ``work`` as
    its /tmp; ``.js``: Emscripten's own loader, with its in-memory /tmp)."""
    node = shutil.which("node") or "node"
    if binary.suffix == ".wasm":
        runner = work / WASI_RUNNER
        runner.write_text(resources.files("anonmap").joinpath(f"data/observer/{WASI_RUNNER}").read_text())
        return [node, "--no-warnings", str(runner), str(binary), str(work)]
    return [node, str(binary)]


def _record(behaviour: str, case: str, ran: processes.Finished) -> dict[str, str]:
    """The record the observer prints, from what ``--case`` printed: kind, outcome and detail on
    three lines (observer.c's message), or how the instance ended without one."""
    record = {"behaviour": behaviour, "case": case}
    if ran.timed_out:
        return {**record, "outcome": "timeout", "detail": "no result within the time limit"}
    # Emscripten's tty ends the last line of stdout with a newline of its own when it flushes.
    kind, _, rest = ran.stdout.removesuffix("\n").partition("\n")
    outcome, _, detail = rest.partition("\n")
    if kind == "outcome" and outcome:
        return {**record, "outcome": outcome, "detail": detail}
    if kind == "unsupported":
        return {**record, "unsupported": detail}
    if kind == "harness":
        return {**record, "harness": detail}
    # A trap (an access outside linear memory, an unreachable) ends the instance without a
    # message: the engine's words say what it was.
    return {
        **record,
        "harness": f"the case's instance ended with {ran.failure() or 'no message'}: {ran.stderr.strip()[-400:]}",
    }


def observe(run: Sequence[str], on: str, time_limit: float) -> processes.Finished:
    """Run the observer by ``run`` (``command``) and, where it has no fork, each case in a
    fresh instance; the result's stdout is the whole observations file."""
    limit = ["--on", on, "--time-limit-ms", str(max(1, int(time_limit * 1000)))]
    first = processes.run([*run, *limit], min(3600.0, time_limit * 4))
    lines = first.stdout.splitlines()
    if not first.ok or len(lines) < 2:
        return first
    header: dict[str, Any] = json.loads(lines[0])
    fork = header["capabilities"]["fork"]
    if fork["available"]:
        return first
    records = []
    for index, line in enumerate(lines[1:-1]):
        record = json.loads(line)
        if record.get("unsupported") == fork["detail"]:
            ran = processes.run([*run, *limit, "--case", str(index)], time_limit)
            record = _record(record["behaviour"], record["case"], ran)
        records.append(json.dumps(record))
    text = "\n".join([lines[0], *records, lines[-1]]) + "\n"
    return dataclasses.replace(first, stdout=text)


def build_and_observe(
    target: str, constants: dict[str, int], directory: Path, time_limit: float, on: str = "real"
) -> tuple[build.Built, processes.Finished | None]:
    """Build the C-library observer for ``target`` (one of ``build.LIBC_TARGETS``) into
    ``directory`` and observe with it under Node."""
    wanted = build.LIBC_TARGETS[target]
    built = build.build(wanted.compiler, directory, constants, time_limit * 30, target, api=build.LIBC_API)
    if built.path is None:
        return built, None
    with tempfile.TemporaryDirectory(prefix="anonmap-wasm-") as work:
        return built, observe(command(built.path, Path(work)), on, time_limit)
