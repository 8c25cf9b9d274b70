"""How `aiokata grade` writes its results: a terminal table, JSON, CSV, JUnit XML, Gradescope's
results.json, Markdown (a GitHub job summary, a Classroom 50 release body) or the class report,
an HTML page (report.py).

Everything a learner wrote (test output, failure messages, even folder names) is untrusted text:
it goes through `clean` (untrusted.py) before it reaches a terminal, an XML document or a
Gradescope page, into rich only as `Text`, never as markup, and into Markdown only through
`md_text`, which escapes every piece of Markdown syntax in it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aiokata.grading.model import (
    ExerciseGrade,
    SubmissionGrade,
    TaskGrade,
    TestGrade,
    exercise_columns,
    report,
)
from aiokata.grading.untrusted import clean, headline, truncate

FORMATS = ("table", "json", "csv", "junit", "gradescope", "markdown", "html")
TABLE_WIDTH = 120  # of `render("table", ...)`, the table written to a file
GRADESCOPE_TEST_OUTPUT = 7800  # characters per Gradescope test; their page stays readable
GRADESCOPE_MESSAGE = 1200  # of each test's message there, so one failure leaves room for more
GRADESCOPE_PRINTED = 400  # of each test's printed output there
MARKDOWN_MESSAGE = 300  # characters of the first failure's message in a Markdown table cell
# Short enough that eighteen exercise columns fit a 120-column terminal; explained in a legend.
TROUBLE = {"timeout": "t/o", "error": "err"}
LEGEND = "t/o: a test ran out of time   err: a test errored outside its checks or never reported"


class FormatError(Exception):
    """A format cannot be written for what was graded; the message is one line for the user."""


def render(fmt: str, submissions: list[SubmissionGrade]) -> str:
    """The whole text of `--format fmt`, ready to print or write to a file as UTF-8."""
    writers = {
        "table": _table_text,
        "json": _json,
        "csv": _csv,
        "junit": _junit,
        "gradescope": _gradescope,
        "markdown": _markdown,
        "html": _html,
    }
    if fmt not in writers:
        raise FormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt](submissions)


# --- table ---------------------------------------------------------------------------------


def _score_cell(exercise: ExerciseGrade | None) -> Text:
    if exercise is None:
        return Text("-", style="dim")  # this submission was not graded on it
    label = f"{exercise.score}/{exercise.max_score}"
    if exercise.status in TROUBLE:
        label += f"\n{TROUBLE[exercise.status]}"
    if exercise.max_score == 0:
        style = "dim"
    elif exercise.score == exercise.max_score:
        style = "green"
    elif exercise.score:
        style = "yellow"
    else:
        style = "red"
    return Text(label, style=style)


def print_table(console: Console, submissions: list[SubmissionGrade], *, detail: bool) -> None:
    """One row per submission; with `detail`, then every task that lost points and why."""
    columns = exercise_columns(submissions)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column("submission", overflow="fold", ratio=1)  # the one column that may wrap
    for exercise in columns:
        table.add_column(f"{exercise.number:02d}", justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold", no_wrap=True)
    for submission in submissions:
        cells = [_score_cell(submission.exercise(e.name)) for e in columns]
        total = Text(f"{submission.score}/{submission.max_score}")
        table.add_row(Text(clean(submission.name)), *cells, total)
    console.print(table)
    troubled = {e.status for s in submissions for e in s.exercises}
    if troubled & TROUBLE.keys():
        console.print(Text(LEGEND, style="dim"))
    for submission in submissions:
        for note in submission.notes:
            who = f"{clean(submission.name)}: " if len(submissions) > 1 else ""
            console.print(Text.assemble(("note: ", "yellow"), who, clean(note)))
    if detail:
        for submission in submissions:
            _print_detail(console, submission, named=len(submissions) > 1)


def _print_detail(console: Console, submission: SubmissionGrade, *, named: bool) -> None:
    # An exercise that was not run (its file not handed in) is said once, in the notes above.
    graded = [e for e in submission.exercises if not e.not_run]
    if not graded:
        return
    console.print()
    if named:
        total = f"  {submission.score}/{submission.max_score}"
        console.print(Text.assemble((clean(submission.name), "bold"), total))
    lost = [e for e in graded if e.status != "pass" or e.score < e.max_score]
    if not lost:
        every = "every task" if len(graded) == len(submission.exercises) else "every task handed in"
        console.print(Text(f"{every} passes", style="green"))
        return
    for exercise in lost:
        heading = f"{exercise.number:02d} {exercise.title}"
        score = f"  {exercise.score}/{exercise.max_score}"
        console.print(Text.assemble((clean(heading), "bold"), score))
        for task in exercise.tasks:
            if task.status == "pass":
                continue
            title = f"  task {task.id}: {task.title} "
            console.print(Text.assemble(clean(title), (task.status, "red")))
            if not task.tests:
                console.print(Text("    no test results for this task", style="dim"))
            for test in task.tests:
                if test.status == "pass":
                    continue
                why = headline(test.message) or test.status
                line = Text.assemble("    ", ("✗ ", "red"), clean(test.name))
                line.append(f" ({test.status})" if test.status != "fail" else "", style="dim")
                line.append(f": {why}")
                console.print(line)  # wrapped on a terminal; whole on a soft-wrapping console


def _table_text(submissions: list[SubmissionGrade]) -> str:
    # Plain text for a file: a fixed width and no colour codes, whatever the terminal or env.
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=TABLE_WIDTH,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
    )
    print_table(console, submissions, detail=len(submissions) == 1)
    return buffer.getvalue()


# --- json and csv --------------------------------------------------------------------------


def _json(submissions: list[SubmissionGrade]) -> str:
    return json.dumps(report(submissions), indent=2) + "\n"


def _csv(submissions: list[SubmissionGrade]) -> str:
    columns = exercise_columns(submissions)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *(e.name for e in columns), "total", "max_score"])
    for submission in submissions:
        scores = []
        for column in columns:
            exercise = submission.exercise(column.name)
            scores.append("" if exercise is None else exercise.score)
        row = [clean(submission.name), *scores, submission.score, submission.max_score]
        writer.writerow(row)
    return buffer.getvalue()


# --- junit ---------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _testcase(parent: ET.Element, classname: str, test: TestGrade) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=classname,
        name=clean(test.name),
        time=_seconds(test.duration),
    )
    if test.status == "fail":
        failure = ET.SubElement(case, "failure", message=headline(test.message))
        failure.text = clean(test.message)
    elif test.status in ("error", "timeout"):
        why = headline(test.message) or test.status
        error = ET.SubElement(case, "error", type=test.status, message=why)
        error.text = clean(test.message)
    if test.output:
        ET.SubElement(case, "system-out").text = clean(test.output)


def _missing_tests(
    parent: ET.Element, classname: str, exercise: ExerciseGrade, task: TaskGrade
) -> None:
    # A task that reported no test at all is lost points, not an empty (green) suite.
    case = ET.SubElement(parent, "testcase", classname=classname, name=f"task{task.id}", time="0")
    if exercise.not_run:  # its file was not handed in: a failure, saying so
        message = clean(" ".join(exercise.notes))
        ET.SubElement(case, "failure", message=message).text = message
        return
    message = "no test results for this task"
    ET.SubElement(case, "error", type=task.status, message=message).text = message


def _junit(submissions: list[SubmissionGrade]) -> str:
    root = ET.Element("testsuites", name="aiokata")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for submission in submissions:
        who = clean(submission.name)
        for exercise in submission.exercises:
            suite = ET.SubElement(root, "testsuite", name=f"{who} / {exercise.name}")
            properties = ET.SubElement(suite, "properties")
            for key, value in (
                ("exercise", clean(exercise.title)),
                ("score", exercise.score),
                ("max_score", exercise.max_score),
                ("status", exercise.status),
                *(("note", clean(note)) for note in exercise.notes),
            ):
                ET.SubElement(properties, "property", name=key, value=str(value))
            counts = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
            for task in exercise.tasks:
                classname = f"{who}.{exercise.name}.task{task.id}"
                if not task.tests:
                    _missing_tests(suite, classname, exercise, task)
                    counts["tests"] += 1
                    counts["failures" if exercise.not_run else "errors"] += 1
                for test in task.tests:
                    _testcase(suite, classname, test)
                    counts["tests"] += 1
                    counts["failures"] += test.status == "fail"
                    counts["errors"] += test.status in ("error", "timeout")
                    counts["time"] += test.duration
            suite.set("tests", str(counts["tests"]))
            suite.set("failures", str(counts["failures"]))
            suite.set("errors", str(counts["errors"]))
            suite.set("skipped", "0")
            suite.set("time", _seconds(counts["time"]))
            for key in totals:
                totals[key] += counts[key]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", _seconds(totals["time"]))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


# --- gradescope ----------------------------------------------------------------------------


def _gradescope_output(exercise: ExerciseGrade, task: TaskGrade) -> str:
    if not task.tests:
        if exercise.notes:  # not run: the file was not handed in
            return "\n".join(clean(note) for note in exercise.notes)
        return f"no test results for this task ({task.status})"
    parts = []
    for test in task.tests:
        parts.append(f"{test.status.upper():8} {clean(test.name)}")
        if test.status == "pass":
            continue
        if test.message:
            message = clean(test.message).rstrip()
            parts.append(_indent(truncate(message, GRADESCOPE_MESSAGE)))
        if test.output:
            printed = truncate(clean(test.output).rstrip(), GRADESCOPE_PRINTED)
            parts.append(_indent(f"printed:\n{_indent(printed)}"))
    return truncate("\n".join(parts), GRADESCOPE_TEST_OUTPUT)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _gradescope(submissions: list[SubmissionGrade]) -> str:
    """Gradescope's autograder results.json: one Gradescope test per task, as points are."""
    if len(submissions) != 1:
        raise FormatError("gradescope writes one submission's results.json; give one SUBMISSION")
    (submission,) = submissions
    tests = []
    for exercise in submission.exercises:
        for task in exercise.tasks:
            name = f"{exercise.number:02d} {exercise.title} — task {task.id}: {task.title}"
            tests.append(
                {
                    "name": clean(name),
                    "number": f"{exercise.number}.{task.id}",
                    "score": task.score,
                    "max_score": task.max_score,
                    # Gradescope colours a test by status when given, not by its score.
                    "status": "passed" if task.status == "pass" else "failed",
                    "output": _gradescope_output(exercise, task),
                }
            )
    results = {
        "score": submission.score,  # the spec has no top-level max_score: tests carry it
        "execution_time": round(submission.duration),  # whole seconds, per the spec
        "output": "\n".join(clean(note) for note in submission.notes),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "tests": tests,
    }
    return json.dumps(results, indent=2, sort_keys=True) + "\n"


