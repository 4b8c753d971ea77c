"""Boot Debian's own Linux kernels for other architectures under qemu-system and run the suite inside.

    python tools/kernels.py [--arch arm64 --arch s390x ...] [--jobs N] [-- PYTEST-ARGS...]

For each architecture (arm64; ppc64el, whose kernel runs with 64 KiB pages; s390x, big-endian;
i386, a 32-bit address space) it fetches Debian bookworm's kernel and Python for it as Debian
packages, through a private apt configuration of its own (its own sources, lists and cache
under .tox/kernels-cache/<arch>/apt: dpkg's configuration is not touched), builds an initramfs
holding that Python, pytest, the suite and tools/kernel_init.py as /init, and boots it under
``qemu-system-*`` with TCG (no KVM needed). The guest runs the suite and prints the results
file to the serial console, framed (kernel_init.frame_lines); this reads it back, checks it,
records it as observed on a virtual machine (``observed_on``) and writes
results/anonmap-linux-<arch>-vm.json.

Where a qemu-system binary is missing, or the packages cannot be fetched, that architecture is
skipped with the reason (exit 0). A guest that does not bring results back is a failure; so is
a suite that does not pass there (its exit status is returned). Every program started here runs
in a process group of its own with a time limit (anonmap.host.processes).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
# tox -e kernels installs nothing: the package's stdlib-only modules are read from the tree.
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tools"))
import kernel_init  # noqa: E402
import qemu_user  # noqa: E402
from qemu_user import SetupError  # noqa: E402

from anonmap.files.checked import Malformed  # noqa: E402
from anonmap.host import processes  # noqa: E402
from anonmap.reporting import runs  # noqa: E402
from anonmap.results.records import write_results  # noqa: E402

CACHE = REPO / ".tox" / "kernels-cache"
RESULTS = REPO / "results"
#: What goes into /work of the guest: the suite, its profiles and its pytest configuration.
WORK = ("src/anonmap", "tests", "platforms", "conftest.py", "pyproject.toml")
# Each download and unpacking runs under qemu_user.SETUP_TIME_LIMIT (apt-get update of one
# architecture's lists, a kernel package: seconds here, minutes on a slow mirror).
#: One guest: boot (seconds), the suite under TCG (two and a half minutes at most on a loaded
#: 2-core machine, bench/FIGURES.md), power-off. The suite inside gets a minute less.
BOOT_TIME_LIMIT = 600.0
#: The guest's memory: Python, pytest and the suite in an initramfs, and the checks' mappings.
MEMORY = "1024M"


@dataclasses.dataclass(frozen=True)
class Machine:
    """How one Debian architecture's kernel boots under qemu-system."""

    arch: str
    qemu: str
    kernel_package: str
    """Debian's metapackage of the kernel flavour; it depends on the versioned image."""
    image: str
    """The image under /boot of the kernel package that qemu loads (vmlinuz or vmlinux)."""
    console: str
    options: tuple[str, ...]


#: The four guests. virt's default CPU is the 32-bit cortex-a15, so arm64 names a 64-bit one;
#: pseries boots through QEMU's Virtual Open Firmware (x-vof) rather than SLOF, quicker, and
#: says the Spectre mitigations TCG cannot give are absent rather than warn; s390x and i386 ask
#: for every facility TCG emulates.
MACHINES = {
    machine.arch: machine
    for machine in (
        Machine(
            "arm64",
            "qemu-system-aarch64",
            "linux-image-arm64",
            "vmlinuz",
            "ttyAMA0",
            ("-M", "virt", "-cpu", "cortex-a57"),
        ),
        Machine(
            "ppc64el",
            "qemu-system-ppc64",
            "linux-image-powerpc64le",
            "vmlinux",
            "hvc0",
            ("-M", "pseries,x-vof=on,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off"),
        ),
        Machine(
            "s390x",
            "qemu-system-s390x",
            "linux-image-s390x",
            "vmlinuz",
            "ttysclp0",
            ("-M", "s390-ccw-virtio", "-cpu", "max"),
        ),
        Machine(
            "i386", "qemu-system-i386", "linux-image-686", "vmlinuz", "ttyS0", ("-M", "pc", "-cpu", "max")
        ),
    )
}


