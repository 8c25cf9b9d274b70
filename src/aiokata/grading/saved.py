"""Grades read back from files, for `aiokata report`: the output of `aiokata grade --format
json`, a grade saved in `--results` (`{"key": ..., "grade": ...}`), or a folder of those.

A file that is not one of these, or whose grades do not have the schema's fields and types,
is refused with a `GradesFileError` naming the file and what is wrong, in one line.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

from aiokata.grading.model import SCHEMA_VERSION, STATUSES, SubmissionGrade

EXPECTED = (
    "expected the output of `aiokata grade --format json` or a grade saved in its --results folder"
)


class GradesFileError(Exception):
    """A grades file that cannot be used; the message is one line for the user."""


def load(paths: list[Path]) -> list[SubmissionGrade]:
    """Every submission in `paths`, in the order given (a folder's files by name). A
    submission met twice (the same folder, by path) keeps its last grade, in its first place."""
    found: dict[str, SubmissionGrade] = {}
    for path in paths:
        for grade in _read_path(path):
            found[grade.path or grade.name] = grade
    return list(found.values())


def _read_path(path: Path) -> list[SubmissionGrade]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if not p.name.startswith("."))
        if not files:
            raise GradesFileError(f"{path}: holds no grades (*.json); {EXPECTED}")
        grades = [g for file in files for g in _read_file(file)]
        return sorted(grades, key=lambda g: g.name)  # file names are mangled: sort by name
    return _read_file(path)


def _read_file(path: Path) -> list[SubmissionGrade]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradesFileError(f"{path}: no such file or folder") from None
    except UnicodeDecodeError:
        raise GradesFileError(f"{path}: not a grades file (not UTF-8 text); {EXPECTED}") from None
    except OSError as exc:
        raise GradesFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise GradesFileError(f"{path}: not valid JSON ({where}); {EXPECTED}") from None
    if isinstance(data, dict) and "submissions" in data:
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise GradesFileError(
                f"{path}: grades of schema {schema!r}; this aiokata reads schema {SCHEMA_VERSION}"
            )
        raws = data["submissions"]
        if not isinstance(raws, list):
            raise GradesFileError(f"{path}: 'submissions' is not a list; {EXPECTED}")
    elif isinstance(data, dict) and isinstance(data.get("grade"), dict):
        raws = [data["grade"]]
    else:
        raise GradesFileError(f"{path}: not a grades file; {EXPECTED}")
    grades = []
    for number, raw in enumerate(raws, 1):
        try:
            grades.append(_grade(raw))
        except (KeyError, TypeError, ValueError) as exc:
            which = f"submission {number}" if len(raws) > 1 else "its grade"
            raise GradesFileError(f"{path}: {which} is malformed ({_why(exc)})") from None
    return grades


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    return str(exc).split("\n")[0]


def _grade(raw: object) -> SubmissionGrade:
    if not isinstance(raw, dict):
        raise TypeError("a submission is not a JSON object")
    grade = SubmissionGrade.from_dict(raw)
    _check(grade)
    for exercise in grade.exercises:  # the page (and every format) knows only these
        named = [(exercise.name, exercise.status)]
        named += [(f"{exercise.name} task {t.id}", t.status) for t in exercise.tasks]
        named += [(t.name, t.status) for t in exercise.tests()]
        for what, status in named:
            if status not in STATUSES:
                raise ValueError(f"{what} has status {status!r}")
    return grade


def _check(value: object) -> None:
    """Every field of the grade's dataclasses holds the type its annotation names: JSON that
    parses can still hold a number where a name goes, and the report would fail later."""
    hints = typing.get_type_hints(type(value))
    for item in dataclasses.fields(value):  # type: ignore[arg-type]
        _check_value(getattr(value, item.name), hints[item.name], item.name)


def _check_value(value: object, hint: object, name: str) -> None:
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"{name!r} is not a list")
        (inner,) = typing.get_args(hint)
        for element in value:
            _check_value(element, inner, name)
        return
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise TypeError(f"{name!r} is not an object")
        _check(value)
        return
    wanted: tuple[type, ...] = {float: (int, float)}.get(hint, (hint,))  # type: ignore[arg-type]
    if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
        raise TypeError(f"{name!r} is {type(value).__name__}, not {_name(hint)}")


def _name(hint: object) -> str:
    return getattr(hint, "__name__", str(hint))
