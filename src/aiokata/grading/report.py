"""The class report: one self-contained HTML page of what a class got right and wrong.

`build` turns grades into the page's figures: the score distribution, each exercise's and
task's pass rate, each task's failures grouped by mistake (its first failing test and the
kind of mistake that test's message names, see mistakes.py), timeouts, crashes and notes
counted apart from wrong answers, and a section per submission. `render_html` puts them
through templates/class_report.html.j2 (Jinja2, autoescaped: every learner's text is
untrusted). The page loads nothing: its CSS and SVG charts are inline and it has no script.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import jinja2

from aiokata.grading import mistakes
from aiokata.grading.model import (
    ExerciseGrade,
    SubmissionGrade,
    TaskGrade,
    TestGrade,
    exercise_columns,
)
from aiokata.grading.untrusted import clean, headline, truncate

TEMPLATE = "class_report.html.j2"
EXAMPLE_LIMIT = 1500  # characters of a mistake's example message on the page
HEADLINE_LIMIT = 120  # characters of a failure's mistake in a submission's section
LABEL_LIMIT = 400  # characters of the mistake a group is headed by
HARDEST = 5  # tasks listed as the hardest
POINT_BINS = 30  # up to this many points, the histogram has a bar per score; else by tenths


@dataclass(frozen=True)
class Bucket:
    """A band of pass rates and its colour in the grid (used nowhere else on the page, so a
    screenshot shows where the grid is)."""

    name: str  # the CSS class
    lowest: float  # the lowest rate in it
    legend: str
    colour: str
    ink: str  # the text on it


BUCKETS = (
    Bucket("r0", 0.0, "under 25%", "#c62828", "#ffffff"),
    Bucket("r1", 0.25, "25-49%", "#ef8a3c", "#1d2330"),
    Bucket("r2", 0.5, "50-74%", "#f4cf4a", "#1d2330"),
    Bucket("r3", 0.75, "75-99%", "#9ccc65", "#1d2330"),
    Bucket("r4", 1.0, "everyone", "#2e7d32", "#ffffff"),
)


@dataclass
class Mistake:
    """One kind of failure of one task, and the submissions whose task failed with it."""

    anchor: str
    test: str  # the first test of the task that failed this way
    status: str  # fail, timeout or error
    label: str  # the explanation the message gives, as the first submission got it
    example: str  # that submission's whole message
    key: str  # mistakes.mistake_key of it
    plain: str  # mistakes.normalise of the example: a message equal to it says nothing more
    who: list[int] = field(default_factory=list)  # submission indexes

    @property
    def count(self) -> int:
        return len(self.who)


@dataclass
class TaskStats:
    exercise: str  # the exercise's folder name
    number: int
    exercise_title: str
    id: int
    title: str
    max_score: int
    anchor: str
    passed: int = 0
    wrong: int = 0  # failed a check: a wrong answer
    timeouts: int = 0
    crashes: int = 0  # an error outside the checks
    not_handed_in: int = 0
    mistakes: list[Mistake] = field(default_factory=list)  # wrong answers, most made first
    troubles: list[Mistake] = field(default_factory=list)  # timeouts and crashes, the same

    @property
    def handed_in(self) -> int:
        return self.passed + self.wrong + self.timeouts + self.crashes

    @property
    def rate(self) -> float | None:
        """Of the submissions that handed its exercise in, the share that passed it."""
        return self.passed / self.handed_in if self.handed_in else None

    @property
    def percent(self) -> str:
        return "-" if self.rate is None else f"{self.rate:.0%}"

    @property
    def bucket(self) -> str:
        if self.rate is None:
            return "none"
        return next(b.name for b in reversed(BUCKETS) if self.rate >= b.lowest)

    @property
    def label(self) -> str:
        return f"{self.number:02d}.{self.id}"


@dataclass
class ExerciseStats:
    name: str
    number: int
    title: str
    max_score: int
    tasks: list[TaskStats]
    graded: int = 0  # submissions graded on it
    handed_in: int = 0
    finished: int = 0  # every task passed


@dataclass
class Failure:
    """A task one submission lost, as its section shows it."""

    task: TaskStats
    status: str
    test: str  # its first failing test ("" when no test reported)
    line: str  # the mistake that test's message names, in one line
    message: str  # the whole message, when it says more than its group's example
    mistake: Mistake
    more: int  # other tests of the task that failed too


@dataclass
class SubmissionView:
    index: int
    anchor: str
    name: str
    score: int
    max_score: int
    notes: list[str]
    cells: list[tuple[ExerciseStats, ExerciseGrade | None]]
    failures: list[Failure]
    not_handed_in: list[str]  # exercise labels

    @property
    def percent(self) -> str:
        return f"{self.score / self.max_score:.0%}" if self.max_score else "-"


@dataclass
class NoteKind:
    kind: str
    who: list[int]  # submission indexes
    example: str


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # under the bar ("" when there is no room)
    tip: str


@dataclass
class Histogram:
    width: int
    height: int
    base: float  # y of the axis
    bars: list[Bar]
    median_x: float
    median_label: str
    top: int  # the tallest bar's count


@dataclass
class FinishedRow:
    y: float
    label: str
    finished: float  # widths
    started: float  # handed in, not finished
    missing: float  # not handed in
    text: str


@dataclass
class ClassReport:
    title: str
    submissions: list[SubmissionView]
    exercises: list[ExerciseStats]
    max_tasks: int
    median: str
    mean: str
    full_marks: int
    zero: int
    histogram: Histogram
    finished: list[FinishedRow]
    finished_height: int
    hardest: list[TaskStats]
    timeouts: tuple[int, int]  # (tests, submissions)
    crashes: tuple[int, int]
    notes: list[NoteKind]
    buckets: tuple[Bucket, ...] = BUCKETS

    def name(self, index: int) -> str:
        return self.submissions[index].name


def _cut(line: str, limit: int) -> str:
    """One line, at most `limit` characters: cut with an ellipsis, not truncate's long note."""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _columns(grades: list[SubmissionGrade]) -> list[ExerciseStats]:
    """Every exercise any submission was graded on, with the union of its tasks."""
    stats = []
    every: dict[str, dict[int, TaskGrade]] = {}  # each exercise's tasks, first seen first
    for grade in grades:
        for exercise in grade.exercises:
            for task in exercise.tasks:
                every.setdefault(exercise.name, {}).setdefault(task.id, task)
    for column in exercise_columns(grades):
        tasks = every.get(column.name, {})
        stats.append(
            ExerciseStats(
                name=column.name,
                number=column.number,
                title=clean(column.title),
                max_score=column.max_score,
                tasks=[
                    TaskStats(
                        exercise=column.name,
                        number=column.number,
                        exercise_title=clean(column.title),
                        id=task.id,
                        title=clean(task.title),
                        max_score=task.max_score,
                        anchor=f"t-{_slug(column.name)}-{task.id}",
                    )
                    for task in sorted(tasks.values(), key=lambda t: t.id)
                ],
            )
        )
    return stats