class Apt:
    """apt-get and apt-cache for one foreign architecture with a configuration of their own:
    sources (the host's Debian sources, read from its apt), lists, cache and an empty dpkg
    status, all under ``root``. The host's dpkg and apt state are left as they are."""

    def __init__(self, root: Path, arch: str) -> None:
        self.root = root
        self.arch = arch

    def options(self) -> list[str]:
        root = self.root
        return [
            f"-oAPT::Architecture={self.arch}",
            f"-oAPT::Architectures={self.arch}",
            f"-oDir::Etc::SourceList={root / 'sources.list'}",
            f"-oDir::Etc::SourceParts={root / 'sources.list.d'}",
            f"-oDir::State={root / 'state'}",
            f"-oDir::State::Lists={root / 'state' / 'lists'}",
            f"-oDir::State::status={root / 'status'}",
            f"-oDir::Cache={root / 'cache'}",
            "-oDebug::NoLocking=1",
            "-oAcquire::Languages=none",
            "-oAPT::Get::List-Cleanup=0",
        ]

    def get(self, *args: str) -> list[str]:
        return ["apt-get", "-q", *self.options(), *args]

    def cache(self, *args: str) -> list[str]:
        return ["apt-cache", *self.options(), *args]

    def configure(self, sources: Sequence[str]) -> None:
        for folder in ("sources.list.d", "state/lists/partial", "cache/archives/partial"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "status").touch()
        (self.root / "sources.list").write_text("".join(f"{line}\n" for line in sources), encoding="utf-8")


def debian_sources(arch: str, indextargets: str) -> list[str]:
    """sources.list lines for ``arch`` from the host's Debian repositories, as `apt-get
    indextargets --format '$(ORIGIN) $(REPO_URI) $(RELEASE) $(COMPONENT)'` lists them."""
    lines: list[str] = []
    for row in indextargets.splitlines():
        fields = row.split()
        if len(fields) != 4 or fields[0] != "Debian":
            continue
        line = f"deb [arch={arch}] {fields[1]} {fields[2]} {fields[3]}"
        if line not in lines:
            lines.append(line)
    return lines


@dataclasses.dataclass(frozen=True)
class Prepared:
    machine: Machine
    kernel: Path
    kernel_name: str
    """The booted image's name with its version, as Debian names it (vmlinuz-6.1.0-N-arm64)."""
    sysroot: Path
    python: str
    """The guest's python3.X."""


def depends_on(apt: Apt, package: str, pattern: str) -> str:
    """The first package ``package`` depends on whose name matches ``pattern``."""
    found = re.search(rf"Depends: ({pattern})$", qemu_user.run(apt.cache("depends", package)), re.MULTILINE)
    if found is None:
        raise SetupError(f"{package}: no dependency matching {pattern} for {apt.arch}")
    return found.group(1)


def download(apt: Apt, names: Iterable[str], folder: Path) -> list[Path]:
    """The .deb files of ``names`` in ``folder``, downloaded where they are not there yet."""
    folder.mkdir(parents=True, exist_ok=True)
    qemu_user.run(apt.get("download", *names), cwd=folder)
    found = []
    for name in names:
        debs = sorted(folder.glob(f"{name.split(':')[0]}_*.deb"))
        if not debs:
            raise SetupError(f"apt-get download left no {name} .deb in {folder}")
        found.append(debs[-1])
    return found


