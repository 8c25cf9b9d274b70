"""The exercise catalogue: one `exercise.toml` per exercise folder, read with tomllib."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = re.compile(r"^(?P<number>\d{2})_(?P<slug>[a-z][a-z0-9_]*)$")
METADATA = "exercise.toml"
MIN_HINTS = 3
MIN_TASKS = 3


# What every task's tests must be walked through (CONTRIBUTING.md, "The checklist"): each kind
# is named in the task's `checklist` table with the tests that cover it, or "n/a: why".
CHECKLIST = {
    "duplicates": "the same input twice is kept twice",
    "falsy": "0, '', None and empty inputs are values, not 'missing'",
    "mutation": "the caller's inputs are left unchanged",
    "call_counts": "every dependency is called exactly as often as it should be, errors too",
    "long_durations": "very long but legal waits work: no hidden fixed limit",
    "state": "nothing outlives a call or an instance",
    "types": "the type the docstring names is the type returned",
    "threads": "loop objects are touched only on the loop's thread",
    "outside_cancellation": "cancelled from outside, it stops its own work and ends cancelled",
    "timing": "each event happens when it should, in loop time",
    "awkward_data": "data that breaks naive handling",
}
NOT_APPLICABLE = "n/a"

Checklist = tuple[tuple[str, tuple[str, ...] | str], ...]


class CatalogError(Exception):
    """An exercise's metadata is missing or malformed."""


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    points: int
    # (kind, the tests that cover it) or (kind, "n/a: why"), in CHECKLIST's order
    checklist: Checklist = ()


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str
    title: str
    concept: str
    tasks: tuple[Task, ...]
    hints: tuple[str, ...]
    folder: Path

    @property
    def name(self) -> str:
        """The folder name, e.g. `03_tasks`."""
        return f"{self.number:02d}_{self.slug}"

    @property
    def module_file(self) -> str:
        """The file the learner edits, relative to the exercise folder."""
        return f"{self.slug}.py"

    @property
    def test_file(self) -> Path:
        return self.folder / f"test_{self.slug}.py"

    @property
    def points(self) -> int:
        return sum(task.points for task in self.tasks)

    def task(self, task_id: int) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)


def _require(data: dict, key: str, kind: type, where: Path) -> object:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CatalogError(f"{where}: `{key}` must be a {kind.__name__}, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise CatalogError(f"{where}: `{key}` is empty")
    return value


def _checklist(raw: dict, where: Path) -> Checklist:
    table = raw.get("checklist", {})
    task = raw.get("id")
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: task {task}: `checklist` must be a table")
    unknown = sorted(set(table) - set(CHECKLIST))
    if unknown:
        raise CatalogError(
            f"{where}: task {task}: unknown checklist kinds {unknown}; "
            f"the kinds are {', '.join(CHECKLIST)}"
        )
    entries = []
    for kind in CHECKLIST:
        if kind not in table:
            continue
        value = table[kind]
        if isinstance(value, str) and value.startswith(NOT_APPLICABLE) and value[3:].strip(": "):
            entries.append((kind, value))
        elif isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            entries.append((kind, tuple(value)))
        else:
            raise CatalogError(
                f"{where}: task {task}: checklist `{kind}` must list the tests that cover it, "
                f'or say "n/a: why", got {value!r}'
            )
    return tuple(entries)


def load_exercise(folder: Path) -> Exercise:
    """Read and validate one exercise folder's metadata."""
    match = FOLDER.match(folder.name)
    if not match:
        raise CatalogError(f"{folder}: exercise folders are named NN_slug, e.g. 03_tasks")
    path = folder / METADATA
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: missing; every exercise needs its metadata") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from None

    number = _require(data, "number", int, path)
    slug = _require(data, "slug", str, path)
    if (number, slug) != (int(match["number"]), match["slug"]):
        raise CatalogError(
            f"{path}: number/slug {number}/{slug!r} do not match the folder name {folder.name}"
        )
    tasks = []
    for raw in data.get("tasks", []):
        task = Task(
            id=_require(raw, "id", int, path),
            title=_require(raw, "title", str, path),
            points=_require(raw, "points", int, path),
            checklist=_checklist(raw, path),
        )
        if task.points <= 0:
            raise CatalogError(f"{path}: task {task.id} must be worth at least one point")
        tasks.append(task)
    ids = [t.id for t in tasks]
    if len(tasks) < MIN_TASKS or ids != list(range(1, len(tasks) + 1)):
        raise CatalogError(f"{path}: needs tasks numbered 1, 2, 3 ... (at least {MIN_TASKS})")
    hints = data.get("hints", [])
    if len(hints) < MIN_HINTS or not all(isinstance(h, str) and h.strip() for h in hints):
        raise CatalogError(f"{path}: needs at least {MIN_HINTS} non-empty hints, nudge first")
    exercise = Exercise(
        number=number,
        slug=slug,
        title=_require(data, "title", str, path),
        concept=_require(data, "concept", str, path),
        tasks=tuple(tasks),
        hints=tuple(h.strip() for h in hints),
        folder=folder,
    )
    # The learner's own file is not metadata: a deleted one fails that exercise's tests (which
    # say how to get the stub back), while every other command keeps working.
    for needed in (exercise.test_file.name, "README.md"):
        if not (folder / needed).is_file():
            raise CatalogError(f"{folder}: missing {needed}")
    return exercise


@cache
def load_catalog(root: Path) -> tuple[Exercise, ...]:
    """Every exercise under `root/exercises`, in number order."""
    base = root / "exercises"
    if not base.is_dir():
        return ()
    # A folder without metadata is an exercise still being written: not in the catalogue yet
    # (the kit's own tests flag any that are committed that way).
    folders = sorted(p for p in base.iterdir() if FOLDER.match(p.name) and (p / METADATA).is_file())
    exercises = tuple(load_exercise(folder) for folder in folders)
    numbers = [e.number for e in exercises]
    if len(set(numbers)) != len(numbers):
        raise CatalogError(f"{base}: two exercises share a number")
    return exercises


def find(root: Path, key: str | int) -> Exercise | None:
    """Look an exercise up by number (3, "03"), folder name, slug, or a path into its folder
    ("exercises/03", "exercises/03_tasks/tasks.py")."""
    text = str(key).strip().replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if "exercises" in parts[:-1]:
        parts = parts[parts.index("exercises") + 1 :]
    text = parts[0] if parts else ""
    for exercise in load_catalog(root):
        if text in (exercise.name, exercise.slug) or (
            text.isdigit() and int(text) == exercise.number
        ):
            return exercise
    return None


def exercise_for_path(root: Path, path: Path) -> Exercise | None:
    """The exercise whose folder holds `path`, if any."""
    base = (root / "exercises").resolve()
    try:
        rel = path.resolve().relative_to(base)
    except ValueError:
        return None
    return find(root, rel.parts[0]) if rel.parts else None
