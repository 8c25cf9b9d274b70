"""`--by-task`: each exercise's tests grouped under one node per task, for test explorers.

An editor's test explorer (VS Code's, PyCharm's) draws pytest's tree: folder, file, class,
test. Exercise tests are plain functions, so the tree is a flat list of a few dozen tests. With
`--by-task`, every task's tests sit under a class of their own, `task_1`, `task_2` ..., so
the tree reads like the lesson. The tests are the same functions; only their node ids gain
the class (`test_tasks.py::task_1::test_breakfast_returns_a_tuple`). Without the option,
nothing changes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from aiokata import catalog

OPTION = "by_task"
_GROUP = re.compile(r"^task_\d+$")


def group_name(task_id: int) -> str:
    return f"task_{task_id}"


class TaskGroup(pytest.Class):
    """One task's tests: a class made on the fly whose methods are the test functions."""


class TaskGroupedModule(pytest.Module):
    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        collected = list(super().collect())  # also registers the module's fixtures
        exercise = catalog.exercise_for_path(self.config.rootpath, self.path)
        if exercise is None:
            return collected
        by_task: dict[int, dict[str, object]] = {}
        kept: list[pytest.Item | pytest.Collector] = []
        for node in collected:
            marker = node.get_closest_marker("task") if isinstance(node, pytest.Function) else None
            task = exercise.task(marker.args[0]) if marker and marker.args else None
            if task is None:
                kept.append(node)  # the plugin reports a test without a task
                continue
            name = node.originalname
            by_task.setdefault(task.id, {})[name] = staticmethod(getattr(self.obj, name))
        groups = []
        for task_id in sorted(by_task):
            task = exercise.task(task_id)
            methods = by_task[task_id]
            holder = type(
                group_name(task_id),
                (),
                {
                    **methods,
                    "__doc__": f"Task {task_id}: {task.title}",
                    "__module__": self.obj.__name__,
                },
            )
            group = TaskGroup.from_parent(self, name=holder.__name__)
            group._obj = holder  # pytest would look the class up in the module: it is not there
            groups.append(group)
        return [*groups, *kept]


def make_module(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """The collector for an exercise's test file under `--by-task`, else None (pytest's)."""
    config = parent.config
    if not config.getoption(OPTION, False):
        return None
    if catalog.exercise_for_path(config.rootpath, module_path) is None:
        return None
    return TaskGroupedModule.from_parent(parent, path=module_path)


def task_of_each_test(test_file: Path) -> dict[str, int | None]:
    """Test function name -> the N of its `@pytest.mark.task(N)`, read from the source
    (None for a test without one)."""
    tree = ast.parse(test_file.read_text(encoding="utf-8"))
    found: dict[str, int | None] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test_"):
            continue
        found[node.name] = None
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and ast.unparse(decorator.func) == "pytest.mark.task"
                and decorator.args
                and isinstance(decorator.args[0], ast.Constant)
            ):
                found[node.name] = decorator.args[0].value
    return found


def with_group(root: Path, here: Path, arg: str) -> str:
    """`test_tasks.py::test_x` as `test_tasks.py::task_1::test_x` for an exercise's test
    file, so a test named the usual way is found under `--by-task` too."""
    path, sep, rest = arg.partition("::")
    if not sep or _GROUP.match(rest.split("::", 1)[0]):
        return arg
    file = (here / path).resolve()
    exercise = catalog.exercise_for_path(root, file)
    if exercise is None or file != exercise.test_file.resolve():
        return arg
    name = re.split(r"[\[:]", rest, maxsplit=1)[0]
    task = task_of_each_test(file).get(name)
    return f"{path}::{group_name(task)}::{rest}" if task is not None else arg
