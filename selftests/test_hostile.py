"""The suite in hostile environments: every class a user meets (tiny resource limits, an
unprivileged user, a broken toolchain, a minimal /dev, a sandbox's seccomp policy) gives zero
deviations and zero harness errors; each case the environment affects is unsupported with a
reason naming the cause; the run ends within a bound, leaves no process, and its results are
complete. A class this machine cannot set up is skipped with the reason.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import dataclasses
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anonmap import suite
from selftests.helpers import REPO, ZEROS_OVER_DEV_ZERO, captured, in_private_mounts, seccomp_launcher

LINUX = platform.system() == "Linux"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534
_PR_SET_NO_NEW_PRIVS = 38


@dataclasses.dataclass(frozen=True)
class Hostile:
    """One hostile environment, and what it must make of the cases it affects."""

    causes: tuple[str, ...]
    """Words one of which every unsupported case's reason must contain."""
    affects: Callable[[dict[str, Any]], bool] = lambda record: False
    """Cases that must come out unsupported (beyond those no environment runs here)."""
    rlimits: tuple[tuple[int, int], ...] = ()
    user: int | None = None
    umask: int | None = None
    no_new_privs: bool = False
    fd_100: bool = False
    fake_cc: str = ""
    """A shell body for a `cc` placed first on PATH."""
    namespace: str = ""
    """Commands run as root in a private mount namespace before the suite (unshare -m)."""
    launcher: tuple[str, ...] = ()
    wrapper: tuple[str, ...] = ()
    """A command the suite runs under (unshare --user ...)."""
    pids_max: int = 0
    """Run in a cgroup v1 pids controller group with this many tasks at most."""
    workers: str = "0"
    results_to_pipe: bool = False
    """Write the results to a pipe (RLIMIT_FSIZE does not limit one), not a regular file."""
    needs: str = ""
    """Why this class cannot be set up here ('' when it can)."""


def _is_c(record: dict[str, Any]) -> bool:
    return str(record["behaviour"]).startswith("c-")