# --- html ----------------------------------------------------------------------------------


def _html(submissions: list[SubmissionGrade]) -> str:
    from aiokata.grading import report  # Jinja2 is loaded only for the page that needs it

    return report.render_html(submissions)


# --- markdown ------------------------------------------------------------------------------

MARKS = {"pass": "✅ pass", "fail": "❌ fail", "error": "💥 error", "timeout": "⏱️ timeout"}
# md_text's output only ever sits inside a line (a table cell, a heading, a list item), so only
# inline syntax needs escaping: emphasis, code spans, links and images, HTML and entities, table
# pipes, strikethrough and GitHub's $math$.
_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|~&!$])")
WORD_JOINER = "\u2060"  # after an @: "@name" in a release body would notify a GitHub user


def md_text(text: str, limit: int | None = None) -> str:
    """`text` as literal Markdown on one line: safe in a table cell, a heading or a list."""
    line = " ".join(clean(text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return _MD_PUNCTUATION.sub(r"\\\1", line).replace("@", "@" + WORD_JOINER)


def first_failure(exercise: ExerciseGrade, task: TaskGrade) -> str:
    """Why `task` lost its points, in one line: its first failing test and what went wrong."""
    if task.status == "pass":
        return ""
    if exercise.not_run:
        return "not handed in"
    for test in task.tests:
        if test.status != "pass":
            why = headline(test.message) or test.status
            return f"{test.name}: {why}"
    return "no test results for this task"


def _markdown_exercise(exercise: ExerciseGrade) -> list[str]:
    heading = f"{exercise.number:02d} {exercise.title}"
    lines = [f"### {md_text(heading)}: {exercise.score}/{exercise.max_score}", ""]
    if exercise.not_run:
        lines += [md_text(" ".join(exercise.notes)), ""]
    lines += ["| task | points | result | first failure |", "|---|---|---|---|"]
    for task in exercise.tasks:
        why = md_text(first_failure(exercise, task), MARKDOWN_MESSAGE)
        label = md_text(f"{task.id}. {task.title}")
        result = MARKS.get(task.status, md_text(task.status))
        lines.append(f"| {label} | {task.score}/{task.max_score} | {result} | {why} |")
    return [*lines, ""]


def _markdown(submissions: list[SubmissionGrade]) -> str:
    """A section per submission: its total, its notes, then a table per exercise with a row
    per task (points, result, the first failure's message). With one submission (a CI run, a
    release body) the heading is just the total."""
    lines: list[str] = []
    for submission in submissions:
        total = f"{submission.score}/{submission.max_score} points"
        who = md_text(submission.name) if len(submissions) > 1 else "aiokata"
        lines += [f"## {who}: {total}", ""]
        if submission.notes:
            lines += [*(f"- {md_text(note)}" for note in submission.notes), ""]
        for exercise in submission.exercises:
            lines += _markdown_exercise(exercise)
    return "\n".join(lines)
