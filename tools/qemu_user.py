"""Run the suite under qemu-user for another Linux ABI, with Debian's Python for that architecture.

    python tools/qemu_user.py --arch mips64el [-- PYTEST-ARGS...]

It needs Debian's qemu-user (qemu-<arch> on PATH) and apt. The first run adds the foreign
architecture to dpkg (as root), downloads python3.X-minimal and its libraries for it with
`apt-get download`, and unpacks them into .qemu-user/<arch>/sysroot; pytest (pure Python) goes
to .qemu-user/pylib. The suite then runs from src/ under `qemu-<arch> -L sysroot`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# tox -e qemu-user installs nothing: the package's stdlib-only modules are read from the tree.
sys.path.insert(0, str(REPO / "src"))
from anonmap.host import processes  # noqa: E402

CACHE = REPO / ".qemu-user"
#: Debian architecture -> qemu-user binary suffix.
ARCHES = {
    "mips64el": "mips64el",
    "s390x": "s390x",
    "arm64": "aarch64",
    "ppc64el": "ppc64le",
    "riscv64": "riscv64",
}
#: What Debian's python3.X-minimal needs at run time for the suite (ctypes needs libffi).
LIBRARIES = ["libc6", "libffi8", "zlib1g", "libexpat1", "libgcc-s1"]


class SetupError(Exception):
    pass


#: apt-get download of a handful of packages, dpkg-deb unpacking one: minutes at most.
SETUP_TIME_LIMIT = 600.0
#: The whole suite under emulation of another architecture: about a minute here.
SUITE_TIME_LIMIT = 1800.0


def run(command: list[str], cwd: Path | None = None) -> str:
    done = processes.run(command, SETUP_TIME_LIMIT, cwd=None if cwd is None else str(cwd))
    if not done.ok:
        raise SetupError(f"{' '.join(command)} failed ({done.failure()}):\n{done.stderr.strip()}")
    return done.stdout


def ensure_foreign_architecture(arch: str) -> None:
    if arch in run(["dpkg", "--print-foreign-architectures"]).split():
        return
    if os.geteuid() != 0:
        raise SetupError(
            f"dpkg does not know {arch}: as root run 'dpkg --add-architecture {arch} && apt-get update'"
        )
    run(["dpkg", "--add-architecture", arch])
    run(["apt-get", "update"])


def python_package(arch: str, apt_cache: Sequence[str] = ("apt-cache",)) -> str:
    """The python3.X-minimal package Debian's python3-minimal depends on for ``arch`` (asking
    ``apt_cache``: the host's apt, or one with a private configuration)."""
    depends = run([*apt_cache, "depends", f"python3-minimal:{arch}"])
    found = re.search(r"Depends: (python3\.\d+-minimal)", depends)
    if found is None:
        raise SetupError(f"apt-cache knows no python3-minimal for {arch}")
    return found.group(1)


def merge_usr(sysroot: Path) -> None:
    """Make /lib and /lib64 links into /usr as on a merged-/usr Debian, so the guest's loader
    finds every library under the paths it searches, and make absolute links relative, so
    they resolve inside the sysroot rather than on the host."""
    for name in ("lib", "lib64"):
        top = sysroot / name
        if top.is_dir() and not top.is_symlink():
            shutil.copytree(top, sysroot / "usr" / name, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(top)
            top.symlink_to(Path("usr") / name)
    for link in [p for p in sysroot.rglob("*") if p.is_symlink()]:
        target = os.readlink(link)
        if target.startswith("/"):
            link.unlink()
            link.symlink_to(os.path.relpath(sysroot / target.lstrip("/"), link.parent))


def prepare_sysroot(arch: str) -> tuple[Path, str]:
    """The unpacked sysroot for ``arch`` and the guest Python's name (python3.X)."""
    ensure_foreign_architecture(arch)
    package = python_package(arch)
    python = package.removesuffix("-minimal")
    sysroot = CACHE / arch / "sysroot"
    if (sysroot / "usr" / "bin" / python).exists():
        return sysroot, python
    debs = CACHE / arch / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", *(f"{name}:{arch}" for name in python_packages(package))], cwd=debs)
    unpack(sorted(debs.glob("*.deb")), sysroot)
    return sysroot, python


def python_packages(package: str) -> list[str]:
    """The packages of a sysroot that runs the suite, given python3.X-minimal's name."""
    python = package.removesuffix("-minimal")
    return [package, f"lib{package}", f"lib{python}-stdlib", *LIBRARIES]


def unpack(debs: Sequence[Path], sysroot: Path) -> None:
    """Unpack ``debs`` into ``sysroot`` with merged /usr, whole or not at all."""
    staging = sysroot.with_name(f"{sysroot.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    for deb in debs:
        run(["dpkg-deb", "-x", str(deb), str(staging)])
    merge_usr(staging)
    staging.replace(sysroot)


def prepare_pylib(cache: Path = CACHE) -> Path:
    """pytest and what it needs (pure Python) under ``cache``/pylib, for a foreign Python."""
    pylib = cache / "pylib"
    if not (pylib / "pytest").exists():
        run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(pylib), "pytest"])
    return pylib


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the suite under qemu-user for another Linux ABI.")
    parser.add_argument("--arch", required=True, choices=sorted(ARCHES), help="Debian architecture")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    qemu = shutil.which(f"qemu-{ARCHES[args.arch]}")
    if qemu is None:
        print(f"qemu_user: no qemu-{ARCHES[args.arch]} on PATH: install Debian's qemu-user", file=sys.stderr)
        return 2
    try:
        sysroot, python = prepare_sysroot(args.arch)
        pylib = prepare_pylib()
    except SetupError as error:
        print(f"qemu_user: {error}", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(pylib)]))
    command = [
        qemu,
        "-L",
        str(sysroot),
        str(sysroot / "usr" / "bin" / python),
        "-m",
        "pytest",
        "tests",
        "-p",
        "no:cacheprovider",
        "--anonmap-results=results/",
        *args.pytest_args,
    ]
    done = processes.run(command, SUITE_TIME_LIMIT, cwd=str(REPO), env=env, capture=False)
    if done.timed_out or done.start_error:
        print(f"qemu_user.py: the suite {done.failure()}", file=sys.stderr)
        return 1
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