def _compiler(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda record: record["params"].get("compiler") == name


def _uses_dev_zero(record: dict[str, Any]) -> bool:
    params = record["params"]
    return bool(
        record["behaviour"] == "dev-zero"
        or params.get("fd") == "dev-zero"
        or params.get("source") == "dev-zero"
        or params.get("method") == "dev-zero"
    )


def _nobody_can_run_python() -> str:
    """Why user nobody cannot run this Python here ('' when it can)."""
    if not ROOT:
        return "unsupported: needs root to switch to user nobody"
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-c",
            "import anonmap, pytest",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"unsupported: user nobody cannot run {sys.executable} with anonmap here ({last})"
    return ""


_NOT_ROOT = _nobody_can_run_python() if shutil.which("setpriv") else "unsupported: no setpriv to switch users"
_NO_UNSHARE = (
    ""
    if ROOT and shutil.which("unshare") and shutil.which("mount")
    else "unsupported: needs root, unshare and mount"
)
_OLD_DEV = "/run/anonmap-old-dev"
# Mode 755 as devtmpfs has it: a sticky, world-writable /dev (tmpfs's default) refuses root an
# O_CREAT open of a device node it does not own (fs/namei.c may_create_in_sticky()).
_MINIMAL_DEV = (
    f"mkdir -p {_OLD_DEV} && mount --rbind /dev {_OLD_DEV} && mount -t tmpfs -o mode=755 tmpfs /dev && "
    "mkdir /dev/shm /dev/pts && "
    f"for n in null urandom random; do touch /dev/$n && mount --bind {_OLD_DEV}/$n /dev/$n; done && "
    f"umount -l {_OLD_DEV}"
)


def _bound_over_dev_zero(device: str) -> str:
    return f"mount --bind /dev/{device} /dev/zero"


_PIDS_CGROUP = Path("/sys/fs/cgroup/pids")
_NO_PIDS_CGROUP = (
    ""
    if ROOT and (_PIDS_CGROUP / "cgroup.procs").exists()
    else "unsupported: no writable cgroup v1 pids controller"
)
_NO_USERNS = "" if shutil.which("unshare") else "unsupported: no unshare"


def _shared_anonymous_mmap(record: dict[str, Any]) -> bool:
    """The cases whose mmap asks for shared anonymous memory; libc and CPython refuse an
    unaligned offset themselves, before any system call."""
    params = record["params"]
    return (
        params.get("sharing") == "shared"
        and params.get("source", "anonymous") == "anonymous"
        and params.get("offset") != "unaligned"
        and record["behaviour"] != "dev-zero"
        and params.get("fd") in (None, "-1")
    )


CLASSES: dict[str, Hostile] = {
    "rlimit-data-40M": Hostile(
        ("c-compiler", "timed out", "could not start", "killed by", "fork", "RLIMIT_DATA is"),
        rlimits=((resource.RLIMIT_DATA, 40 << 20),),
    ),
    "rlimit-as-600M": Hostile(
        ("c-compiler", "could not start", "killed by", "cannot build", "fork", "RLIMIT_AS is"),
        rlimits=((resource.RLIMIT_AS, 600 << 20),),
    ),
    # Exactly the size of the 1 GiB reservation cases: the process's own mappings leave them no room.
    "rlimit-as-1G": Hostile(
        ("c-compiler", "could not start", "killed by", "cannot build", "fork", "RLIMIT_AS is"),
        affects=lambda record: record["behaviour"] == "reservations",
        rlimits=((resource.RLIMIT_AS, 1 << 30),),
    ),
    "rlimit-as-80M-xdist": Hostile(
        (
            "c-compiler",
            "could not start",
            "killed by",
            "cannot build",
            "cannot tell its target",
            "fork",
            "RLIMIT_AS is",
        ),
        rlimits=((resource.RLIMIT_AS, 80 << 20),),
        workers="2",
    ),
    "rlimit-nofile-64": Hostile(
        ("descriptor 100", "RLIMIT_NOFILE"),
        affects=lambda r: r["params"].get("fd") in {"regular-file", "dev-zero", "closed"},
        rlimits=((resource.RLIMIT_NOFILE, 64),),
    ),
    "inherited-fd-100": Hostile(("-",), fd_100=True),
    "rlimit-fsize-4k": Hostile(
        ("cannot build", "killed by", "no regular temporary file", "could not start"),
        affects=_is_c,
        rlimits=((resource.RLIMIT_FSIZE, 4096),),
        results_to_pipe=True,
    ),
    "umask-777": Hostile(("cannot build", "does not run", "could not start"), umask=0o777),
    "no-new-privs": Hostile(("-",), no_new_privs=True),
    "nobody-nproc-2": Hostile(
        ("fork inside the check", "could not start", "cannot build", "fork"),
        user=NOBODY,
        rlimits=((resource.RLIMIT_NPROC, 2),),
        needs=_NOT_ROOT,
    ),
    "nobody-read-only-tree": Hostile(("-", "c-compiler", "cannot build"), user=NOBODY, needs=_NOT_ROOT),
    "cc-that-hangs": Hostile(("timed out",), affects=_compiler("cc"), fake_cc="sleep 3600"),
    # gcc's driver when cc1 runs out of memory (libiberty xmalloc_failed()) building the observer
    # alone: the machine's doing, so every syscall case is unsupported, none an error.
    "cc-out-of-memory": Hostile(
        ("ran out of what the environment allows",),
        affects=lambda record: record["params"].get("api") == "syscall",
        fake_cc='case "$*" in *observer.c*) echo "cc1: out of memory allocating 65536 bytes after a total '
        'of 1048576 bytes" >&2; exit 1;; esac; exec gcc "$@"',
    ),
    "cc-that-fails": Hostile(
        ("cannot build", "exit status"), affects=_compiler("cc"), fake_cc="echo 'cc: broken' >&2; exit 1"
    ),
    "no-usr-include": Hostile(
        ("cannot build",), affects=_is_c, namespace="mount -t tmpfs tmpfs /usr/include", needs=_NO_UNSHARE
    ),
    "no-dev-zero": Hostile(("dev-zero",), affects=_uses_dev_zero, namespace=_MINIMAL_DEV, needs=_NO_UNSHARE),
    "dev-null-as-dev-zero": Hostile(
        ("dev-zero",), affects=_uses_dev_zero, namespace=_bound_over_dev_zero("null"), needs=_NO_UNSHARE
    ),
    "dev-full-as-dev-zero": Hostile(
        ("dev-zero",), affects=_uses_dev_zero, namespace=_bound_over_dev_zero("full"), needs=_NO_UNSHARE
    ),
    # A regular file of zeros reads as /dev/zero does: only its being a file tells it apart.
    "file-as-dev-zero": Hostile(
        ("dev-zero",),
        affects=_uses_dev_zero,
        namespace=ZEROS_OVER_DEV_ZERO,
        needs=_NO_UNSHARE,
    ),
    "dev-urandom-as-dev-zero": Hostile(
        ("dev-zero",), affects=_uses_dev_zero, namespace=_bound_over_dev_zero("urandom"), needs=_NO_UNSHARE
    ),
    "seccomp-eperm-shared-anonymous": Hostile(
        ("seccomp",),
        affects=_shared_anonymous_mmap,
        launcher=tuple(seccomp_launcher("shared-anonymous-eperm")),
    ),
    "seccomp-kill-shared-anonymous": Hostile(
        ("seccomp",),
        affects=_shared_anonymous_mmap,
        launcher=tuple(seccomp_launcher("shared-anonymous-kill")),
    ),
    "user-namespace": Hostile(("-",), wrapper=("unshare", "--user", "--map-root-user"), needs=_NO_USERNS),
    "pids-cgroup-8": Hostile(
        ("fork inside the check", "could not start", "cannot build", "cannot tell its target", "fork"),
        pids_max=8,
        needs=_NO_PIDS_CGROUP,
    ),
    # Two tasks: pytest and a check's child; the checks' own forks and the compilers' are refused.
    "pids-cgroup-2": Hostile(
        ("fork inside the check", "could not start", "cannot build", "cannot tell its target", "fork"),
        affects=lambda r: r["behaviour"] in {"shared-anonymous", "inheritance"},
        pids_max=2,
        needs=_NO_PIDS_CGROUP,
    ),
    "seccomp-eperm-shared-anonymous-xdist": Hostile(
        ("seccomp",), launcher=tuple(seccomp_launcher("shared-anonymous-eperm")), workers="2"
    ),
    "nobody-nproc-2-xdist": Hostile(
        ("fork inside the check", "could not start", "cannot build", "fork"),
        user=NOBODY,
        rlimits=((resource.RLIMIT_NPROC, 2),),
        workers="2",
        needs=_NOT_ROOT,
    ),
}


def _marked(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclasses.dataclass
class _Outcome:
    returncode: int
    output: str
    results: dict[str, Any] | None
    elapsed: float
    survivors: list[int]


def _environment(hostile: Hostile, tmp_path: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env[token] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if hostile.fake_cc:
        fake = tmp_path / "fake-bin"
        fake.mkdir()
        (fake / "cc").write_text(f"#!/bin/sh\n{hostile.fake_cc}\n")
        (fake / "cc").chmod(0o755)
        env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    if hostile.user is not None:
        env["HOME"] = str(tmp_path / "out")
    return env


def _command(hostile: Hostile, results: str) -> list[str]:
    args = [f"--anonmap-results={results}", "-n", hostile.workers, "--anonmap-time-limit=5"]
    command = [*hostile.wrapper, *suite.command(args, hostile.launcher)]
    if not hostile.namespace:
        return command
    wrapper = f'{hostile.namespace} && exec "$0" "$@"'
    return in_private_mounts(wrapper, *command)


def _setup(hostile: Hostile, cgroup: Path | None) -> Callable[[], None]:
    """What the suite's process does to itself before it execs (preexec_fn)."""

    def setup() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        if hostile.no_new_privs:
            ctypes.CDLL(None).prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if hostile.umask is not None:
            os.umask(hostile.umask)
        if hostile.user is not None:
            os.setgroups([])
            os.setgid(hostile.user)
            os.setuid(hostile.user)
        for which, limit in hostile.rlimits:
            resource.setrlimit(which, (limit, limit))

    return setup


class _PipeReader:
    """A pipe the suite writes its results to, drained by a thread as it writes."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._drain)
        self.thread.start()

    def _drain(self) -> None:
        while chunk := os.read(self.read_end, 1 << 16):
            self.chunks.append(chunk)

    def finish(self) -> bytes:
        os.close(self.write_end)
        self.thread.join(timeout=30)
        os.close(self.read_end)
        return b"".join(self.chunks)


def _run(hostile: Hostile, tmp_path: Path) -> _Outcome:
    out = tmp_path / "out"
    out.mkdir()
    if hostile.user is not None:
        for path in (tmp_path, out):
            os.chown(path, hostile.user, hostile.user)
    results = out / "results.json"
    token = f"ANONMAP_HOSTILE_{uuid.uuid4().hex}"
    pipe = _PipeReader() if hostile.results_to_pipe else None
    passed = [pipe.write_end] if pipe else []
    if hostile.fd_100:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 100)
        os.close(null)
        passed.append(100)
    cgroup = None
    if hostile.pids_max:
        cgroup = _PIDS_CGROUP / token
        cgroup.mkdir()
        (cgroup / "pids.max").write_text(str(hostile.pids_max))
    started = time.monotonic()
    try:
        done = subprocess.run(
            _command(hostile, f"/dev/fd/{pipe.write_end}" if pipe else str(results)),
            cwd=REPO,
            env=_environment(hostile, tmp_path, token),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            preexec_fn=_setup(hostile, cgroup),
            pass_fds=passed,
        )
    finally:
        if hostile.fd_100:
            os.close(100)
        if pipe:
            results.write_bytes(pipe.finish())
    elapsed = time.monotonic() - started
    time.sleep(0.2)
    survivors = _marked(token)
    for pid in survivors:
        os.kill(pid, 9)
    if cgroup is not None:
        cgroup.rmdir()
    data = json.loads(results.read_text()) if results.exists() and results.stat().st_size else None
    return _Outcome(done.returncode, done.stdout + done.stderr, data, elapsed, survivors)


@pytest.mark.skipif(not LINUX, reason="unsupported: these environments are set up with Linux's tools")
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_a_hostile_environment_gives_no_deviation_no_error_and_no_orphan(name: str, tmp_path: Path) -> None:
    hostile = CLASSES[name]
    if hostile.needs:
        pytest.skip(hostile.needs)
    if hostile.launcher and not (REPO / "selftests").is_dir():
        pytest.skip("unsupported: no launcher")
    run = _run(hostile, tmp_path)
    output, data = run.output, run.results
    assert run.survivors == [], f"{name}: processes outlived the run\n{output}"
    assert run.elapsed < 180, f"{name}: took {run.elapsed:.0f} s\n{output}"
    assert data is not None, f"{name}: no results file\n{output}"
    assert data["complete"] is True, f"{name}: {data.get('incomplete_reason')}\n{output}"
    records = data["records"]
    verdicts = {r["verdict"] for r in records}
    assert verdicts <= {"pass", "unsupported"}, (
        f"{name}: {[(r['behaviour'], r['case'], r['verdict'], r['detail'][:200]) for r in records if r['verdict'] not in ('pass', 'unsupported')]}"
    )
    absent = {n for n, p in data["run_info"]["compilers"].items() if not p}
    for record in records:
        if record["verdict"] != "unsupported" or record["params"].get("compiler") in absent:
            continue
        assert any(cause in record["detail"] for cause in hostile.causes), (
            f"{name}: {record['behaviour']}[{record['case']}] unsupported for another reason: {record['detail']}"
        )
    affected = [r for r in records if hostile.affects(r) and r["params"].get("compiler") not in absent]
    assert all(r["verdict"] == "unsupported" for r in affected), (
        f"{name}: {[(r['case'], r['verdict']) for r in affected if r['verdict'] != 'unsupported']}"
    )
    assert run.returncode == 0, f"{name}: exit {run.returncode}\n{output}"


def _suite_under(which: int, limit: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    """The suite, run with one resource limit set (soft and hard) to ``limit``."""

    def setup() -> None:
        resource.setrlimit(which, (limit, limit))

    return captured(suite.command(args), REPO, preexec_fn=setup)


def test_a_file_size_limit_too_small_for_the_results_stops_the_run_before_any_case(tmp_path: Path) -> None:
    done = _suite_under(resource.RLIMIT_FSIZE, 4096, [f"--anonmap-results={tmp_path / 'r.json'}"])
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "RLIMIT_FSIZE is 4096 bytes" in done.stdout + done.stderr
    assert not (tmp_path / "r.json").exists()


def _size_after_imports() -> int:
    """This Python's address space once pytest, xdist and the plugin are imported (bytes)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pytest, xdist, anonmap.plugin\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmPeak')))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout) << 10


