"""`aiokata grade --sandbox`: each submission's grading runs under bubblewrap (bwrap).

Inside: no network (only a private loopback), its own PID namespace (when the sandbox ends,
every process in it ends), user `nobody` with no capabilities, a private /tmp, the system and
Python read-only, and of the kit only what the tests need (pyproject.toml, conftest.py,
exercises/, src/), read-only: solutions/, tests/ (whose proofs hold correct answers) and .git
are not there at all. The submission's files are the only other thing mounted.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import aiokata

NOBODY = 65534
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")
KIT_PARTS = ("pyproject.toml", "conftest.py", "exercises", "src")


class SandboxUnavailable(Exception):
    """bwrap is missing or cannot create namespaces here."""


def bwrap() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            "--sandbox needs bubblewrap, and `bwrap` is not on PATH. Install it "
            "(Debian/Ubuntu: `apt-get install bubblewrap`) or grade without --sandbox; "
            "docs/grading.md says what that leaves open."
        )
    return found


def _python_dirs() -> list[Path]:
    dirs = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    dirs.add(Path(sys.executable).resolve().parent.parent)
    return sorted(d for d in dirs if d.is_dir())


def command(kit: Path, scratch: Path, inner: list[str]) -> list[str]:
    """`inner`, run inside a fresh sandbox that sees the kit and `scratch` (the submission's
    copied files and the working folder), read-only."""
    args = [bwrap(), "--unshare-all", "--die-with-parent", "--new-session"]
    args += ["--uid", str(NOBODY), "--gid", str(NOBODY)]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in SYSTEM:
        args += ["--ro-bind-try", path, path]
    for path in _python_dirs():
        args += ["--ro-bind", str(path), str(path)]
    for part in KIT_PARTS:
        args += ["--ro-bind-try", str(kit / part), str(kit / part)]
    # The engine itself, wherever it is installed from (maybe another checkout than `kit`).
    engine = str(Path(aiokata.__file__).resolve().parent)
    args += ["--ro-bind", engine, engine]
    args += ["--ro-bind", str(scratch), str(scratch)]
    args += ["--chdir", str(scratch / "exercises"), "--", *inner]
    return args
