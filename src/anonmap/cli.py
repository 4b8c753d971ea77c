"""The anonmap command: reports, merges and diffs of results files, and draft profiles.

Exit status: 0 done; 1 ``diff`` found differences; 2 bad arguments; 3 an input file cannot be
used; 4 an output file cannot be written; 5 ``merge`` wrote its outputs, but an expected platform
has no results; 6 ``observer`` could not build the observer. ``scan`` exits 1 when it has findings, as ``diff`` does for differences. Output files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from anonmap import suite
from anonmap.apis.syscall import build as observer
from anonmap.expect.profiles import ProfileError, find_profile, profile_paths
from anonmap.files.atomic import Staged
from anonmap.host import installation
from anonmap.host.probe import describe, probe
from anonmap.reporting import atlas, diff, documented, draft, html, markdown, summary
from anonmap.reporting.expected import WorkflowError, from_workflow
from anonmap.reporting.matrix import build
from anonmap.reporting.runs import InputError, NoResults, Run, absent, merged, read, read_inputs
from anonmap.scan import findings as findings_report
from anonmap.scan import hazards as scan
from anonmap.scan import suppress

EXIT_DIFFERENT, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, EXIT_MISSING, EXIT_BUILD = 1, 2, 3, 4, 5, 6


class OutputError(Exception):
    pass


_staged: list[Staged] = []
"""The outputs the running command has prepared. main() puts them in place only once the
command has read and checked every input and prepared every output, so a failure anywhere
leaves every output as it was."""


def _cannot_write(path: Path | str, error: OSError) -> OutputError:
    return OutputError(f"{path}: cannot be written: {error.strerror or error}")


def write_whole(path: Path, text: str) -> None:
    try:
        _staged.append(Staged(path, text))
    except OSError as error:
        raise _cannot_write(path, error) from error


def write_binary(path: Path, data: bytes) -> None:
    """An executable, put in place whole like every other output."""
    try:
        _staged.append(Staged(path, data, executable=True))
    except OSError as error:
        raise _cannot_write(path, error) from error


def _append(path: str, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise _cannot_write(path, error) from error


def _outputs(
    args: argparse.Namespace, runs: Sequence[Run], title: str, missing: Sequence[NoResults] = ()
) -> str:
    matrix = build(runs, missing)
    text = markdown.render(matrix, title)
    if args.html:
        write_whole(args.html, html.render(matrix, title))
    if args.markdown:
        write_whole(args.markdown, text)
    if args.summary and (step_summary := os.environ.get("GITHUB_STEP_SUMMARY")):
        # Missing platforms and deviations, then counts: the whole matrix is in the pages.
        files = [path.name for path in (args.html, args.markdown, getattr(args, "json", None)) if path]
        _append(step_summary, summary.render(matrix, title, summary.pages(files, os.environ)))
    return text


def _single(path: Path) -> Run:
    runs = read(path)
    if len(runs) != 1:
        raise InputError(f"{path}: holds {len(runs)} runs; give a results file of one platform")
    return runs[0]


def cmd_report(args: argparse.Namespace) -> int:
    text = _outputs(args, [_single(args.results)], "anonmap compatibility report")
    if not (args.html or args.markdown):
        sys.stdout.write(text)
    return 0


def _expected(args: argparse.Namespace) -> list[str]:
    expected = list(args.expect or [])
    if args.expect_from:
        try:
            expected += from_workflow(args.expect_from)
        except WorkflowError as error:
            raise InputError(str(error)) from error
    return expected


def cmd_merge(args: argparse.Namespace) -> int:
    runs, notes = read_inputs(args.results)
    missing = absent(runs, notes, _expected(args))
    if args.json:
        write_whole(args.json, json.dumps(merged(runs, missing), indent=1) + "\n")
    title = f"anonmap compatibility matrix: {len(runs)} platforms" + (
        f", {len(missing)} without results" if missing else ""
    )
    text = _outputs(args, runs, title, missing)
    if not (args.html or args.markdown or args.json):
        sys.stdout.write(text)
    return EXIT_MISSING if missing else 0


def _profiles_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--profiles",
        type=Path,
        metavar="DIR",
        help="where platform names are looked up (default: the profiles installed with anonmap)",
    )


def _profiles_dir(given: Path | None) -> Path:
    """Where platform names are looked up: --profiles, else the profiles installed with anonmap
    (never a platforms/ folder that happens to be in the current directory)."""
    return given if given is not None else installation.profiles()


def _exists(text: str) -> bool:
    """Whether ``text`` names a file; a name no file system could hold (too long, a NUL) does not."""
    try:
        os.stat(text)
    except (OSError, ValueError):
        return False
    return True


def _side(text: str, args: argparse.Namespace, release: str | None, arch: str | None) -> Run:
    """A results file, or a platform's name for what its profile documents."""
    if _exists(text) or "/" in text or text.endswith(".json"):
        return _single(Path(text))
    target = documented.Target(release or documented.NEWEST, arch or "x86_64")
    return documented.platform(text, _profiles_dir(args.profiles), target)


