"""What a grade is made of: tests, tasks, exercises and submissions, and how points add up.

A task's points are earned when every one of its tests passes. The JSON form of these classes
(`to_dict` / `from_dict`) is the documented schema of `aiokata grade --format json`
(docs/grading.md); bump SCHEMA_VERSION when it changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aiokata import catalog
from aiokata.grading.untrusted import truncate

SCHEMA_VERSION = 1
STATUSES = ("pass", "fail", "error", "timeout")
MESSAGE_LIMIT = 2000  # characters of a failure message kept per test
OUTPUT_LIMIT = 2000  # characters of the learner's printed output kept per test


def worst(statuses: list[str]) -> str:
    """pass < fail < error < timeout: a group is as bad as its worst member."""
    return max(statuses, key=STATUSES.index, default="pass")


@dataclass
class TestGrade:
    __test__ = False  # not a test class, whatever pytest guesses from the name

    name: str  # the test function, e.g. test_fetch_all_runs_at_once
    nodeid: str
    task: int
    status: str  # pass, fail, error or timeout
    message: str = ""
    output: str = ""
    duration: float = 0.0

    @classmethod
    def from_result(cls, result: dict) -> TestGrade:
        """From a worker's per-test result (results.TestResult as a dict)."""
        status = result.get("status", "error")
        return cls(
            name=result["nodeid"].rpartition("::")[2],
            nodeid=result["nodeid"],
            task=int(result["task"]),
            status=status if status in STATUSES else "error",
            message=truncate(result.get("message", ""), MESSAGE_LIMIT),
            output=truncate(result.get("output", ""), OUTPUT_LIMIT),
            duration=round(float(result.get("duration", 0.0)), 3),
        )


@dataclass
class TaskGrade:
    id: int
    title: str
    max_score: int
    score: int = 0
    status: str = "pass"
    tests: list[TestGrade] = field(default_factory=list)


@dataclass
class ExerciseGrade:
    name: str  # the folder name, e.g. 03_tasks
    number: int
    title: str
    max_score: int
    score: int = 0
    status: str = "pass"
    tasks: list[TaskGrade] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about this exercise: why it was not run

    @classmethod
    def not_handed_in(cls, exercise: catalog.Exercise, why: str) -> ExerciseGrade:
        """An exercise whose file is missing (or is no plain file): none of its tests ran, and
        every task fails with 0 points; the note says why."""
        tasks = [
            TaskGrade(id=t.id, title=t.title, max_score=t.points, status="fail")
            for t in exercise.tasks
        ]
        return cls(
            name=exercise.name,
            number=exercise.number,
            title=exercise.title,
            max_score=exercise.points,
            status="fail",
            tasks=tasks,
            notes=[why],
        )

    @classmethod
    def build(cls, exercise: catalog.Exercise, tests: list[TestGrade]) -> ExerciseGrade:
        tasks = []
        for task in exercise.tasks:
            mine = [t for t in tests if t.task == task.id]
            status = worst([t.status for t in mine]) if mine else "error"
            tasks.append(
                TaskGrade(
                    id=task.id,
                    title=task.title,
                    max_score=task.points,
                    score=task.points if status == "pass" else 0,
                    status=status,
                    tests=mine,
                )
            )
        return cls(
            name=exercise.name,
            number=exercise.number,
            title=exercise.title,
            max_score=exercise.points,
            score=sum(t.score for t in tasks),
            status=worst([t.status for t in tasks]),
            tasks=tasks,
        )

    def tests(self) -> list[TestGrade]:
        return [test for task in self.tasks for test in task.tests]

    @property
    def not_run(self) -> bool:
        """Not graded at all (its file was not handed in): the notes say why."""
        return bool(self.notes) and not self.tests()


@dataclass
class SubmissionGrade:
    name: str  # how the instructor named it: the folder's path as given
    path: str  # the folder's absolute path
    digest: str  # of the submission's exercise files: same digest, same grade
    exercises: list[ExerciseGrade] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong around the tests
    duration: float = 0.0
    sandboxed: bool = False

    @property
    def score(self) -> int:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> int:
        return sum(e.max_score for e in self.exercises)

    def exercise(self, name: str) -> ExerciseGrade | None:
        return next((e for e in self.exercises if e.name == name), None)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionGrade:
        exercises = []
        for raw in data["exercises"]:
            tasks = [
                TaskGrade(**{**t, "tests": [TestGrade(**test) for test in t["tests"]]})
                for t in raw["tasks"]
            ]
            exercises.append(ExerciseGrade(**{**raw, "tasks": tasks}))
        fields = {k: v for k, v in data.items() if k not in ("exercises", "score", "max_score")}
        return cls(**{**fields, "exercises": exercises})


def report(submissions: list[SubmissionGrade]) -> dict:
    """The whole of `--format json`."""
    return {
        "schema": SCHEMA_VERSION,
        "submissions": [s.to_dict() for s in submissions],
    }


def exercise_columns(submissions: list[SubmissionGrade]) -> list[ExerciseGrade]:
    """One exercise per folder name over all submissions, in number order."""
    seen: dict[str, ExerciseGrade] = {}
    for submission in submissions:
        for exercise in submission.exercises:
            seen.setdefault(exercise.name, exercise)
    return sorted(seen.values(), key=lambda e: (e.number, e.name))