def prepare(machine: Machine, cache: Path = CACHE) -> Prepared:
    """Fetch and unpack what ``machine`` boots: its kernel image and a sysroot with Python."""
    home = cache / machine.arch
    apt = Apt(home / "apt", machine.arch)
    ready = home / "ready.json"
    if ready.is_file():
        done = json.loads(ready.read_text(encoding="utf-8"))
        return Prepared(
            machine, home / done["kernel_name"], done["kernel_name"], home / "sysroot", done["python"]
        )
    targets = qemu_user.run(
        [
            "apt-get",
            "indextargets",
            "--format",
            "$(ORIGIN) $(REPO_URI) $(RELEASE) $(COMPONENT)",
            "Created-By: Packages",
        ]
    )
    sources = debian_sources(machine.arch, targets)
    if not sources:
        raise SetupError("the host's apt lists no Debian repository to fetch packages from")
    apt.configure(sources)
    qemu_user.run(apt.get("update"))
    python_minimal = qemu_user.python_package(machine.arch, apt.cache())
    image = depends_on(apt, machine.kernel_package, r"linux-image-[0-9][^\s]*")
    debs = download(apt, [*qemu_user.python_packages(python_minimal), image], home / "debs")
    kernel_deb, python_debs = debs[-1], debs[:-1]
    sysroot = home / "sysroot"
    shutil.rmtree(sysroot, ignore_errors=True)
    qemu_user.unpack(python_debs, sysroot)
    kernel_name = extract_kernel(kernel_deb, machine.image, home)
    python = python_minimal.removesuffix("-minimal")
    compile_for_guest(python, [sysroot / "usr" / "lib" / python])
    ready.write_text(json.dumps({"kernel_name": kernel_name, "python": python}), encoding="utf-8")
    return Prepared(machine, home / kernel_name, kernel_name, sysroot, python)


def compile_for_guest(python: str, folders: Sequence[Path]) -> None:
    """Compile ``folders`` to bytecode here when this Python is the guest's version (its
    bytecode is the same on every architecture): under TCG, compiling the standard library and
    pytest at each import costs the guest more than the whole run costs here."""
    if python != f"python{sys.version_info.major}.{sys.version_info.minor}":
        return
    qemu_user.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *map(str, folders)])


def extract_kernel(deb: Path, image: str, folder: Path) -> str:
    """Copy the kernel image out of Debian's kernel package into ``folder``; its name."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        qemu_user.run(
            [
                "sh",
                "-c",
                'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./boot/$3-*"',
                "sh",
                str(deb),
                scratch,
                image,
            ]
        )
        found = sorted((Path(scratch) / "boot").glob(f"{image}-*"))
        if not found:
            raise SetupError(f"{deb.name} holds no /boot/{image}-*")
        found[0].replace(folder / found[0].name)
        return found[0].name


# -- the initramfs: a newc cpio archive, written here (no cpio(1), no root needed) --------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """One member of the archive: a directory, a regular file, a symlink or a device node."""

    path: str
    """Relative to the guest's /, without a leading slash."""
    mode: int
    data: bytes = b""
    """A file's content, a symlink's target."""
    rdev: tuple[int, int] = (0, 0)
    mtime: int = 0
    """The source's: Python's cached bytecode is valid only beside a source of the same mtime."""


def cpio_member(entry: Entry, inode: int) -> bytes:
    name = entry.path.encode() + b"\0"
    fields = (
        inode,
        entry.mode,
        0,
        0,
        2 if stat.S_ISDIR(entry.mode) else 1,
        entry.mtime,
        len(entry.data),
        0,
        0,
        entry.rdev[0],
        entry.rdev[1],
        len(name),
        0,
    )
    header = b"070701" + b"".join(b"%08X" % field for field in fields)
    head = header + name
    return head + b"\0" * (-len(head) % 4) + entry.data + b"\0" * (-len(entry.data) % 4)


def cpio(entries: Iterable[Entry]) -> bytes:
    """A newc archive of ``entries`` (in order: a folder before what it holds)."""
    parts = [cpio_member(entry, inode) for inode, entry in enumerate(entries, 1)]
    parts.append(cpio_member(Entry("TRAILER!!!", 0), 0))
    return b"".join(parts)


