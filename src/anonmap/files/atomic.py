"""Writing a file so that readers see the old one or the whole new one, never a part.

A regular file (or a path that does not exist yet) gets its new content through a temporary
file beside it, renamed into place. A destination that is not a regular file, such as
/dev/null, /dev/stdout or a FIFO, is written to where it stands: renaming over it would put a
regular file in place of the device, which is what happens to /dev/null when root does it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replaced(path: Path) -> Path | None:
    """The regular file that new content for ``path`` replaces (through a symlink, its target,
    so the link stays a link), or None when ``path`` must be written in place."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return Path(os.path.realpath(path))
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    return Path(os.path.realpath(path)) if stat.S_ISREG(mode) else None


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


class Staged:
    """New content for ``path``, prepared so that putting it in place can hardly fail.

    For a file, the content is already written whole (and synced) to a temporary file beside
    it; ``commit`` renames it into place, ``discard`` removes it. For a device or FIFO, the
    destination is opened now and written on ``commit``. Raises OSError, with nothing left
    behind, when the destination cannot be written.
    """

    def __init__(self, path: Path, content: str | bytes, executable: bool = False) -> None:
        self.path = path
        # Encoding first: text that cannot be encoded fails before anything exists on disk.
        self._data = content.encode("utf-8") if isinstance(content, str) else content
        self._mode = 0o777 if executable else 0o666
        self._handle: int | None = None
        self._rename: tuple[str, Path] | None = None
        """The finished temporary file and the file it replaces."""
        target = _replaced(path)
        if target is None:
            # O_NOCTTY: a terminal given as the output must not become this process's own.
            self._handle = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        else:
            self._rename = (self._write_temporary(target), target)

    def _write_temporary(self, target: Path) -> str:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        try:
            # mkstemp makes the file private; give it the mode an ordinary open() would.
            os.fchmod(handle, self._mode & ~_umask())
            _write_all(handle, self._data)
            os.fsync(handle)
        except BaseException:
            os.unlink(temporary)
            raise
        finally:
            os.close(handle)
        return temporary

    def commit(self) -> None:
        """Put the content in place. Raises OSError when that fails, leaving nothing behind."""
        if self._handle is not None:
            try:
                _write_all(self._handle, self._data)
            finally:
                self.discard()
        elif self._rename is not None:
            try:
                os.replace(*self._rename)
                self._rename = None
            finally:
                self.discard()

    def discard(self) -> None:
        """Drop the content if it was not put in place; harmless after ``commit``."""
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
        if self._rename is not None:
            os.unlink(self._rename[0])
            self._rename = None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (see the module's docstring).

    Raises OSError (with nothing left behind) when the directory or the file cannot be written.
    """
    Staged(path, text).commit()
