"""Observe WebAssembly's two C libraries: the C-library observer built for WASI and for Emscripten,
run under Node, its observations judged against platforms/wasi.toml and platforms/emscripten.toml.

    python tools/wasm.py [--only wasi|emscripten] [-- PYTEST-ARGS...]
    python tools/wasm.py --check      # can both be built and run here? exit 0, or say why not

For each platform it builds the observer (`anonmap observer --api libc --target wasm32-wasi` with
clang and Debian's wasi-libc and libclang-rt-14-dev-wasm32; `--target wasm32-emscripten` with
Debian's emcc), runs it under Node (node:wasi for WASI; Emscripten's own loader), one instance a
case where fork is absent (anonmap.apis.syscall.wasm), writes what it printed to
results/observations-<os>-wasm32.jsonl, and judges it with the suite
(`pytest tests --anonmap-observations=FILE`), which writes results/anonmap-<os>-wasm32.json.
The exit status is the worst of the judging runs'.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from anonmap import suite  # noqa: E402
from anonmap.apis.syscall import build, wasm  # noqa: E402
from anonmap.host import processes  # noqa: E402

#: Debian's packages for both.
INSTALL = "nodejs wasi-libc libclang-rt-14-dev-wasm32 emscripten clang lld"
#: Each platform by its profile's os, with the target the observer is built for.
PLATFORMS = {"wasi": "wasm32-wasi", "emscripten": "wasm32-emscripten"}
#: One case in one instance: Node starts in a tenth of a second; a 1 GiB reservation zeroes it.
CASE_TIME_LIMIT = 30.0
#: A build: emcc's first run also builds Emscripten's system libraries into its cache.
BUILD_TIME_LIMIT = 900.0
#: The judging run: a few hundred cases, nearly all read from the file.
JUDGE_TIME_LIMIT = 600.0


def unusable(target: str) -> str:
    """Why the observer cannot be built for ``target`` and run here ('' when it can)."""
    needed = ["node", build.LIBC_TARGETS[target].compiler]
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH (Debian: apt-get install {INSTALL})"
    if build.LIBC_TARGETS[target].os == "wasi":
        # clang alone builds no WASI program: it needs wasi-libc's sysroot and the wasm32
        # compiler runtime, which a trivial program with the emulated mman library proves.
        with tempfile.TemporaryDirectory(prefix="anonmap-wasi-check-") as work:
            source = Path(work) / "check.c"
            source.write_text("int main(void) { return 0; }\n")
            wanted = build.LIBC_TARGETS[target]
            done = processes.run(
                [wanted.compiler, *wanted.flags, "-o", f"{work}/check.wasm", str(source), *wanted.link],
                BUILD_TIME_LIMIT,
            )
            if not done.ok:
                return f"clang cannot build for wasm32-wasi ({done.failure()}; Debian: apt-get install {INSTALL})"
    return ""


def _observer(target: str, directory: Path) -> tuple[Path | None, str]:
    """Build the observer for ``target`` into ``directory`` with this anonmap's CLI."""
    done = processes.run(
        [
            sys.executable,
            "-m",
            "anonmap",
            "observer",
            "--api",
            build.LIBC_API,
            "--target",
            target,
            "--output",
            f"{directory}/",
        ],
        BUILD_TIME_LIMIT,
        cwd=str(REPO),
    )
    if not done.ok:
        return None, f"anonmap observer {done.failure()}: {done.stderr.strip()[-2000:]}"
    found = sorted(directory.glob(f"anonmap-observer-{build.LIBC_API}-{target}*"))
    return (found[0], "") if found else (None, f"anonmap observer wrote nothing into {directory}")


def observe(os_name: str, results: Path, pytest_args: list[str]) -> int:
    """Build, run and judge one platform; the judging run's exit status."""
    target = PLATFORMS[os_name]
    reason = unusable(target)
    if reason:
        print(f"wasm: {os_name} skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory(prefix=f"anonmap-{os_name}-") as work:
        binary, problem = _observer(target, Path(work))
        if binary is None:
            print(f"wasm: {os_name}: {problem}", file=sys.stderr)
            return 1
        ran = wasm.observe(wasm.command(binary, Path(work)), "real", CASE_TIME_LIMIT)
    if not ran.ok:
        print(f"wasm: {os_name}: the observer {ran.failure()}: {ran.stderr.strip()[-2000:]}", file=sys.stderr)
        return 1
    observations = results / f"observations-{os_name}-wasm32.jsonl"
    observations.write_text(ran.stdout)
    label = f"{os_name}-wasm32"
    judged = suite.judge(
        observations,
        [f"--anonmap-results={results}/", f"--anonmap-label={label}", *pytest_args],
        JUDGE_TIME_LIMIT,
        REPO,
    )
    print(judged.stdout[-3000:], end="")
    print(judged.stderr[-2000:], end="", file=sys.stderr)
    written = results / f"anonmap-{label}.json"
    if written.is_file():
        counts = json.loads(written.read_text())["counts"]
        print(f"wasm: {os_name}: {written.relative_to(REPO)}: {counts}")
    return judged.exit_status(f"wasm.py: judging {os_name}")


def main(argv: list[str]) -> int:
    # Ours before a "--", pytest's after it: `tox -e wasm -- --only wasi -- -k zero_fill`.
    ours, pytest_args = _split(argv)
    parser = argparse.ArgumentParser(description="Observe WASI and Emscripten under Node, and judge them.")
    parser.add_argument("--only", choices=sorted(PLATFORMS), help="one platform (default: both)")
    parser.add_argument(
        "--check", action="store_true", help="only say whether both can run here, or why not (exit 2)"
    )
    args = parser.parse_args(ours)
    chosen = [args.only] if args.only else list(PLATFORMS)
    if args.check:
        reasons = [f"{name}: {reason}" for name in chosen if (reason := unusable(PLATFORMS[name]))]
        print(
            f"wasm: {'; '.join(reasons)}" if reasons else "wasm: node, clang and emcc are here",
            file=sys.stderr if reasons else sys.stdout,
        )
        return 2 if reasons else 0
    results = REPO / "results"
    results.mkdir(exist_ok=True)
    return max(observe(name, results, pytest_args) for name in chosen)


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """``argv`` at its first "--": this runner's options, and pytest's."""
    at = argv.index("--") if "--" in argv else len(argv)
    return argv[:at], argv[at + 1 :]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
