"""Proof results (and the suite's grading runs) kept between runs, keyed by all they depend on.

A proof's results are a function of the candidate file, its exercise (tests, metadata,
solution), the engine and configuration, the Python and the installed packages. The key
hashes all of those, so editing one exercise re-proves only that exercise, and editing the
engine re-proves everything. Only results whose proof held are kept: a failing proof always
runs again. A clean checkout (CI) has no cache and proves everything. The kit's suite keeps
its two long grading runs the same way (`KeptRuns`, keyed by `kept_key`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

FOLDER = Path(".aiokata") / "proof-cache"
RUNS = Path(".aiokata") / "kept-runs"
ENGINE = ("src/aiokata", "conftest.py", "exercises/conftest.py", "pyproject.toml")


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.relative_to(root).parts
    )


def _digest(kit: Path, paths: list[Path], extra: str = "") -> str:
    hasher = hashlib.sha256(extra.encode())
    for path in paths:
        hasher.update(str(path.relative_to(kit) if path.is_relative_to(kit) else path).encode())
        hasher.update(b"\0")
        hasher.update(path.read_bytes())
        hasher.update(b"\0")
    return hasher.hexdigest()


def engine_key(kit: Path) -> str:
    packages = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata
    )
    own = ("stubs", "templates")  # each exercise's stub is part of its own key
    files = [
        f
        for name in ENGINE
        for f in _files(kit / name)
        if not (name == "src/aiokata" and f.relative_to(kit / name).parts[0] in own)
    ]
    return _digest(kit, files, sys.version + "\n" + "\n".join(packages))


def kept_key(kit: Path, names: tuple[str, ...], extra: str = "") -> str:
    """A key for results that depend on the engine and on these files or folders of the kit
    (stubs and templates included when named), with `extra` for anything else they read."""
    files = [f for name in names for f in _files(kit / name)]
    return _digest(kit, files, engine_key(kit) + "\n" + extra)


class KeptRuns:
    """JSON values on disk, one file per key; a missing or damaged one reads as None."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> object | None:
        try:
            return json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # the run is simply made again

    def put(self, key: str, value: object) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(value), encoding="utf-8")
        scratch.replace(path)  # whole or not at all, even with two runs at once


class ProofCache:
    """Results on disk under KIT/.aiokata/proof-cache, one JSON file per key."""

    def __init__(self, kit: Path, folder: Path | None = None) -> None:
        self.kit = kit
        self._kept = KeptRuns(folder or kit / FOLDER)
        self.folder = self._kept.folder
        self._engine = engine_key(kit)
        self._exercises: dict[str, str] = {}

    def key(self, exercise: str, candidate: Path) -> str:
        if exercise not in self._exercises:
            files = [
                f
                for folder in ("exercises", "solutions", "src/aiokata/stubs")
                for f in _files(self.kit / folder / exercise)
            ]
            self._exercises[exercise] = _digest(self.kit, files)
        return _digest(self.kit, [candidate], self._engine + self._exercises[exercise])

    def get(self, key: str) -> list[dict] | None:
        tests = self._kept.get(key)
        return tests if isinstance(tests, list) and tests else None

    def put(self, key: str, tests: list[dict]) -> None:
        self._kept.put(key, tests)
