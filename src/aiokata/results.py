"""Per-test and per-task results of exercise tests: a JSON report and a terminal summary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from _pytest.reports import TestReport

from aiokata import bytask, catalog, isolation, messages, stash, targets
from aiokata.files import write_atomically
from aiokata.grading.untrusted import truncate

COLLECTOR = pytest.StashKey["Collector"]()
MESSAGE_LIMIT = 4000
OUTPUT_LIMIT = 4000
REPORT_VERSION = 1


@dataclass
class TestResult:
    nodeid: str
    exercise: str
    task: int
    status: str = "pass"  # pass, fail, error, timeout, skip
    message: str = ""
    output: str = ""
    duration: float = 0.0
    loop_time: float = 0.0  # virtual seconds the test simulated (0 for real-time tests)
    real_time: bool = False  # run in real time (threads, processes), not in loop time


def _rank(status: str) -> int:
    return ["pass", "skip", "fail", "error", "timeout"].index(status)


class Collector:
    """Registered as a plugin by aiokata's pytest_configure."""

    def __init__(self, config: pytest.Config, stream: int | None = None) -> None:
        self.config = config
        self.results: dict[str, TestResult] = {}
        self.ran: set[str] = set()  # the tests that reported: nothing is claimed for others
        # (exercise, task): how many of its tests were left out of this run (-k, a node id)
        self.deselected: dict[tuple[str, int | None], int] = {}
        # Test functions collected or deselected, by exercise: a run given test ids collects
        # only some, and its counts then say nothing of the tests it never saw.
        self.seen: dict[str, set[str]] = {}
        self.stream = stream  # a grader's pipe: each result as soon as its test ends

    def _emit(self, event: str, **data: object) -> None:
        if self.stream is not None:
            isolation.send(self.stream, {"event": event, **data})

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if nodeid in self.results:
            self._emit("start", nodeid=nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        result = self.results.get(nodeid)
        if result is not None:
            self._emit("result", result=asdict(result))

    def pytest_runtest_logreport(self, report: TestReport) -> None:
        result = self.results.get(report.nodeid)
        if result is None:
            return
        self.ran.add(report.nodeid)
        result.duration += report.duration
        properties = dict(report.user_properties)
        result.loop_time += properties.get(messages.LOOP_TIME, 0.0)
        result.real_time = result.real_time or bool(properties.get(messages.REAL_TIME))
        status = "pass"
        if report.skipped:
            status = "skip"
        elif report.failed:
            status = "fail" if report.when == "call" else "error"
            status = properties.get(messages.STATUS, status)
        notes = [text for title, text in report.sections if title == messages.NOTES]
        if _rank(status) > _rank(result.status):
            result.status = status
            text = "\n\n".join([report.longreprtext, *notes])
            result.message = truncate(text, MESSAGE_LIMIT)
        output = "".join(text for title, text in report.sections if title != messages.NOTES)
        if output:
            result.output = truncate(result.output + output, OUTPUT_LIMIT)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            exercise = catalog.exercise_for_path(self.config.rootpath, item.path)
            if exercise is not None:
                marker = item.get_closest_marker("task")
                key = (exercise.name, marker.args[0] if marker and marker.args else None)
                self.deselected[key] = self.deselected.get(key, 0) + 1
                self._saw(exercise.name, item)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            exercise = item.stash.get(stash.EXERCISE, None)
            if exercise is not None:
                task = item.get_closest_marker("task").args[0]
                self.results[item.nodeid] = TestResult(item.nodeid, exercise.name, task)
                self._saw(exercise.name, item)
        self._emit("collected", tests=[asdict(r) for r in self.results.values()])

    def _saw(self, exercise: str, item: pytest.Item) -> None:
        self.seen.setdefault(exercise, set()).add(getattr(item, "originalname", item.name))

    def _partial(self, exercise: catalog.Exercise) -> dict[str, int | None] | None:
        """The task of each test function, when some of them were never collected at all."""
        try:
            marks = bytask.task_of_each_test(exercise.test_file)
        except (OSError, SyntaxError):
            return None
        return marks if set(marks) - self.seen.get(exercise.name, set()) else None

    def by_exercise(self) -> dict[str, list[TestResult]]:
        grouped: dict[str, list[TestResult]] = {}
        for result in self.results.values():
            grouped.setdefault(result.exercise, []).append(result)
        return grouped

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._emit("finished")
        path = self.config.getoption("aiokata_report")
        if not path:
            return
        target = targets.current()
        payload = {
            "version": REPORT_VERSION,
            "target": {"kind": target.kind, "base": str(target.base) if target.base else None},
            "tests": [asdict(r) for r in self.results.values() if r.nodeid in self.ran],
        }
        write_atomically(Path(path), json.dumps(payload, indent=1))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        root = self.config.rootpath
        grouped = self.by_exercise()
        if not grouped or self.config.option.collectonly:
            return
        write = terminalreporter.write_line
        terminalreporter.section("aiokata: progress by task")
        for name, collected in grouped.items():
            exercise = catalog.find(root, name)
            tests = [t for t in collected if t.nodeid in self.ran and t.status != "skip"]
            if exercise is None or not tests:
                continue
            passed_all = all(t.status == "pass" for t in tests)
            marks = self._partial(exercise)
            if marks is not None:
                self._summary_of_part(write, exercise, marks, tests, passed_all)
                continue
            left_out = {t: n for (e, t), n in self.deselected.items() if e == name}
            total = len(collected) + sum(left_out.values())
            done = passed_all and len(tests) == total
            if len(tests) < total:
                verdict = f"{len(tests)} of {total} tests run, " + (
                    "all of them pass" if passed_all else "not yet"
                )
            else:
                verdict = "passes" if done else "not yet"
            # A dash, not a colon: several titles hold a colon of their own.
            write(f"{exercise.number:02d} {exercise.title} — {verdict}")
            for task in exercise.tasks:
                mine = [t for t in tests if t.task == task.id]
                if not mine:
                    continue  # none of its tests ran: nothing to claim
                passed = sum(t.status == "pass" for t in mine)
                whole = sum(t.task == task.id for t in collected) + left_out.get(task.id, 0)
                mark = "ok  " if passed == whole else "todo"
                count = f"{passed}/{whole} tests" + (
                    f", {len(mine)} run" if len(mine) < whole else ""
                )
                write(
                    f"  [{mark}] task {task.id}: {task.title} ({count})",
                    green=mark == "ok  ",
                    red=mark != "ok  " and bool(mine),
                )
            if not done and targets.current().kind == "learner":
                lesson = targets.display(exercise.folder / "README.md")
                write(
                    f"  The lesson: {lesson}; your file: "
                    f"{targets.display(targets.current().module_path(exercise))}"
                )

    def _summary_of_part(self, write, exercise, marks, tests: list[TestResult], passed_all):
        """Only some of the exercise's tests were asked for: say what ran, and call a task
        done or not only when every one of its tests was asked for."""
        one = len(tests) == 1
        verdict = ("it passes" if one else "they all pass") if passed_all else "not yet"
        write(
            f"{exercise.number:02d} {exercise.title} — only {len(tests)} of its tests "
            f"ran: {verdict} (`pytest exercises/{exercise.number:02d}` runs them all)"
        )
        seen = self.seen.get(exercise.name, set())
        for task in exercise.tasks:
            mine = [t for t in tests if t.task == task.id]
            if not mine:
                continue
            passed = sum(t.status == "pass" for t in mine)
            whole = {name for name, n in marks.items() if n == task.id} <= seen and not (
                self.deselected.get((exercise.name, task.id))
            )
            mark = ("ok  " if passed == len(mine) else "todo") if whole else "part"
            count = f"{passed}/{len(mine)} tests" if whole else f"{len(mine)} ran, {passed} passed"
            write(
                f"  [{mark}] task {task.id}: {task.title} ({count})",
                green=mark == "ok  ",
                red=passed < len(mine),
            )