def _first_failing(task: TaskGrade) -> TestGrade | None:
    """The test that stands for why the task was lost: its first with the task's status."""
    return next((t for t in task.tests if t.status == task.status), None)


def _group(
    stats: TaskStats, groups: dict[tuple[str, str], Mistake], test: TestGrade | None, index: int
) -> Mistake:
    status = test.status if test else "error"
    message = test.message if test else "no test results for this task"
    name = test.name if test else ""
    key = mistakes.mistake_key(message, status)
    found = groups.get((name, key))
    if found is None:
        example = truncate(clean(message).rstrip(), EXAMPLE_LIMIT)
        found = Mistake(
            anchor=f"m-{_slug(stats.exercise)}-{stats.id}-{len(groups) + 1}",
            test=clean(name),
            status=status,
            label=_cut(mistakes.explanation(message), LABEL_LIMIT) or status,
            example=example,
            key=key,
            plain=mistakes.normalise(example),
        )
        groups[(name, key)] = found
        (stats.mistakes if status == "fail" else stats.troubles).append(found)
    found.who.append(index)
    return found


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _histogram(grades: list[SubmissionGrade]) -> tuple[Histogram, str, str]:
    """Bars of how many submissions scored what; (histogram, median, mean) as text."""
    maxima = {g.max_score for g in grades}
    same = maxima.pop() if len(maxima) == 1 else None
    width, height, left, base = 540, 230, 34, 190
    shares = [g.score / g.max_score if g.max_score else 0.0 for g in grades]
    if same is not None and 0 < same <= POINT_BINS:  # a bar per score
        labels = [str(points) for points in range(same + 1)]
        tips = [f"{points} of {same} points" for points in range(same + 1)]
        places = [g.score for g in grades]
        median_place = _median([g.score for g in grades]) + 0.5  # the middle of its bar
    else:  # a bar per tenth of the maximum, and full marks on their own
        labels = [f"{10 * tenth}%" for tenth in range(10)] + ["100%"]
        tips = [f"{10 * tenth}-{10 * tenth + 9}%" for tenth in range(10)] + ["full marks"]
        places = [10 if share >= 1 else int(10 * share) for share in shares]
        median_place = min(10 * _median(shares), 10.5)
    counts = [0] * len(labels)
    for place in places:
        counts[place] += 1
    top = max(counts, default=0)
    step = (width - left - 8) / len(labels)
    every = max(1, round(len(labels) / 16))  # as many labels as fit under the bars
    bars = []
    for place, count in enumerate(counts):
        tall = (base - 34) * count / (top or 1)  # room above for the median's label
        bars.append(
            Bar(
                x=round(left + place * step + 1, 1),
                y=round(base - tall, 1),
                width=round(max(step - 2, 1), 1),
                height=round(tall, 1),
                count=count,
                label=labels[place] if place % every == 0 or place == len(labels) - 1 else "",
                tip=f"{count} {'submission' if count == 1 else 'submissions'}: {tips[place]}",
            )
        )
    if same:
        points = [g.score for g in grades]
        mean = statistics.fmean(points) if points else 0.0
        median, average = f"{_median(points):g} of {same}", f"{mean:.1f} of {same}"
    else:  # maxima differ (or are 0): shares of each submission's own
        mean = statistics.fmean(shares) if shares else 0.0
        median, average = f"{_median(shares):.0%}", f"{mean:.0%}"
    histogram = Histogram(
        width=width,
        height=height,
        base=base,
        bars=bars,
        median_x=round(left + median_place * step, 1),
        median_label=f"median {median}",
        top=top,
    )
    return histogram, median, average