def read_cpio(archive: bytes) -> list[Entry]:
    """The members of a newc archive (for checking what ``cpio`` wrote)."""
    found: list[Entry] = []
    offset = 0
    while True:
        if archive[offset : offset + 6] != b"070701":
            raise ValueError(f"offset {offset}: not a newc header")
        fields = [int(archive[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        start = offset + 110
        name = archive[start : start + namesize - 1].decode()
        data_at = start + namesize + (-(110 + namesize) % 4)
        if name == "TRAILER!!!":
            return found
        found.append(
            Entry(name, fields[1], archive[data_at : data_at + size], (fields[9], fields[10]), fields[5])
        )
        offset = data_at + size + (-size % 4)


def tree(source: Path, prefix: str, skip: Sequence[str] = ("__pycache__",)) -> Iterator[Entry]:
    """``source`` and everything under it as entries under ``prefix``, links kept as links."""
    yield Entry(prefix, stat.S_IFDIR | 0o755)
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        here = Path(folder)
        for name in [*dirs, *sorted(files)]:
            path = here / name
            inside = f"{prefix}/{path.relative_to(source).as_posix()}"
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                yield Entry(inside, stat.S_IFLNK | 0o777, os.readlink(path).encode())
            elif stat.S_ISDIR(info.st_mode):
                yield Entry(inside, stat.S_IFDIR | 0o755)
            elif stat.S_ISREG(info.st_mode):
                mode = stat.S_IFREG | (info.st_mode & 0o777)
                yield Entry(inside, mode, path.read_bytes(), mtime=int(info.st_mtime))
        # Symlinked folders are links above; os.walk does not descend into them.


def sysroot_entries(sysroot: Path) -> Iterator[Entry]:
    """The sysroot's top level as the guest's /: its folders and links (lib -> usr/lib)."""
    for path in sorted(sysroot.iterdir()):
        if path.is_symlink():
            yield Entry(path.name, stat.S_IFLNK | 0o777, os.readlink(path).encode())
        elif path.is_dir():
            yield from tree(path, path.name, skip=())


def initramfs_entries(
    sysroot: Path, python: str, pylib: Path, repo: Path, config: dict[str, object]
) -> Iterator[Entry]:
    """The guest's whole /: Debian's Python (the sysroot), pytest in /pylib, the suite in
    /work, /init (kernel_init.py run by ``python``), its configuration, and /dev/console, which
    the kernel opens for /init before anything is mounted."""
    yield Entry("dev", stat.S_IFDIR | 0o755)
    yield Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    for folder in ("proc", "sys", "tmp", "root"):
        yield Entry(folder, stat.S_IFDIR | (0o1777 if folder == "tmp" else 0o755))
    yield from sysroot_entries(sysroot)
    yield from tree(pylib, "pylib", skip=())
    yield Entry("work", stat.S_IFDIR | 0o755)
    for name in WORK:
        path = repo / name
        if path.is_dir():
            parent = Path(name).parent
            for index in range(len(parent.parts)):
                yield Entry("work/" + "/".join(parent.parts[: index + 1]), stat.S_IFDIR | 0o755)
            yield from tree(path, f"work/{name}")
        else:
            yield Entry(f"work/{name}", stat.S_IFREG | 0o644, path.read_bytes())
    init = f"#!/usr/bin/{python}\n" + (repo / "tools" / "kernel_init.py").read_text(encoding="utf-8")
    yield Entry("init", stat.S_IFREG | 0o755, init.encode())
    yield Entry(
        kernel_init.CONFIG.lstrip("/"), stat.S_IFREG | 0o644, json.dumps(config, sort_keys=True).encode()
    )


# -- reading the results back from the console ---------------------------------------------------


class FrameError(Exception):
    """The console does not carry a whole, intact results file; the message says why."""


@dataclasses.dataclass(frozen=True)
class Framed:
    header: dict[str, object]
    payload: bytes


def parse_console(text: str) -> Framed:
    """The results file the guest framed on its console (kernel_init.frame_lines). Lines
    without the mark (the kernel's, pytest's) are passed over; carriage returns the tty added
    are dropped."""
    mark = kernel_init.MARK + " "
    header: dict[str, object] | None = None
    data: list[str] = []
    ended = False
    for raw in text.splitlines():
        line = raw.strip("\r")
        if not line.startswith(mark):
            continue
        kind, _, rest = line[len(mark) :].partition(" ")
        if kind == "begin":
            try:
                loaded = json.loads(rest)
            except ValueError as error:
                raise FrameError(f"the begin line is not JSON: {error}") from None
            if not isinstance(loaded, dict):
                raise FrameError("the begin line is not a JSON object")
            header, data, ended = loaded, [], False
        elif kind == "data" and header is not None and not ended:
            data.append(rest.strip())
        elif kind == "end" and header is not None:
            ended = True
    if header is None:
        raise FrameError("the guest printed no results (no begin line): see the console log")
    if not ended:
        raise FrameError("the results were cut short (no end line): see the console log")
    try:
        payload = zlib.decompress(base64.b64decode("".join(data), validate=True))
    except (ValueError, zlib.error) as error:
        raise FrameError(f"the results do not decode ({error})") from None
    if len(payload) != header.get("bytes") or hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise FrameError("the results arrived damaged (length or SHA-256 differs from the guest's)")
    return Framed(header, payload)


# -- booting ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    arch: str
    seconds: float
    results: Path | None = None
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    status: int = 0
    problem: str = ""
    skipped: str = ""
    page_size: int = 0
    timing: str = ""
    """How long the guest took to reach /init and to run the suite, as it measured them."""
    kernel: str = ""


def qemu_command(prepared: Prepared, initramfs: Path, console: Path) -> list[str]:
    machine = prepared.machine
    append = f"console={machine.console} panic=-1 loglevel=1 quiet"
    return [
        machine.qemu,
        *machine.options,
        "-m",
        MEMORY,
        "-smp",
        "1",
        "-accel",
        "tcg",
        "-display",
        "none",
        "-monitor",
        "none",
        "-nic",
        "none",
        "-no-reboot",
        "-serial",
        f"file:{console}",
        "-kernel",
        str(prepared.kernel),
        "-initrd",
        str(initramfs),
        "-append",
        append,
    ]


def boot(prepared: Prepared, pytest_args: Sequence[str], results: Path, pylib: Path) -> Outcome:
    machine = prepared.machine
    started = time.monotonic()
    home = prepared.sysroot.parent
    label = f"linux-{machine.arch}-vm"
    config: dict[str, object] = {
        "label": label,
        "pytest_args": list(pytest_args),
        "time_limit": BOOT_TIME_LIMIT - 60,
        "epoch": time.time(),
    }
    initramfs = home / "initramfs.cpio"
    initramfs.write_bytes(cpio(initramfs_entries(prepared.sysroot, prepared.python, pylib, REPO, config)))
    console = home / "console.log"
    console.unlink(missing_ok=True)
    command = qemu_command(prepared, initramfs, console)
    outcome = Outcome(machine.arch, 0.0, kernel=prepared.kernel_name)
    done = processes.run(command, BOOT_TIME_LIMIT, cwd=str(home))
    outcome.seconds = time.monotonic() - started
    text = console.read_text(encoding="utf-8", errors="replace") if console.exists() else ""
    try:
        framed = parse_console(text)
    except FrameError as error:
        how = done.failure() or "powered off"
        outcome.problem = f"{error} (qemu: {how}; console: {console.relative_to(REPO)})"
        outcome.status = 1
        return outcome
    header = framed.header
    status = header.get("status")
    outcome.status = status if isinstance(status, int) else 1
    page = header.get("page_size")
    outcome.page_size = page if isinstance(page, int) else 0
    boot, suite = header.get("boot_seconds"), header.get("seconds")
    if isinstance(boot, (int, float)) and isinstance(suite, (int, float)):
        outcome.timing = f" (booted in {boot:.1f} s, the suite {suite:.1f} s)"
    if not framed.payload:
        outcome.problem = f"the suite wrote no results file (exit status {outcome.status})"
        outcome.status = outcome.status or 1
        return outcome
    try:
        outcome.results, outcome.counts = record(framed.payload, prepared, results)
    except (runs.InputError, Malformed, ValueError) as error:
        outcome.problem = f"the results brought back are not a results file: {error}"
        outcome.status = 1
    return outcome


def record(payload: bytes, prepared: Prepared, results: Path) -> tuple[Path, dict[str, int]]:
    """Write the guest's results, recorded as observed on a virtual machine, to ``results``;
    where they went and their counts."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    machine = prepared.machine
    data["observed_on"] = {
        "by": f"the suite on Debian's own kernel under {machine.qemu} (TCG)",
        "on": "vm",
        "file": prepared.kernel_name,
    }
    arch = str(data.get("run_info", {}).get("arch", machine.arch))
    target = results / f"anonmap-linux-{arch}-vm.json"
    with tempfile.TemporaryDirectory() as scratch:
        check = Path(scratch) / target.name
        check.write_text(json.dumps(data), encoding="utf-8")
        (run,) = runs.read(check)
    written = write_results(target, data)
    counts: dict[str, int] = {}
    for item in run.records:
        counts[item.verdict.value] = counts.get(item.verdict.value, 0) + 1
    return written, dict(sorted(counts.items()))


def children() -> list[int]:
    """The processes this tool started and that still run (Linux's /proc): each leads a process
    group of its own (anonmap.host.processes.run), whatever thread started it."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path("/proc", entry, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(me):
            found.append(int(entry))
    return found


def _stop(signum: int, frame: FrameType | None) -> None:
    """On SIGINT, SIGTERM or SIGHUP: end every guest and download this tool started, with
    their process groups, and exit at once, so no worker thread starts another."""
    for _ in range(2):  # again, for one a worker thread started while the first went
        for group in children():
            processes.kill_group(group)
    print(f"kernels: stopped by {processes.signal_name(signum)}; every guest it started is ended", flush=True)
    os._exit(128 + signum)


def run_one(machine: Machine, pytest_args: Sequence[str], results: Path, pylib: Path) -> Outcome:
    started = time.monotonic()
    try:
        prepared = prepare(machine)
    except SetupError as error:
        return Outcome(
            machine.arch, time.monotonic() - started, skipped=f"could not fetch its packages: {error}"
        )
    return boot(prepared, pytest_args, results, pylib)


def summary(outcome: Outcome) -> str:
    head = f"kernels: {outcome.arch}: "
    if outcome.skipped:
        return head + f"skipped: {outcome.skipped}"
    counts = ", ".join(f"{count} {verdict}" for verdict, count in outcome.counts.items())
    where = f" -> {outcome.results.relative_to(REPO)}" if outcome.results else ""
    page = f", page {outcome.page_size}" if outcome.page_size else ""
    problem = f"; {outcome.problem}" if outcome.problem else ""
    return (
        head
        + f"{outcome.kernel}{page}, {outcome.seconds:.1f} s{outcome.timing}, exit status {outcome.status}: {counts or 'no results'}"
        + where
        + problem
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Run the suite on Debian's kernels for other architectures under qemu-system."
    )
    parser.add_argument(
        "--arch",
        action="append",
        choices=sorted(MACHINES),
        help="Debian architecture (repeatable; default: all)",
    )
    parser.add_argument(
        "--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="guests booted at once"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder the results files go to")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest in each guest")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _stop)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    wanted: list[Machine] = []
    for arch in args.arch or list(MACHINES):
        machine = MACHINES[arch]
        if shutil.which(machine.qemu) is None:
            outcome = Outcome(
                arch,
                0.0,
                skipped=f"no {machine.qemu} on PATH (Debian: apt-get install {_package(machine.qemu)})",
            )
            print(summary(outcome), flush=True)
            outcomes.append(outcome)
        else:
            wanted.append(machine)
    if wanted:
        try:
            pylib = qemu_user.prepare_pylib(CACHE)
        except SetupError as error:
            print(f"kernels: skipped: pytest for the guests could not be fetched: {error}")
            return 0
        # Fetching is network-bound and sequential; booting is CPU-bound, --jobs at once.
        args.results.mkdir(parents=True, exist_ok=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as boots:
            futures = [boots.submit(run_one, m, args.pytest_args, args.results, pylib) for m in wanted]
            for future in futures:
                outcome = future.result()
                print(summary(outcome), flush=True)
                outcomes.append(outcome)
    print(f"kernels: {len(outcomes)} architecture(s) in {time.monotonic() - started:.1f} s")
    return max([o.status for o in outcomes if not o.skipped] or [0])


def _package(qemu: str) -> str:
    return {
        "qemu-system-aarch64": "qemu-system-arm",
        "qemu-system-ppc64": "qemu-system-ppc",
        "qemu-system-s390x": "qemu-system-misc",
        "qemu-system-i386": "qemu-system-x86",
    }[qemu]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
