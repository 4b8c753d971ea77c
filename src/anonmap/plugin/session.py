"""A run's state: what the probe found, the profile it is judged against, and where its
results go, set up once per process before the first case (``start``)."""

from __future__ import annotations

import dataclasses
import datetime
import os
import resource
import signal
import tempfile
from pathlib import Path
from types import FrameType

import pytest

from anonmap.apis import registry
from anonmap.apis.flags import Flags
from anonmap.apis.syscall import build as observer
from anonmap.apis.syscall.observations import Observations, ObservationsError, load
from anonmap.expect import catalogue
from anonmap.expect.emulation import Emulation, load_emulation
from anonmap.expect.profiles import Profile, ProfileError, find_profile
from anonmap.host import headers, headroom, installation
from anonmap.host.probe import RunInfo, probe
from anonmap.plugin.options import Options
from anonmap.results.records import Record
from anonmap.run import reaping


@dataclasses.dataclass
class State:
    run_info: RunInfo
    profile: Profile | None
    profile_shown: str
    """The profile's path as the results and messages show it: relative to the rootdir."""
    root: Path
    """The rootdir, which the paths of profiles and shared facts are shown relative to."""
    emulation: Emulation | None
    flags: Flags
    time_limit: float
    results_path: Path | None
    """Where this process writes the results: None when it writes none (an xdist worker)."""
    started_at: str
    label: str | None = None
    observations: Observations | None = None
    """What the observer saw on another system, when this run judges that instead of here."""
    notes: list[str] = dataclasses.field(default_factory=list)
    """Lines the header adds about how this run had to adapt to its environment."""
    records: dict[str, Record] = dataclasses.field(default_factory=dict)
    """By test id: the last report of a test (a teardown error after a pass) is what counts."""

    def shown(self, path: Path | None) -> str:
        """A profile's or shared facts file's path as results show it."""
        return self.profile_shown if path is None else _shown(path, self.root)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a CI timeout, kill) ends the run the way Ctrl-C does: the running check's
    # process group is killed on the way out, and the results say the run was interrupted.
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _serial_if_threads_refused(config: pytest.Config) -> str:
    """xdist's controller needs threads to talk to its workers; where a limit refuses them
    (RLIMIT_AS, RLIMIT_NPROC) the run goes on serially instead of dying before the first case.
    Runs before xdist's own pytest_configure (trylast), which reads the option."""
    if getattr(config.option, "dist", "no") == "no" or hasattr(config, "workerinput"):
        return ""
    # execnet runs a few threads per worker gateway in the controller.
    workers = len(getattr(config.option, "tx", None) or []) or 2
    refused = headroom.threads_refused(3 * workers + 2)
    if not refused:
        return ""
    config.option.dist = "no"
    config.option.numprocesses = 0
    config.option.tx = []
    return (
        f"anonmap: this process cannot start threads ({refused}): no xdist workers; the checks run serially"
    )