def _finished(exercises: list[ExerciseStats]) -> tuple[list[FinishedRow], int]:
    widest = max((e.graded for e in exercises), default=0) or 1
    span, row = 280, 22
    rows = []
    for place, exercise in enumerate(exercises):
        started = exercise.handed_in - exercise.finished
        missing = exercise.graded - exercise.handed_in
        rows.append(
            FinishedRow(
                y=place * row + 4,
                label=f"{exercise.number:02d} {exercise.title}",
                finished=round(span * exercise.finished / widest, 1),
                started=round(span * started / widest, 1),
                missing=round(span * missing / widest, 1),
                text=f"{exercise.finished:,} of {exercise.graded:,}",
            )
        )
    return rows, len(exercises) * row + 8


def _failure(
    stats: TaskStats, task: TaskGrade, mistake: Mistake, test: TestGrade | None
) -> Failure:
    """How a submission's section shows a task it lost: the mistake its message names, and
    the whole message only when that says more than the line and its group's example."""
    message = clean(test.message).rstrip() if test else ""
    line = _cut(mistakes.explanation(message), HEADLINE_LIMIT)
    says_more = message != line and mistakes.normalise(message) != mistake.plain
    return Failure(
        task=stats,
        status=task.status,
        test=clean(test.name) if test else "",
        line=line or task.status,
        message=truncate(message, EXAMPLE_LIMIT) if says_more else "",
        mistake=mistake,
        more=sum(t.status != "pass" for t in task.tests) - 1,
    )


