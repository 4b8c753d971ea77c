"""tools/kernels.py, the runner behind `tox -e kernels`: the initramfs it writes, the framing
that brings the results back over the serial console, its private apt sources, the qemu
command lines, and that a guest past its time limit dies with its process group."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from anonmap.host import processes
from anonmap.host.probe import _x86_cpuinfo
from selftests.helpers import REPO


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_tool", REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kernels = _tool("kernels")
kernel_init = _tool("kernel_init")


def _sysroot(tmp_path: Path) -> Path:
    sysroot = tmp_path / "sysroot"
    (sysroot / "usr" / "bin").mkdir(parents=True)
    (sysroot / "usr" / "lib" / "python3.11").mkdir(parents=True)
    (sysroot / "usr" / "bin" / "python3.11").write_bytes(b"\x7fELF")
    (sysroot / "usr" / "bin" / "python3.11").chmod(0o755)
    (sysroot / "usr" / "lib" / "python3.11" / "os.py").write_text("# os\n")
    (sysroot / "lib").symlink_to("usr/lib")
    return sysroot


def test_the_initramfs_holds_python_the_suite_and_an_init_run_by_the_guests_python(tmp_path: Path) -> None:
    pylib = tmp_path / "pylib"
    (pylib / "pytest").mkdir(parents=True)
    (pylib / "pytest" / "__init__.py").write_text("")
    config = {"label": "linux-arm64-vm", "pytest_args": ["-k", "fd"], "time_limit": 60}
    archive = kernels.cpio(kernels.initramfs_entries(_sysroot(tmp_path), "python3.11", pylib, REPO, config))
    assert len(archive) % 4 == 0
    members = {entry.path: entry for entry in kernels.read_cpio(archive)}
    order = list(members)
    for path in order:
        parent = str(Path(path).parent)
        if parent != ".":
            assert stat.S_ISDIR(members[parent].mode), path
            assert order.index(parent) < order.index(path), f"{path} comes before its folder"
    console = members["dev/console"]
    assert stat.S_ISCHR(console.mode) and console.rdev == (5, 1)
    init = members["init"]
    assert init.mode & 0o111 and init.data.startswith(b"#!/usr/bin/python3.11\n")
    assert stat.S_ISLNK(members["lib"].mode) and members["lib"].data == b"usr/lib"
    assert members["usr/bin/python3.11"].data == b"\x7fELF"
    # Bytecode cached beside a source is used only where the source's mtime is the same.
    source = tmp_path / "sysroot" / "usr" / "lib" / "python3.11" / "os.py"
    assert members["usr/lib/python3.11/os.py"].mtime == int(source.stat().st_mtime) > 0
    assert json.loads(members["anonmap-kernels.json"].data) == config
    for path in (
        "work/src/anonmap/__init__.py",
        "work/conftest.py",
        "work/pyproject.toml",
        "pylib/pytest/__init__.py",
    ):
        assert stat.S_ISREG(members[path].mode), path
    assert "work/platforms/linux.toml" in members
    assert any(path.startswith("work/tests/test_") for path in members)
    assert not any("__pycache__" in path for path in members)


def test_results_framed_on_a_noisy_console_come_back_whole() -> None:
    payload = json.dumps({"records": ["x" * 5000]}).encode()
    lines = list(kernel_init.frame_lines(0, payload, {"page_size": 65536}))
    # The tty turns \n into \r\n; the kernel and pytest print between and around the frame.
    noisy = ["[    1.0] Run /init as init process", "===== 414 passed =====", *lines[:3]]
    noisy += ["[   40.1] random: crng init done", *lines[3:], "[   41.0] reboot: Power down"]
    framed = kernels.parse_console("\r\n".join(noisy) + "\r\n")
    assert framed.payload == payload
    assert framed.header["status"] == 0 and framed.header["page_size"] == 65536


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda lines: lines[:-1], "cut short"),
        (lambda lines: [], "no begin line"),
        (lambda lines: [lines[0], lines[1][:-4], *lines[2:]], "do not decode|damaged"),
        (lambda lines: [lines[0], *lines[2:]], "do not decode|damaged"),
        (lambda lines: [lines[0].replace('"status"', '"status'), *lines[1:]], "not JSON"),
    ],
)
def test_results_that_do_not_arrive_whole_are_refused_with_the_reason(damage: object, why: str) -> None:
    payload = os.urandom(3000).hex().encode()
    lines = list(kernel_init.frame_lines(1, payload, {}))
    assert callable(damage)
    with pytest.raises(kernels.FrameError, match=why):
        kernels.parse_console("\n".join(damage(lines)))


def test_the_private_apt_sources_are_the_hosts_debian_repositories_for_one_architecture(
    tmp_path: Path,
) -> None:
    listed = "\n".join(
        [
            "Debian http://mirror.invalid/debian/ bookworm main",
            "Debian http://mirror.invalid/debian/ bookworm main",
            "Debian http://mirror.invalid/debian-security/ bookworm-security main",
            "NodeSource https://vendor.invalid/node/ nodistro main",
        ]
    )
    sources = kernels.debian_sources("ppc64el", listed)
    assert sources == [
        "deb [arch=ppc64el] http://mirror.invalid/debian/ bookworm main",
        "deb [arch=ppc64el] http://mirror.invalid/debian-security/ bookworm-security main",
    ]
    apt = kernels.Apt(tmp_path / "apt", "ppc64el")
    apt.configure(sources)
    options = apt.options()
    assert "-oAPT::Architectures=ppc64el" in options
    # Nothing of the host's apt state or dpkg's is read or written: every path is its own.
    for option in options:
        if option.startswith("-oDir::"):
            assert option.split("=", 1)[1].startswith(str(tmp_path)), option
    assert (tmp_path / "apt" / "status").read_text() == ""


def test_each_guest_boots_under_tcg_without_network_and_with_its_own_console(tmp_path: Path) -> None:
    for machine in kernels.MACHINES.values():
        prepared = kernels.Prepared(machine, tmp_path / "vmlinuz", "vmlinuz-6.1", tmp_path, "python3.11")
        command = kernels.qemu_command(prepared, tmp_path / "i", tmp_path / "c")
        assert command[0] == machine.qemu
        for option in (
            ["-accel", "tcg"],
            ["-nic", "none"],
            ["-monitor", "none"],
            ["-serial", f"file:{tmp_path / 'c'}"],
        ):
            at = command.index(option[0])
            assert command[at : at + 2] == option
        assert "-no-reboot" in command
        append = command[command.index("-append") + 1]
        assert f"console={machine.console}" in append and "panic=-1" in append
    assert kernels.MACHINES["arm64"].options[-2:] == ("-cpu", "cortex-a57")


def test_a_real_s390x_kernels_cpuinfo_is_not_taken_for_qemu_user() -> None:
    s390x = "vendor_id       : IBM/S390\n# processors    : 1\nbogomips per cpu: 3241.00\n"
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
    assert not _x86_cpuinfo(s390x)
    assert _x86_cpuinfo(x86)
    assert not _x86_cpuinfo("processor\t: 0\nBogoMIPS\t: 125.00\nCPU implementer\t: 0x41\n")


def _qemu(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"unsupported: no {name} on PATH (Debian: apt-get install qemu-system-x86)")
    return found


@pytest.mark.parametrize("arch", sorted(kernels.MACHINES))
def test_the_machine_and_cpu_each_guest_asks_for_exist_in_this_qemu(arch: str) -> None:
    machine = kernels.MACHINES[arch]
    if shutil.which(machine.qemu) is None:
        pytest.skip(
            f"unsupported: no {machine.qemu} on PATH (Debian: apt-get install {kernels._package(machine.qemu)})"
        )
    options = dict(zip(machine.options[::2], machine.options[1::2], strict=True))
    machines = processes.run([machine.qemu, "-machine", "help"], 30)
    assert machines.ok, machines.failure()
    assert options["-M"].split(",")[0] in machines.stdout.split()
    if "-cpu" in options:
        cpus = processes.run([machine.qemu, "-cpu", "help"], 30)
        assert cpus.ok and options["-cpu"] in cpus.stdout


def test_a_guest_past_its_time_limit_dies_with_its_process_group(tmp_path: Path) -> None:
    qemu = _qemu("qemu-system-i386")
    pidfile = tmp_path / "qemu.pid"
    # -S: a machine that never starts its CPU, as a guest that hangs.
    command = [qemu, "-M", "pc", "-accel", "tcg", "-display", "none", "-monitor", "none", "-nic", "none"]
    started = time.monotonic()
    done = processes.run([*command, "-S", "-pidfile", str(pidfile)], 3.0)
    assert done.timed_out and time.monotonic() - started < 30
    pid = int(pidfile.read_text()) if pidfile.exists() else 0
    if pid:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="unsupported: children() reads Linux's /proc"
)
def test_a_signal_finds_every_process_group_the_tool_started() -> None:
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert child.pid in kernels.children()
        processes.kill_group(child.pid)
        child.wait(10)
        assert child.pid not in kernels.children()
    finally:
        child.kill()
        child.wait()
