"""Where the learner stands, from real test results, cached by the content of their files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from aiokata import catalog, runner
from aiokata.files import display
from aiokata.state import ExerciseRecord, State

STUBS = Path(__file__).resolve().parent / "stubs"


class ProgressError(Exception):
    """The tests could not be run at all (not a failing test: a broken setup)."""


def learner_file(exercise: catalog.Exercise) -> Path:
    return exercise.folder / exercise.module_file


def pristine_stub(exercise: catalog.Exercise) -> Path:
    """The untouched stub, kept in the package so `reset` can always restore it."""
    return STUBS / exercise.name / exercise.module_file


def solution_file(kit: Path, exercise: catalog.Exercise) -> Path:
    return kit / "solutions" / exercise.name / exercise.module_file


def untouched(exercise: catalog.Exercise) -> bool:
    try:
        return learner_file(exercise).read_bytes() == pristine_stub(exercise).read_bytes()
    except FileNotFoundError:
        return False


def digest(exercise: catalog.Exercise) -> str:
    """Changes whenever the learner's file or the exercise's tests or metadata change."""
    sha = hashlib.sha256()
    for file in (learner_file(exercise), exercise.test_file, exercise.folder / catalog.METADATA):
        sha.update(file.name.encode())
        sha.update(file.read_bytes() if file.exists() else b"<missing>")
    return sha.hexdigest()


@dataclass
class Standing:
    exercise: catalog.Exercise
    record: ExerciseRecord | None  # None: untouched stub, nothing run
    started: bool

    @property
    def done(self) -> bool:
        return self.record is not None and self.record.done

    @property
    def missing(self) -> bool:
        return not learner_file(self.exercise).exists()

    @property
    def label(self) -> str:
        if self.done:
            return "passes"
        if self.missing:
            return f"file missing: aiokata reset {self.exercise.number:02d}"
        if not self.started:
            return "not started"
        passed = len(self.record.tasks_passed) if self.record else 0
        return f"in progress, {passed}/{len(self.exercise.tasks)} tasks pass"


def record_from(exercise: catalog.Exercise, tests: list[dict], file_digest: str) -> ExerciseRecord:
    passed_tasks = [
        task.id
        for task in exercise.tasks
        if (mine := [t for t in tests if t["task"] == task.id])
        and all(t["status"] == "pass" for t in mine)
    ]
    failures = [t for t in tests if t["status"] != "pass"]
    return ExerciseRecord(
        digest=file_digest,
        tasks_passed=passed_tasks,
        tasks_total=len(exercise.tasks),
        tests_passed=sum(t["status"] == "pass" for t in tests),
        tests_total=len(tests),
        first_failure=failures[0]["message"] if failures else "",
        first_failure_test=failures[0]["nodeid"] if failures else "",
    )


def refresh(
    kit: Path, exercises: list[catalog.Exercise], state: State, force: bool = False
) -> list[Standing]:
    """Standings for `exercises`, running the tests of those whose files changed."""
    fresh = {e.name for e in exercises if untouched(e)}
    digests: dict[str, str] = {}  # taken before the run, so a save during it is seen next time
    stale = []
    for exercise in exercises:
        if exercise.name in fresh:
            state.results.pop(exercise.name, None)
            continue
        record = state.results.get(exercise.name)
        digests[exercise.name] = digest(exercise)
        if force or record is None or record.digest != digests[exercise.name]:
            stale.append(exercise)
    if stale:
        code, tests, output = runner.run_exercises(kit, [e.name for e in stale])
        if not tests and code not in (0, 1):
            tail = "\n".join(output.strip().splitlines()[-5:])
            raise ProgressError(f"the tests could not run (pytest exit code {code}):\n{tail}")
        for exercise in stale:
            mine = [t for t in tests if t["exercise"] == exercise.name]
            record = record_from(exercise, mine, digests[exercise.name])
            state.results[exercise.name] = record
            if record.done:
                state.solved.add(exercise.name)
    return [
        Standing(e, state.results.get(e.name), True)
        if e.name not in fresh
        else Standing(e, None, False)
        for e in exercises
    ]


def backup_folder(kit: Path, exercise: catalog.Exercise) -> Path:
    return kit / ".aiokata" / "backups" / exercise.name


class BackupError(Exception):
    """The learner's file could not be copied aside; nothing was changed."""


_BACKUP_NAME = re.compile(r"-(?P<stamp>\d{8}T\d{6})(?:-(?P<counter>\d+))?\.py$")


def backup(kit: Path, exercise: catalog.Exercise) -> Path:
    """Copy the learner's file aside under a timestamped name; returns the copy's path.

    The copy is written under a temporary name, read back and compared before it gets its
    backup name, so a backup that exists is complete: a full disk leaves no half-made one.
    A file identical to the newest backup is not copied again: that backup is returned."""
    data = learner_file(exercise).read_bytes()
    folder = backup_folder(kit, exercise)
    saved = backups(kit, exercise)
    if saved:
        with contextlib.suppress(OSError):
            if saved[-1].read_bytes() == data:
                return saved[-1]
    stem = Path(exercise.module_file).stem
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stem}-{stamp}.py"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{stem}-{stamp}-{counter}.py"
    partial = folder / f".{target.name}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if hashlib.sha256(partial.read_bytes()).digest() != hashlib.sha256(data).digest():
            raise OSError("the copy read back differs from your file")
        os.replace(partial, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BackupError(
            f"could not back up {display(learner_file(exercise))} to {folder} "
            f"({exc.strerror or exc}); nothing was changed"
        ) from None
    return target


def _backup_order(path: Path) -> tuple[str, int]:
    match = _BACKUP_NAME.search(path.name)
    return (match["stamp"], int(match["counter"] or 1)) if match else ("", 0)


def backups(kit: Path, exercise: catalog.Exercise) -> list[Path]:
    """The learner's backups of `exercise`, oldest first (by the time in their names: a
    copy keeps its source's modification time, so mtimes say nothing about the order)."""
    folder = backup_folder(kit, exercise)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.py"), key=_backup_order)


def usable_backup(kit: Path, exercise: catalog.Exercise) -> tuple[Path | None, list[Path]]:
    """The newest backup worth restoring, and the newer ones skipped (empty or unreadable)."""
    skipped = []
    for path in reversed(backups(kit, exercise)):
        try:
            if path.read_bytes().strip():
                return path, skipped
        except OSError:
            pass
        skipped.append(path)
    return None, skipped
