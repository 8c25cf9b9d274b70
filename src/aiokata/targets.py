"""Which code the exercise tests run against, and how it is imported.

The tests never import the learner's file directly: they hold an `ExerciseModule`, which
imports the current target's file on first use. That keeps collection safe (a learner file
that hangs or exits while imported cannot stop the run) and lets one test file serve the
stub, the reference solutions and any submission without copying anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
import linecache
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType

from aiokata import catalog, isolation
from aiokata.files import display


@dataclass(frozen=True)
class Target:
    kind: str  # "learner", "solutions" or "submission"
    base: Path | None  # folder holding NN_slug folders; None means the kit's own exercises/

    def module_path(self, exercise: catalog.Exercise) -> Path:
        base = self.base if self.base is not None else exercise.folder.parent
        return base / exercise.name / exercise.module_file

    def describe(self, root: Path) -> str:
        match self.kind:
            case "learner":
                return "your code in exercises/"
            case "solutions":
                return "the reference solutions in solutions/"
            case _:
                return f"the submission in {display(self.base or root)}"


LEARNER = Target("learner", None)
_current: Target = LEARNER
# For a graded submission: each exercise's file as handed in (its sha256, or ABSENT), so that
# a file rewritten while grading (by another exercise's code) is never graded as the student's.
ABSENT = "absent"
_handed_in: dict[str, str] = {}


def expect_handed_in(digests: dict[str, str]) -> None:
    _handed_in.clear()
    _handed_in.update(digests)


def _check_handed_in(exercise: catalog.Exercise, source: bytes | None, shown: str) -> None:
    expected = _handed_in.get(exercise.name)
    if expected is None:
        return
    found = ABSENT if source is None else hashlib.sha256(source).hexdigest()
    if found != expected:
        what = "appeared" if expected == ABSENT else "changed"
        _fail(
            f"{shown} {what} while the submission was being graded: it is not the file that "
            "was handed in. Code in this submission rewrote it (perhaps another exercise's "
            "code, or one of this exercise's own tests), so none of its tests can count."
        )


def submission_base(folder: Path) -> Path:
    """A submission is laid out like exercises/, or is a repo root that holds one."""
    nested = folder / "exercises"
    return nested if nested.is_dir() else folder


def set_current(target: Target) -> None:
    global _current
    _current = target


def current() -> Target:
    return _current


def line_at(filename: str, lineno: int) -> str:
    """`line 12 of exercises/03_tasks/tasks.py (`await x`)`: a line as the learner sees it."""
    code = linecache.getline(filename, lineno).strip()
    return f"line {lineno} of {display(Path(filename))}" + (f" (`{code}`)" if code else "")


def module_name(exercise: catalog.Exercise) -> str:
    # A prefixed name: never shadows the standard library or a dependency.
    return f"aiokata_target_{exercise.name}"


def _fail(message: str) -> None:
    # Imported here: the grader's parent reads ABSENT and never needs pytest.
    import pytest

    pytest.fail(message, pytrace=False)


# Target files compiled once in the parent, so each test's forked child need not compile its
# own; keyed by the source itself, so an edited file is compiled afresh.
_compiled: dict[tuple[str, bytes], CodeType] = {}


def precompile(path: Path) -> None:
    """Compile `path` ahead of the forks; anything unusual (a syntax error, a warning) is left
    for the child to meet and report as it always does."""
    try:
        source = path.read_bytes()
        if (str(path), source) in _compiled:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _compiled[(str(path), source)] = compile(source, str(path), "exec")
    except (Exception, Warning):
        return


def import_target(path: Path, exercise: catalog.Exercise) -> ModuleType:
    """Import a target file under a private name, turning every way it can break into a
    one-paragraph failure that names the file."""
    shown = display(path)
    name = module_name(exercise)
    if name in sys.modules:
        return sys.modules[name]
    try:
        source = path.read_bytes()  # compiled as bytes: a BOM or coding line works as in Python
    except FileNotFoundError:
        _check_handed_in(exercise, None, shown)
        if current().kind == "submission":
            _fail(f"{shown} is not in the submission, so none of this exercise's tests can pass.")
        if current().kind == "learner":
            _fail(
                f"{shown} is missing: `aiokata reset {exercise.number:02d}` puts the stub back "
                f"(`aiokata restore {exercise.number:02d}` your latest backup, if you have one)."
            )
        _fail(f"{shown} does not exist, so none of this exercise's tests can run.")
    except IsADirectoryError:
        _fail(f"{shown} is a folder, not a Python file: put the exercise's code in a file there.")
    except OSError as exc:
        _fail(f"{shown} could not be read: {exc}")
    _check_handed_in(exercise, source, shown)
    try:
        code = _compiled.get((str(path), source)) or compile(source, str(path), "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "somewhere"
        text = (exc.text or "").rstrip("\n")
        pointer = ""
        if text and exc.offset:
            stripped = text.lstrip()
            pointer = "\n    " + " " * max(exc.offset - 1 - (len(text) - len(stripped)), 0) + "^"
            text = stripped
        _fail(
            f"{shown} has a syntax error on {where}: {exc.msg}\n    {text}{pointer}\n"
            "Python cannot run any of the file until it is fixed."
        )
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    isolation.note("importing", path=str(path))
    try:
        exec(code, module.__dict__)  # the code compiled above: compiling twice is slow
    except BaseException as exc:
        del sys.modules[name]
        from _pytest.outcomes import Failed

        if isinstance(exc, Failed):
            raise
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
        _fail(
            f"{shown} raised {type(exc).__name__} while being imported{where}: {exc}\n"
            "Code at the top level of the file runs as soon as the tests import it; "
            "keep the work inside functions."
        )
    isolation.note("imported", path=str(path))
    return module


class ExerciseModule:
    """Stands for the target's module in a test file: `tasks = exercise_module(__file__)`."""

    def __init__(self, test_file: str | Path) -> None:
        self._test_file = Path(test_file).resolve()
        self._exercise: catalog.Exercise | None = None

    @property
    def exercise(self) -> catalog.Exercise:
        if self._exercise is None:
            root = self._test_file.parents[2]
            found = catalog.exercise_for_path(root, self._test_file)
            if found is None:
                raise RuntimeError(f"{self._test_file} is not inside an exercise folder")
            self._exercise = found
        return self._exercise

    @property
    def path(self) -> Path:
        return current().module_path(self.exercise)

    def load(self) -> ModuleType:
        return import_target(self.path, self.exercise)

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        module = self.load()
        try:
            return getattr(module, name)
        except AttributeError:
            _fail(
                f"{display(self.path)} has no `{name}`. The tests call it by that name; "
                "did you rename or delete it? The untouched stub defines it."
            )
            raise  # unreachable: pytest.fail raises

    def __repr__(self) -> str:
        return f"<exercise module {self.exercise.name} ({current().kind})>"


def exercise_module(test_file: str | Path) -> ExerciseModule:
    """The module under test for the exercise whose test file is `test_file`."""
    return ExerciseModule(test_file)