def _arm_interrupts(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(config, "workerinput"):
        # An xdist worker goes when its controller goes, taking its check with it.
        reaping.die_with_parent()


def start(config: pytest.Config, options: Options) -> State:
    """Probe, choose the profile, check the results path: everything a run needs first."""
    _arm_interrupts(config)
    try:
        catalogue.behaviours()
    except catalogue.CatalogueError as error:
        raise pytest.UsageError(f"anonmap: invalid catalogue\n{error}") from error
    unregistered = registry.unregistered(catalogue.apis())
    if unregistered:
        raise pytest.UsageError(f"anonmap: invalid catalogue\n{unregistered}")
    if not hasattr(config, "workerinput"):
        _check_memory()
    serial_note = _serial_if_threads_refused(config)
    found = _observations(options.observations)
    info = probe() if found is None else found.run_info()
    directory = Path(options.profiles) if options.profiles else installation.profiles()
    manifest = options.emulated_by
    try:
        emulation = load_emulation(Path(manifest)) if manifest else None
        platform = emulation.platform if emulation else options.platform
        profile = find_profile(directory, info, platform)
    except ProfileError as error:
        raise pytest.UsageError(f"anonmap: invalid profile or emulation manifest\n{error}") from error
    documented = (
        {} if profile is None else {name: c.value for name, c in profile.constant_values(info).items()}
    )
    # This machine's own header, where the run is of this platform: a name it defines is asked
    # of the kernel even where the profile leaves it out. Another platform's run (an emulation,
    # --anonmap-platform, an observations file) has no header here, and xdist's controller,
    # which runs no check, does not ask.
    controller = getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")
    header = (
        headers.mman_values(info.compilers, info.arch, observer.profile_constants(), options.time_limit)
        if found is None and platform is None and not controller
        else {}
    )
    flags = Flags(documented, header)
    # xdist's controller writes the results; its workers only send it their records.
    results = None if hasattr(config, "workerinput") else options.results
    results_path = _results_path(results, info) if results else None
    if results_path is not None:
        _check_writable(results_path)
    return State(
        run_info=info,
        profile=profile,
        profile_shown=_shown(profile.path, config.rootpath) if profile else "",
        root=config.rootpath,
        emulation=emulation,
        flags=flags,
        time_limit=options.time_limit,
        results_path=results_path,
        started_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        label=options.label,
        observations=found,
        notes=[serial_note] if serial_note else [],
    )


def _observations(option: str | None) -> Observations | None:
    if option is None:
        return None
    try:
        return load(Path(option))
    except ObservationsError as error:
        raise pytest.UsageError(f"anonmap: --anonmap-observations: {error}") from error


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _results_path(option: str, info: RunInfo) -> Path:
    path = Path(option)
    if option.endswith(("/", os.sep)) or path.is_dir():
        return path / f"anonmap-{info.os}-{info.arch}.json"
    return path


def _limit(which: int) -> str:
    soft = resource.getrlimit(which)[0]
    return "unlimited" if soft == resource.RLIM_INFINITY else f"{soft >> 20} MiB"


def _check_memory() -> None:
    """Refuse to start a run that would die of a MemoryError part of the way through, its
    results unwritten (xdist's workers start like this process, under the same limits)."""
    no_room = headroom.no_room_to_run()
    if no_room:
        raise pytest.UsageError(
            f"anonmap: this process has too little memory left for a run: {no_room}; "
            f"RLIMIT_AS is {_limit(resource.RLIMIT_AS)}, RLIMIT_DATA {_limit(resource.RLIMIT_DATA)}"
        )


#: The least RLIMIT_FSIZE a results file needs room for (a full run writes a few hundred KB).
MIN_FILE_SIZE_LIMIT = 16 << 20


def _check_writable(path: Path) -> None:
    """Refuse to start a run whose results could not be written at its end."""
    file_size_limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    regular = path.is_file() or not path.exists()
    if regular and file_size_limit != resource.RLIM_INFINITY and file_size_limit < MIN_FILE_SIZE_LIMIT:
        raise pytest.UsageError(
            f"anonmap: --anonmap-results={path}: RLIMIT_FSIZE is {file_size_limit} bytes, too small "
            f"for the results file (at least {MIN_FILE_SIZE_LIMIT >> 20} MiB; or write them to a pipe)"
        )
    if path.exists() and not path.is_file():
        if path.is_dir():
            raise pytest.UsageError(
                f"anonmap: --anonmap-results={path}: is a directory; end it with '/' to write into it"
            )
        if not os.access(path, os.W_OK):
            raise pytest.UsageError(f"anonmap: --anonmap-results={path}: cannot be written")
        return  # a device or FIFO is written to in place (see anonmap.files.atomic)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, probe_file = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
        os.close(handle)
        os.unlink(probe_file)
    except OSError as error:
        raise pytest.UsageError(
            f"anonmap: --anonmap-results={path}: cannot be written: {error.strerror or error}"
        ) from error


def profile_line(state: State) -> str:
    """The header line saying which profile judges this run, and how."""
    if state.observations is not None:
        where = state.observations.observed_on()
        return (
            f"anonmap: OBSERVATIONS from {where['file']} ({where['by']}, on: {where['on']}) judged against "
            f"{state.profile.name if state.profile else 'no profile'}; cases the observer does not make are unsupported"
        )
    if state.emulation is not None and state.profile is not None:
        return (
            f"anonmap: EMULATED {state.profile.name} on {state.run_info.os} by persona "
            f"{state.emulation.name} ({state.profile_shown}); cases it does not emulate are unsupported"
        )
    if state.profile is None:
        return f"anonmap: NO PROFILE for os {state.run_info.os!r}: every case will be recorded unprofiled"
    if state.profile.name != state.run_info.os:
        return (
            f"anonmap: PROFILE OVERRIDE: this {state.run_info.os} run is judged against {state.profile.name} "
            f"({state.profile_shown}); the results say so"
        )
    return f"anonmap: profile {state.profile.name} ({state.profile_shown})"
