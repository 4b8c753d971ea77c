"""/init of the initramfs tools/kernels.py boots: runs the suite on the guest's own kernel.

It runs as the first process of a Debian kernel booted under qemu-system, with Debian's Python
for that architecture and nothing else (no shell, no busybox). It mounts what the suite reads
(/proc, /sys, /dev, /tmp), runs pytest over the suite in /work, prints the results file to the
console framed as ``frame_lines`` says (the host reads them back from the serial port), and
powers the machine off. What it needs is in /anonmap-kernels.json, written by the host.

The host prepends the shebang naming the guest's Python. Standard library only, Python 3.10+.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator

#: Every line the host reads starts with this; anything else on the console is the guest's own.
MARK = "@anonmap-kernels"
CONFIG = "/anonmap-kernels.json"
RESULTS = "/tmp/anonmap-results.json"
#: base64 characters a data line carries: short, so a stray kernel message spoils little.
LINE = 76
#: reboot(2)'s magic for LINUX_REBOOT_CMD_POWER_OFF.
POWER_OFF = 0x4321FEDC


def frame_lines(status: int, payload: bytes, info: dict[str, object]) -> Iterator[str]:
    """The lines that carry ``payload`` (the results file) to the host: a header (a JSON object
    with the suite's exit status, the payload's length and SHA-256, and ``info``), the
    zlib-compressed payload in base64, and an end line."""
    header = {
        **info,
        "status": status,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    yield f"{MARK} begin {json.dumps(header, sort_keys=True)}"
    text = base64.b64encode(zlib.compress(payload, 9)).decode("ascii")
    for start in range(0, len(text), LINE):
        yield f"{MARK} data {text[start : start + LINE]}"
    yield f"{MARK} end"


def mount(libc: ctypes.CDLL, fstype: str, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    if libc.mount(fstype.encode(), target.encode(), fstype.encode(), 0, None) != 0:
        error = ctypes.get_errno()
        print(f"{MARK} note mount {fstype} on {target}: {os.strerror(error)}", flush=True)


def run_suite(config: dict[str, object]) -> tuple[int, bytes]:
    """Run pytest over the suite; its exit status and the results file's bytes (or b'')."""
    args = config.get("pytest_args", [])
    label = config.get("label", "")
    limit = config.get("time_limit", 900)
    assert isinstance(args, list) and isinstance(label, str) and isinstance(limit, (int, float))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": "/work/src:/pylib",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": "/tmp",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "-p",
        "no:cacheprovider",
        f"--anonmap-results={RESULTS}",
        f"--anonmap-label={label}",
        *[str(arg) for arg in args],
    ]
    try:
        status = subprocess.run(command, cwd="/work", env=env, timeout=float(limit), check=False).returncode
    except subprocess.TimeoutExpired:
        status = -9
    try:
        with open(RESULTS, "rb") as handle:
            return status, handle.read()
    except OSError:
        return status, b""


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for fstype, target in (("proc", "/proc"), ("sysfs", "/sys"), ("devtmpfs", "/dev"), ("tmpfs", "/tmp")):
        mount(libc, fstype, target)
    with open(CONFIG, encoding="utf-8") as handle:
        config = json.load(handle)
    # The guest has no clock worth reading before this: the host's time at boot.
    epoch = config.get("epoch")
    if isinstance(epoch, (int, float)):
        with contextlib.suppress(OSError):
            time.clock_settime(time.CLOCK_REALTIME, float(epoch))
    # CLOCK_BOOTTIME: seconds since the kernel started, so the host can tell booting from the run.
    booted = time.clock_gettime(time.CLOCK_BOOTTIME)
    started = time.monotonic()
    status, payload = run_suite(config)
    info = {
        "uname": list(os.uname()),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "boot_seconds": round(booted, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    sys.stdout.flush()
    for line in frame_lines(status, payload, info):
        print(line)
    sys.stdout.flush()
    os.sync()
    libc.reboot(POWER_OFF)
    # Still here: returning panics the kernel, and panic=-1 with -no-reboot ends qemu.


if __name__ == "__main__":
    main()