#: A release as profile conditions compare it: dotted numbers (FreeBSD's osrel 1403000, Linux's
#: 6.1, macOS's 15.0), and a suffix such as -RELEASE; bounded, as no release is longer.
_RELEASE = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20}){0,7}(?:[-+_~][A-Za-z0-9._+~-]{0,40})?")
#: An architecture as the probe names it: x86_64, aarch64, riscv64, ppc64le, mips64el.
_ARCH = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _release(text: str) -> str:
    if not _RELEASE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected a release such as 14.3 or 1403000 (at most 8 dotted numbers, then an optional -SUFFIX), got {text[:60]!r}"
        )
    return text


def _arch(text: str) -> str:
    if not _ARCH.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected an architecture as the probe names it, such as x86_64 or aarch64, got {text[:60]!r}"
        )
    return text


def cmd_diff(args: argparse.Namespace) -> int:
    a = _side(args.a, args, args.a_release, args.a_arch)
    b = _side(args.b, args, args.b_release, args.b_arch)
    sys.stdout.write(diff.render(a, b))
    return EXIT_DIFFERENT if diff.differences(a, b)[0] else 0


def cmd_scan(args: argparse.Namespace) -> int:
    # The targets and the baseline first: a typo there is answered before a long scan.
    directory = _profiles_dir(args.profiles)
    names = args.targets.split(",") if args.targets else [p.stem for p in profile_paths(directory)]
    targets = [documented.platform(name, directory, documented.Target()) for name in names]
    try:
        known = suppress.read_baseline(args.baseline) if args.baseline else set()
    except suppress.BaselineError as error:
        raise InputError(str(error)) from error
    try:
        scanned = scan.scan(args.paths)
    except scan.ScanError as error:
        raise InputError(str(error)) from error
    for note in scanned.skipped:
        print(f"anonmap: {note}", file=sys.stderr)
    # Fingerprints name files from where the scan runs, as SARIF's SRCROOT does.
    findings = suppress.apply_baseline(scanned.findings, known, Path.cwd())
    if args.write_baseline:
        write_whole(args.write_baseline, suppress.baseline_text(findings, Path.cwd()))
    if args.format == "sarif":
        out = findings_report.sarif(findings, targets, Path.cwd())
    elif args.format == "json":
        out = findings_report.as_json(findings, targets)
    else:
        out = findings_report.text(findings, targets)
    if args.output:
        write_whole(args.output, out)
    else:
        sys.stdout.write(out)
    for line in scanned.internal:
        print(f"anonmap: {line}", file=sys.stderr)
    if scanned.internal:
        return EXIT_SCAN_INTERNAL
    # Only an unsuppressed warning fails a gate: notes say how the code already handles it.
    return EXIT_DIFFERENT if any(f.gates for f in findings) else 0


#: scan met a bug of its own on some file (each named on one line): the rest were scanned.
EXIT_SCAN_INTERNAL = 7


