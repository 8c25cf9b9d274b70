"""Files and paths as the learner meets them: a path shown the way they would type it, and
a file replaced in one step so a crash never leaves half of it.

Kept apart from the test-time modules so the learner's verbs load without pytest."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def display(path: Path) -> str:
    """A path as the user would type it: relative to where they are when possible."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once, keeping the file's permissions (a new file
    gets rw-r--r--, not mkstemp's owner-only mode)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644  # (reading the umask means setting it: not safe beside other threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as stream:
            stream.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
