"""A picture of a report page, taken by a headless Chromium where one is installed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from anonmap.host import processes

_NAMES = ("chromium", "chromium-browser", "google-chrome")
# No sync, no component updates, no background networking: nothing leaves the machine.
_QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find() -> str | None:
    return next((path for path in map(shutil.which, _NAMES) if path), None)


def _command(browser: str, profile: str, width: int, height: int) -> list[str]:
    return [browser, *_QUIET, f"--user-data-dir={profile}", f"--window-size={width},{height}"]


def dump_dom(browser: str, url: str, width: int, height: int) -> str:
    """The document at ``url`` (a file:// URL, with any query and fragment) once its scripts
    have run, in a ``width`` x ``height`` window: what a test reads a filter's effect from."""
    with tempfile.TemporaryDirectory(prefix="anonmap-browser-") as profile:
        done = processes.run([*_command(browser, profile, width, height), "--dump-dom", url], 120)
    return done.stdout


def screenshot(browser: str, page: Path, picture: Path, width: int, height: int) -> None:
    """Render ``page`` in a ``width`` x ``height`` window and save it as the PNG ``picture``."""
    with tempfile.TemporaryDirectory(prefix="anonmap-browser-") as profile:
        # Chromium forks a zygote and renderers: its whole group goes at the limit.
        processes.run(
            [*_command(browser, profile, width, height), f"--screenshot={picture}", page.as_uri()], 120
        )