def cmd_atlas(args: argparse.Namespace) -> int:
    runs, _ = read_inputs(args.results) if args.results else ([], [])
    directory = _profiles_dir(args.profiles)
    documented_runs = [
        documented.platform(p.stem, directory, documented.Target()) for p in profile_paths(directory)
    ]
    if args.baseline not in {p.stem for p in profile_paths(directory)}:
        raise InputError(f"{args.baseline}: no such platform to compare against (profiles in {directory})")
    if not args.html.is_dir():
        try:
            args.html.mkdir(parents=True)
        except OSError as error:
            raise OutputError(f"{args.html}: cannot be made: {error.strerror or error}") from error
    for path, text in atlas.write(args.html, documented_runs, runs, args.baseline):
        write_whole(path, text)
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    text = draft.render(_single(args.results))
    if args.output:
        write_whole(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


#: A cross build of the observer: one compile and link.
_BUILD_TIME_LIMIT = 300.0


def cmd_observer(args: argparse.Namespace) -> int:
    """Build the freestanding observer for this machine or, with clang and lld, for a target;
    with ``--api libc`` its C-library backend, also for WebAssembly (wasm32-wasi, Emscripten)."""
    host = probe()
    wasm = observer.LIBC_TARGETS.get(args.target or "")
    if args.target and args.target not in (
        {**observer.TARGETS, **observer.LIBC_TARGETS} if args.api == observer.LIBC_API else observer.TARGETS
    ):
        print(f"anonmap: observer: --target {args.target} is a target of --api libc only", file=sys.stderr)
        return EXIT_USAGE
    os_name = wasm.os if wasm else observer.TARGETS[args.target] if args.target else host.os
    arch = args.target.split("-", 1)[0] if args.target else host.arch
    directory = _profiles_dir(args.profiles)
    try:
        profile = find_profile(
            directory, documented.run_info_for(os_name, documented.Target(arch=arch)), os_name
        )
    except ProfileError as error:
        raise InputError(str(error).splitlines()[0]) from error
    constants = {
        name: constant.value
        for name, constant in (
            profile.constant_values(documented.run_info_for(os_name, documented.Target(arch=arch)))
            if profile
            else {}
        ).items()
        if name in observer.profile_constants()
    }
    compiler = args.cc or (wasm.compiler if wasm else "clang" if args.target else "cc")
    backend = "libc-" if args.api == observer.LIBC_API else ""
    name = f"anonmap-observer-{backend}{args.target or f'{os_name}-{arch}'}{wasm.suffix if wasm else ''}"
    # The string as given: Path() drops a trailing slash, which is what says "a directory".
    into_directory = args.output.endswith(("/", os.sep)) or Path(args.output).is_dir()
    output = Path(args.output) / name if into_directory else Path(args.output)
    if into_directory:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _cannot_write(output.parent, error) from error
    with tempfile.TemporaryDirectory(prefix="anonmap-observer-") as build_dir:
        built = observer.build(
            compiler, Path(build_dir), constants, _BUILD_TIME_LIMIT, args.target, api=args.api
        )
        if built.path is None:
            print(f"anonmap: the observer did not build: {built.problem}", file=sys.stderr)
            return EXIT_BUILD
        write_binary(output, built.path.read_bytes())
    print(
        f"{output}: the observer for {args.target or 'this machine'}; run it there as: {name} [--on real|vm|emulator] > observations.jsonl"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    extra = list(args.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return suite.run_installed(args.results, extra)


def cmd_probe(args: argparse.Namespace) -> int:
    info = probe()
    sys.stdout.write(
        json.dumps(info.to_json(), indent=1) + "\n" if args.json else "\n".join(describe(info)) + "\n"
    )
    return 0


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    running = commands.add_parser(
        "run",
        help="run the whole suite on this machine from the installed package (exit status: pytest's)",
        description="Run every check on this machine with the installed catalogue, profiles and "
        "checks, and write results/anonmap-<os>-<arch>.json. Arguments after -- go to pytest.",
    )
    running.add_argument(
        "--results",
        default="results/",
        metavar="PATH",
        help="a directory (ending in /) or a file (default: results/)",
    )
    running.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST-ARGS")
    running.set_defaults(run=cmd_run)


def _add_scan(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scanning = commands.add_parser(
        "scan",
        help="find the mmap calls and patterns in C/C++ sources that behave differently across platforms "
        "(exit 1 for an unsuppressed warning, 7 when the scanner broke on a file)",
    )
    scanning.add_argument(
        "paths", type=Path, nargs="+", metavar="PATH", help="C or C++ files, or directories of them"
    )
    scanning.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="default: text")
    scanning.add_argument("--output", type=Path, metavar="PATH", help="write here (default: stdout)")
    scanning.add_argument(
        "--targets",
        metavar="PLATFORMS",
        help="the platforms to show documented outcomes for, comma-separated (default: every profile)",
    )
    _profiles_option(scanning)
    scanning.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="findings whose fingerprints it holds are reported as suppressed and do not fail the scan",
    )
    scanning.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="write the fingerprints of every warning found (after --baseline and ignore comments) here",
    )
    scanning.set_defaults(run=cmd_scan)


def _add_observer(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    building = commands.add_parser(
        "observer",
        help="build the freestanding observer (no libc) for this machine or another target, to judge its observations here",
    )
    building.add_argument(
        "--target",
        choices=sorted({*observer.TARGETS, *observer.LIBC_TARGETS}),
        help="cross-build for this target with clang and lld (default: this machine, with cc); "
        "with --api libc also wasm32-wasi (clang and wasi-libc) or wasm32-emscripten (emcc)",
    )
    building.add_argument(
        "--api",
        choices=observer.BACKENDS,
        default=observer.SYSCALL_API,
        help="the observer's backend: raw system calls (syscall, the default) or the C library's "
        "functions (libc: the libc api's cases, observed from C)",
    )
    building.add_argument(
        "--cc", metavar="COMPILER", help="the C compiler (default: clang for --target, else cc)"
    )
    building.add_argument(
        "--output",
        default=".",
        metavar="PATH",
        help="the binary's path; a directory gets anonmap-observer-<target> (default: .)",
    )
    _profiles_option(building)
    building.set_defaults(run=cmd_observer)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="anonmap", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"anonmap {installation.VERSION}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_run(commands)

    report = commands.add_parser("report", help="a Markdown (and HTML) report of one results file")
    report.add_argument("results", type=Path, metavar="RESULTS")
    report.add_argument(
        "--markdown", type=Path, metavar="PATH", help="write the Markdown here (default: stdout)"
    )
    report.add_argument("--html", type=Path, metavar="PATH", help="write a self-contained HTML page here")
    report.add_argument(
        "--summary", action="store_true", help="also append the Markdown to $GITHUB_STEP_SUMMARY"
    )
    report.set_defaults(run=cmd_report)

    merge = commands.add_parser("merge", help="one matrix from many platforms' results")
    merge.add_argument("results", type=Path, nargs="+", metavar="RESULTS")
    merge.add_argument("--json", type=Path, metavar="PATH", help="write the merged results here")
    merge.add_argument(
        "--markdown", type=Path, metavar="PATH", help="write the Markdown here (default: stdout)"
    )
    merge.add_argument("--html", type=Path, metavar="PATH", help="write a self-contained HTML page here")
    merge.add_argument(
        "--summary", action="store_true", help="also append the Markdown to $GITHUB_STEP_SUMMARY"
    )
    merge.add_argument(
        "--expect",
        action="append",
        metavar="LABEL",
        help="a platform (its --anonmap-label) that must have results; repeat for more",
    )
    merge.add_argument(
        "--expect-from",
        type=Path,
        metavar="WORKFLOW",
        help="expect every platform the workflow's matrices name (their 'platform' entries)",
    )
    merge.set_defaults(run=cmd_merge)

    compare = commands.add_parser(
        "diff",
        help="porting from A to B: the cases whose outcome differs (exit 1 if any); each side a results file or a platform name (its profile)",
    )
    compare.add_argument("a", metavar="A", help="a results file, or a platform such as linux")
    compare.add_argument("b", metavar="B", help="a results file, or a platform such as freebsd")
    _profiles_option(compare)
    for side in ("a", "b"):
        compare.add_argument(
            f"--{side}-release",
            type=_release,
            metavar="VERSION",
            help=f"the release of {side.upper()}'s platform to read its profile for (default: the newest documented)",
        )
        compare.add_argument(
            f"--{side}-arch",
            type=_arch,
            metavar="ARCH",
            help=f"{side.upper()}'s architecture, as the probe names it (default: x86_64)",
        )
    compare.set_defaults(run=cmd_diff)

    _add_scan(commands)

    atlas_parser = commands.add_parser(
        "atlas", help="every platform's documented outcomes side by side, as static HTML pages"
    )
    atlas_parser.add_argument(
        "results", type=Path, nargs="*", metavar="RESULTS", help="runs to mark the cells with"
    )
    atlas_parser.add_argument(
        "--html", type=Path, metavar="DIR", required=True, help="the directory for the pages"
    )
    atlas_parser.add_argument(
        "--baseline",
        default="linux",
        metavar="PLATFORM",
        help="what cells are coloured against (default: linux)",
    )
    _profiles_option(atlas_parser)
    atlas_parser.set_defaults(run=cmd_atlas)

    profile = commands.add_parser("profile", help="profiles")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, metavar="COMMAND")
    drafting = profile_commands.add_parser(
        "draft", help="a draft profile from an unprofiled platform's results"
    )
    drafting.add_argument("results", type=Path, metavar="RESULTS")
    drafting.add_argument(
        "--output", type=Path, metavar="PATH", help="write the draft here (default: stdout)"
    )
    drafting.set_defaults(run=cmd_draft)

    _add_observer(commands)

    probing = commands.add_parser("probe", help="describe this host as the suite sees it")
    probing.add_argument("--json", action="store_true", help="the full run_info as JSON")
    probing.set_defaults(run=cmd_probe)
    return top


def _commit() -> None:
    for staged in _staged:
        try:
            staged.commit()
        except OSError as error:
            raise _cannot_write(staged.path, error) from error


def _print(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        # What is still buffered would fail again when Python flushes stdout on the way out,
        # with a second message; it has nowhere to go.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        raise _cannot_write("stdout", error) from error


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(message: str) -> str:
    """An error as one line: a path or name it quotes may hold a line break (a file name may)."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], message)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The command's stdout is held back too: printed only when everything else succeeded, and
    # a stdout that cannot be written (a full disk, a closed pipe) is one more output error.
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            status: int = args.run(args)
        text = printed.getvalue()
        if text and sys.stdout is None:
            # Python leaves sys.stdout None when started with descriptor 1 closed: known before
            # any output is put in place, so a failure leaves them all as they were.
            raise OutputError("stdout: cannot be written: it is closed")
        _commit()
        if text:
            _print(text)
    except InputError as error:
        print(f"anonmap: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as error:
        print(f"anonmap: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_OUTPUT
    finally:
        for staged in _staged:
            staged.discard()
        _staged.clear()
    return status