class _Tally:
    """What `build` counts over the class, one submission at a time."""

    def __init__(self, exercises: list[ExerciseStats]) -> None:
        self.exercises = exercises
        self.tasks = {(e.name, t.id): t for e in exercises for t in e.tasks}
        self.groups: dict[tuple[str, int], dict[tuple[str, str], Mistake]] = {
            key: {} for key in self.tasks
        }
        self.notes: dict[str, NoteKind] = {}
        self.timeouts = [0, 0]  # tests, submissions
        self.crashes = [0, 0]

    def add(self, index: int, grade: SubmissionGrade) -> SubmissionView:
        failures: list[Failure] = []
        missing: list[str] = []
        by_name = {e.name: e for e in grade.exercises}
        for exercise in self.exercises:
            graded = by_name.get(exercise.name)
            if graded is None:
                continue
            exercise.graded += 1
            if graded.not_run:
                missing.append(f"{exercise.number:02d}")
            else:
                exercise.handed_in += 1
                exercise.finished += graded.status == "pass" and graded.score == graded.max_score
            for task in graded.tasks:
                failure = self._task(index, exercise, graded, task)
                if failure is not None:
                    failures.append(failure)
        self._troubles(index, grade)
        return SubmissionView(
            index=index,
            anchor=f"s-{index + 1}",
            name=clean(grade.name),
            score=grade.score,
            max_score=grade.max_score,
            notes=[clean(n) for n in grade.notes],
            cells=[(e, by_name.get(e.name)) for e in self.exercises],
            failures=failures,
            not_handed_in=missing,
        )

    def _task(
        self, index: int, exercise: ExerciseStats, graded: ExerciseGrade, task: TaskGrade
    ) -> Failure | None:
        stats = self.tasks[(exercise.name, task.id)]
        if graded.not_run:
            stats.not_handed_in += 1
            return None
        if task.status == "pass":
            stats.passed += 1
            return None
        stats.wrong += task.status == "fail"
        stats.timeouts += task.status == "timeout"
        stats.crashes += task.status == "error"
        test = _first_failing(task)
        mistake = _group(stats, self.groups[(exercise.name, task.id)], test, index)
        return _failure(stats, task, mistake, test)

    def _troubles(self, index: int, grade: SubmissionGrade) -> None:
        """Timeouts, crashes, and the notes' kinds, from its notes and its tests' messages."""
        kinds = {mistakes.note_kind(n): clean(n) for n in reversed(grade.notes)}
        statuses = set()
        for test in (t for e in grade.exercises for t in e.tests()):
            statuses.add(test.status)
            self.timeouts[0] += test.status == "timeout"
            self.crashes[0] += test.status == "error"
            if test.status != "pass":
                for kind in mistakes.message_kinds(test.message):
                    kinds.setdefault(kind, headline(test.message))
        self.timeouts[1] += "timeout" in statuses
        self.crashes[1] += "error" in statuses
        for kind, example in kinds.items():
            self.notes.setdefault(kind, NoteKind(kind, [], _cut(example, HEADLINE_LIMIT)))
            self.notes[kind].who.append(index)


def build(grades: list[SubmissionGrade], title: str = "aiokata class report") -> ClassReport:
    exercises = _columns(grades)
    tally = _Tally(exercises)
    views = [tally.add(index, grade) for index, grade in enumerate(grades)]
    for stats in tally.tasks.values():
        stats.mistakes.sort(key=lambda m: -m.count)  # stable: first made first among equals
        stats.troubles.sort(key=lambda m: -m.count)
    histogram, median, mean = _histogram(grades)
    finished, finished_height = _finished(exercises)
    ranked = [t for t in tally.tasks.values() if t.rate is not None and t.rate < 1]
    hardest = sorted(ranked, key=lambda t: (t.rate, -t.handed_in))[:HARDEST]
    order = [kind for kind, _ in mistakes.NOTE_KINDS] + [mistakes.OTHER_NOTES]
    return ClassReport(
        title=title,
        submissions=views,
        exercises=exercises,
        max_tasks=max((len(e.tasks) for e in exercises), default=0),
        median=median,
        mean=mean,
        full_marks=sum(g.max_score > 0 and g.score == g.max_score for g in grades),
        zero=sum(g.score == 0 for g in grades),
        histogram=histogram,
        finished=finished,
        finished_height=finished_height,
        hardest=hardest,
        timeouts=(tally.timeouts[0], tally.timeouts[1]),
        crashes=(tally.crashes[0], tally.crashes[1]),
        notes=sorted(tally.notes.values(), key=lambda n: order.index(n.kind)),
    )


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aiokata", "templates"),
        autoescape=True,  # learners' messages and folder names are text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(grades: Iterable[SubmissionGrade], title: str = "aiokata class report") -> str:
    report = build(list(grades), title)
    return _environment().get_template(TEMPLATE).render(report=report)
