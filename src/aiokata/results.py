"""Per-test and per-task results of exercise tests: a JSON report and a terminal summary."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from _pytest.reports import TestReport

from aiokata import catalog, isolation, messages, targets

COLLECTOR = pytest.StashKey["Collector"]()
MESSAGE_LIMIT = 4000
OUTPUT_LIMIT = 4000
REPORT_VERSION = 1


def truncate(text: str, limit: int) -> str:
    return (
        text
        if len(text) <= limit
        else text[:limit] + f"\n... ({len(text) - limit} more characters cut)"
    )


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


def _rank(status: str) -> int:
    return ["pass", "skip", "fail", "error", "timeout"].index(status)


class Collector:
    """Registered as a plugin by aiokata's pytest_configure."""

    def __init__(self, config: pytest.Config, stream: int | None = None) -> None:
        self.config = config
        self.results: dict[str, TestResult] = {}
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
        result.duration += report.duration
        properties = dict(report.user_properties)
        result.loop_time += properties.get(messages.LOOP_TIME, 0.0)
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

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from aiokata.plugin import EXERCISE

        for item in session.items:
            exercise = item.stash.get(EXERCISE, None)
            if exercise is not None:
                task = item.get_closest_marker("task").args[0]
                self.results[item.nodeid] = TestResult(item.nodeid, exercise.name, task)
        self._emit("collected", tests=[asdict(r) for r in self.results.values()])

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
            "tests": [asdict(r) for r in self.results.values()],
        }
        write_atomically(Path(path), json.dumps(payload, indent=1))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        root = self.config.rootpath
        grouped = self.by_exercise()
        if not grouped:
            return
        write = terminalreporter.write_line
        terminalreporter.section("aiokata: progress by task")
        for name, tests in grouped.items():
            exercise = catalog.find(root, name)
            if exercise is None:
                continue
            ran = [t for t in tests if t.status != "skip"]
            done = all(t.status == "pass" for t in ran) and ran
            write(f"{exercise.number:02d} {exercise.title}: {'done' if done else 'not yet'}")
            for task in exercise.tasks:
                mine = [t for t in tests if t.task == task.id]
                if not mine:
                    continue  # deselected in this run
                passed = sum(t.status == "pass" for t in mine)
                mark = "ok  " if mine and passed == len(mine) else "todo"
                write(
                    f"  [{mark}] task {task.id}: {task.title} ({passed}/{len(mine)} tests)",
                    green=mark == "ok  ",
                    red=mark != "ok  " and bool(mine),
                )
            if not done and targets.current().kind == "learner":
                lesson = targets.display(exercise.folder / "README.md")
                write(
                    f"  The lesson: {lesson}; your file: "
                    f"{targets.display(targets.current().module_path(exercise))}"
                )


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