def _limited_run(limit: int, tmp_path: Path) -> str:
    """What a whole run under RLIMIT_AS ``limit`` came to, in a word and the reason for it."""
    results = tmp_path / f"as-{limit >> 20}M.json"
    done = _suite_under(
        resource.RLIMIT_AS, limit, [f"--anonmap-results={results}", "-n", "2", "-v", "--anonmap-time-limit=5"]
    )
    output = done.stdout + done.stderr
    if results.exists():
        data = json.loads(results.read_text())
        verdicts = {r["verdict"] for r in data["records"]}
        if data["complete"] and verdicts <= {"pass", "unsupported"} and done.returncode == 0:
            return "complete"
        return f"broken: exit {done.returncode}, complete {data['complete']}, verdicts {sorted(verdicts)}"
    if done.returncode == pytest.ExitCode.USAGE_ERROR and "too little memory left for a run" in output:
        return "refused"
    if not any(word in output for word in ("PASSED", "SKIPPED", "FAILED", "ERROR tests")):
        return "not started"  # Python itself could not get as far as the plugin
    return f"broken: exit {done.returncode}, no results: {output[-600:]}"


@pytest.mark.skipif(not LINUX, reason="unsupported: reads the address space's size in /proc")
def test_every_small_address_space_limit_gives_a_whole_run_or_a_refusal_never_a_death_part_way(
    tmp_path: Path,
) -> None:
    # In 4 MiB steps from where Python has only just imported pytest: where the limit falls
    # against 8 MiB thread stacks once decided between a hang, a segfault and a complete run.
    start = _size_after_imports() >> 20
    limits = [(start + step) << 20 for step in range(0, 33, 4)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(
            zip(limits, pool.map(lambda limit: _limited_run(limit, tmp_path), limits), strict=True)
        )
    shown = "\n".join(f"RLIMIT_AS {limit >> 20} MiB: {outcome}" for limit, outcome in outcomes.items())
    assert not any(o.startswith("broken") for o in outcomes.values()), shown
    assert "refused" in outcomes.values(), f"no limit in the sweep was refused\n{shown}"
    assert "complete" in outcomes.values(), f"no limit in the sweep let a run complete\n{shown}"
    last = list(outcomes.values()).index("complete")
    assert all(o == "complete" for o in list(outcomes.values())[last:]), shown


@pytest.mark.skipif(bool(_NO_UNSHARE), reason=_NO_UNSHARE or "-")
def test_results_given_as_a_device_are_written_to_it_never_replacing_it(tmp_path: Path) -> None:
    # In a private mount namespace with a /dev of its own, so the real /dev/null is never at risk.
    run = " ".join(suite.command(["--anonmap-results=/dev/null", "-n", "0", "-k", "zero_fill"]))
    script = f"{_MINIMAL_DEV} && cd {REPO} && {run} >/dev/null 2>&1; test -c /dev/null && echo still-a-device"
    done = captured(in_private_mounts(script), REPO)
    assert "still-a-device" in done.stdout, done.stdout + done.stderr
