"""The suite's options: on the command line (--anonmap-NAME) or, the same names with
underscores, in the ini file (anonmap_NAME); the command line wins. Each value is checked the
same way from either place, and a bad one is a usage error saying what is expected.

The plugin is dormant unless the suite is in play: an anonmap option is given, or the ini says
``anonmap_suite = true`` (this project's pyproject.toml does). A project that merely has
anonmap installed sees no probe, no header and no results file.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from anonmap.run import isolate

#: The longest time limit accepted: a limit is there to end a run, so 'inf' is refused.
MAX_TIME_LIMIT = 3600.0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIME_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_TIME_LIMIT:g}, got {text!r}"
        )
    return value


def _directory(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected an existing directory of profiles, got {text!r}")
    return text


def _observations_file(text: str) -> str:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(
            f"expected an observations file the anonmap observer printed (see the porter's recipe, docs/observer.md), got {text!r}"
        )
    return text


def _label(text: str) -> str:
    if not text or not text.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"expected a platform label of letters, digits, '.', '-' and '_' such as 'freebsd-14.3', got {text!r}"
        )
    return text


def _platform_name(text: str) -> str:
    if not text.replace("-", "").replace("_", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"expected a profile name such as 'linux' or 'freebsd', got {text!r}"
        )
    return text


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    metavar: str
    help: str
    check: Callable[[str], object] | None = None


_SPECS = (
    _Spec("results", "PATH", "write the results JSON here; a directory gets anonmap-<os>-<arch>.json"),
    _Spec("platform", "NAME", "use platforms/NAME.toml instead of the one for this os", _platform_name),
    _Spec(
        "profiles", "DIR", "the profiles directory (default: the profiles installed with anonmap)", _directory
    ),
    _Spec(
        "label",
        "NAME",
        "the platform's name in a CI matrix, recorded in the results (anonmap merge --expect matches it)",
        _label,
    ),
    _Spec(
        "emulated-by",
        "MANIFEST",
        "this run emulates another platform (see anonmap.expect.emulation); cases the manifest does not list are reported unsupported",
    ),
    _Spec(
        "observations",
        "FILE",
        "judge the syscall api's cases from this file, which the observer printed on another system; every other case is unsupported",
        _observations_file,
    ),
    _Spec(
        "time-limit",
        "SECONDS",
        f"time limit of one check, and of one compiler or program run (default: {isolate.DEFAULT_TIME_LIMIT:g})",
        _positive_seconds,
    ),
)


def add(parser: pytest.Parser) -> None:
    group = parser.getgroup("anonmap", "anonymous mapping portability suite")
    for spec in _SPECS:
        group.addoption(f"--anonmap-{spec.name}", metavar=spec.metavar, type=spec.check, help=spec.help)
        parser.addini(f"anonmap_{spec.name.replace('-', '_')}", f"{spec.help} (as --anonmap-{spec.name})")
    parser.addini(
        "anonmap_suite",
        "run the anonmap plugin here (else it stays dormant unless an anonmap option is given)",
        type="bool",
        default=False,
    )


@dataclasses.dataclass(frozen=True)
class Options:
    results: str | None
    platform: str | None
    profiles: str | None
    label: str | None
    emulated_by: str | None
    observations: str | None
    time_limit: float


def _value(config: pytest.Config, spec: _Spec) -> object:
    attribute = f"anonmap_{spec.name.replace('-', '_')}"
    given = config.getoption(attribute)
    if given is not None:
        return given
    text = str(config.getini(attribute) or "")
    if not text:
        return None
    try:
        return spec.check(text) if spec.check else text
    except argparse.ArgumentTypeError as error:
        raise pytest.UsageError(f"anonmap: ini option {attribute} = {text!r}: {error}") from error


def read(config: pytest.Config) -> Options | None:
    """The options in force, or None when the plugin is to stay dormant."""
    values = {spec.name.replace("-", "_"): _value(config, spec) for spec in _SPECS}
    if not (config.getini("anonmap_suite") or any(v is not None for v in values.values())):
        return None
    time_limit = values.pop("time_limit")
    return Options(
        **{k: (None if v is None else str(v)) for k, v in values.items()},
        time_limit=float(time_limit) if isinstance(time_limit, float) else isolate.DEFAULT_TIME_LIMIT,
    )
