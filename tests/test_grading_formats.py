"""`aiokata grade`'s output formats: each parses back to the grades it was given, whatever the
learners wrote into their messages and folder names."""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from aiokata.grading import formats, model, untrusted
from aiokata.grading.model import ExerciseGrade, SubmissionGrade, TaskGrade

NASTY = 'boom [red]not red[/red] \x00nul \x1b[31mansi\x1b[0m \ud800 & <tag> "quoted"'
ODD_NAME = 'class/smith, "jo"'


def case(name: str, task: int, status: str, message: str = "", output: str = "") -> model.TestGrade:
    # model.TestGrade, not imported by name: pytest would try to collect a class called Test*.
    return model.TestGrade(
        name=name,
        nodeid=f"exercises/x/test_x.py::{name}",
        task=task,
        status=status,
        message=message,
        output=output,
        duration=0.25,
    )


def task(task_id: int, points: int, *tests: model.TestGrade) -> TaskGrade:
    status = max((t.status for t in tests), key=["pass", "fail", "error", "timeout"].index)
    return TaskGrade(
        id=task_id,
        title=f"title {task_id}",
        max_score=points,
        score=points if status == "pass" else 0,
        status=status,
        tests=list(tests),
    )


def exercise(number: int, slug: str, title: str, *tasks: TaskGrade) -> ExerciseGrade:
    statuses = [t.status for t in tasks]
    return ExerciseGrade(
        name=f"{number:02d}_{slug}",
        number=number,
        title=title,
        max_score=sum(t.max_score for t in tasks),
        score=sum(t.score for t in tasks),
        status=max(statuses, key=["pass", "fail", "error", "timeout"].index),
        tasks=list(tasks),
    )


def full_marks() -> SubmissionGrade:
    return SubmissionGrade(
        name="alice",
        path="/subs/alice",
        digest="a" * 16,
        exercises=[
            exercise(1, "coroutines", "Coroutines", task(1, 1, case("t_a", 1, "pass"))),
            exercise(3, "tasks", "Tasks and gather", task(1, 2, case("t_b", 1, "pass"))),
        ],
        duration=3.4,
    )


def mixed() -> SubmissionGrade:
    return SubmissionGrade(
        name=ODD_NAME,
        path="/subs/odd",
        digest="b" * 16,
        exercises=[
            exercise(
                1,
                "coroutines",
                "Coroutines",
                task(1, 1, case("t_a", 1, "pass")),
                task(2, 2, case("t_c", 2, "pass"), case("t_d", 2, "fail", NASTY, "printed\x07")),
            ),
            exercise(
                3,
                "tasks",
                "Tasks and gather",
                task(1, 2, case("t_b", 1, "timeout", "took longer than 5 s")),
                task(2, 3, case("t_e", 2, "error", "ImportError: no module")),
            ),
        ],
        notes=["exercise 03 hung [bold]once[/bold]"],
        duration=12.6,
    )


SUBS = [full_marks(), mixed()]


def test_json_round_trips():
    data = json.loads(formats.render("json", SUBS))
    assert data["schema"] == 1
    back = [SubmissionGrade.from_dict(s) for s in data["submissions"]]
    assert back == SUBS
    assert [s["score"] for s in data["submissions"]] == [3, 1]


def test_csv_has_one_row_per_submission_with_exercise_scores():
    rows = list(csv.DictReader(io.StringIO(formats.render("csv", SUBS))))
    assert list(rows[0]) == ["submission", "01_coroutines", "03_tasks", "total", "max_score"]
    assert rows[0] == {
        "submission": "alice",
        "01_coroutines": "1",
        "03_tasks": "2",
        "total": "3",
        "max_score": "3",
    }
    assert rows[1]["submission"] == ODD_NAME
    assert (rows[1]["01_coroutines"], rows[1]["03_tasks"]) == ("1", "0")
    assert (rows[1]["total"], rows[1]["max_score"]) == ("1", "8")


def test_csv_takes_the_union_of_exercises_in_number_order():
    only_three = full_marks()
    only_three.exercises = only_three.exercises[1:]
    extra = mixed()
    extra.exercises.insert(0, exercise(0, "intro", "Intro", task(1, 1, case("t", 1, "pass"))))
    rows = list(csv.DictReader(io.StringIO(formats.render("csv", [only_three, extra]))))
    assert list(rows[0])[1:4] == ["00_intro", "01_coroutines", "03_tasks"]
    assert rows[0]["00_intro"] == "" and rows[0]["03_tasks"] == "2"


def test_junit_parses_and_counts_failures_and_errors():
    root = ET.fromstring(formats.render("junit", SUBS).encode())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "alice / 01_coroutines",
        "alice / 03_tasks",
        f"{ODD_NAME} / 01_coroutines",
        f"{ODD_NAME} / 03_tasks",
    ]
    counts = [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites]
    assert counts == [("1", "0", "0"), ("1", "0", "0"), ("3", "1", "0"), ("2", "0", "2")]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "1", "2")
    props = {p.get("name"): p.get("value") for p in suites[3].iter("property")}
    assert (props["score"], props["max_score"]) == ("0", "5")

    errors = {e.get("type") for e in suites[3].iter("error")}
    assert errors == {"timeout", "error"}
    case = suites[2].findall("testcase")[2]
    assert case.get("classname") == f"{ODD_NAME}.01_coroutines.task2"
    assert case.get("name") == "t_d"
    failure = case.find("failure")
    assert failure is not None
    # Control characters and lone surrogates are gone; markup and XML specials survive as text.
    assert failure.get("message") == 'boom [red]not red[/red] nul ansi  & <tag> "quoted"'
    assert "\x00" not in failure.text and "[red]" in failure.text
    assert case.findtext("system-out") == "printed"


def test_junit_flags_a_task_with_no_tests():
    sub = full_marks()
    sub.exercises[0].tasks.append(
        TaskGrade(id=2, title="lost", max_score=1, score=0, status="error", tests=[])
    )
    root = ET.fromstring(formats.render("junit", [sub]))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    assert root.find(".//testcase[@name='task2']/error") is not None


def test_gradescope_has_one_test_per_task_and_sums_scores():
    data = json.loads(formats.render("gradescope", [mixed()]))
    tests = data["tests"]
    tasks = [t for e in mixed().exercises for t in e.tasks]
    assert len(tests) == len(tasks) == 4
    assert data["score"] == sum(t["score"] for t in tests) == 1
    assert [t["number"] for t in tests] == ["1.1", "1.2", "3.1", "3.2"]
    assert [t["status"] for t in tests] == ["passed", "failed", "failed", "failed"]
    assert [t["max_score"] for t in tests] == [1, 2, 2, 3]
    assert tests[2]["name"] == "03 Tasks and gather — task 1: title 1"
    assert "took longer than 5 s" in tests[2]["output"]
    assert "\x00" not in tests[1]["output"] and "t_d" in tests[1]["output"]
    assert data["output"] == "exercise 03 hung [bold]once[/bold]"
    assert data["execution_time"] == 13
    assert (data["output_format"], data["visibility"]) == ("text", "visible")


def test_gradescope_keeps_each_test_output_short():
    sub = mixed()
    huge = [case(f"t{i}", 1, "fail", "x" * 2000, "y" * 2000) for i in range(20)]
    sub.exercises[0].tasks[0] = task(1, 1, *huge)
    data = json.loads(formats.render("gradescope", [sub]))
    assert len(data["tests"][0]["output"]) < 8000


@pytest.mark.parametrize("count", [0, 2])
def test_gradescope_wants_exactly_one_submission(count):
    with pytest.raises(formats.FormatError, match="one SUBMISSION"):
        formats.render("gradescope", SUBS[:count])


def test_unknown_format_is_a_format_error():
    with pytest.raises(formats.FormatError, match="unknown format"):
        formats.render("yaml", SUBS)


def test_table_text_shows_totals_and_status_without_markup():
    text = formats.render("table", SUBS)
    assert "\x1b" not in text  # plain text, even in a colour terminal
    lines = text.splitlines()
    alice = next(line for line in lines if line.split()[:1] == ["alice"])
    assert alice.split()[-1] == "3/3"
    odd = lines.index(next(line for line in lines if line.startswith("class/smith")))
    assert odd > 0 and lines[odd].split()[-3:] == ["1/3", "0/5", "1/8"]
    assert lines[odd + 1].split() == ["t/o"]  # the 03 cell says why it scored nothing
    assert formats.LEGEND in text
    assert "exercise 03 hung [bold]once[/bold]" in text


def test_table_detail_lists_failing_tests_with_learner_text_verbatim():
    text = formats.render("table", [mixed()])  # one submission: detail comes with it
    assert "t_d: boom [red]not red[/red] nul ansi" in text
    assert "t_b (timeout): took longer than 5 s" in text
    assert "t_a" not in text  # passing tests are not listed


def test_print_table_to_a_colour_console_does_not_interpret_learner_markup():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=200)
    formats.print_table(console, SUBS, detail=True)
    text = out.getvalue()
    assert "[red]not red[/red]" in text
    assert "[bold]once[/bold]" in text
    assert "\x1b[31mansi" not in text  # the learner's own escape codes never reach the terminal


def test_a_traceback_is_summed_up_by_its_exception_line():
    traceback = (
        "exercises/03_tasks/test_tasks.py:160: in test_fetch_all\n"
        "    result = await run('fetch_all')\n"
        "E   OSError: [Errno 27] File too large\n"
        "E   more detail\n"
    )
    assert untrusted.headline(traceback) == "OSError: [Errno 27] File too large"
    plain = "Took 5 s; expected 3 s.\nStart it as a task."
    assert untrusted.headline(plain) == "Took 5 s; expected 3 s."


def not_handed_in() -> SubmissionGrade:
    """alice's 01 passes; her 03 was not handed in, so it was not run."""
    sub = full_marks()
    missing = "03_tasks/tasks.py is not in the submission, so this exercise was not graded"
    sub.exercises[1] = ExerciseGrade(
        name="03_tasks",
        number=3,
        title="Tasks and gather",
        max_score=5,
        status="fail",
        tasks=[TaskGrade(id=i, title=f"title {i}", max_score=i + 1, status="fail") for i in (1, 2)],
        notes=[missing],
    )
    sub.notes = ["not in the submission, so not graded (0 points): 03_tasks/tasks.py"]
    return sub


def test_an_exercise_not_run_is_said_once_in_the_table():
    text = formats.render("table", [not_handed_in()])
    assert text.count("03_tasks/tasks.py") == 1  # the note; no task or test lines for it
    assert "task 1" not in text and "every task handed in passes" in text


def test_an_exercise_not_run_fails_each_task_in_junit_and_gradescope_saying_why():
    root = ET.fromstring(formats.render("junit", [not_handed_in()]))
    suite = root.find("testsuite[@name='alice / 03_tasks']")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "2", "0")
    assert {f.get("message") for f in suite.iter("failure")} == {
        not_handed_in().exercises[1].notes[0]
    }
    data = json.loads(formats.render("gradescope", [not_handed_in()]))
    lost = [t for t in data["tests"] if t["number"].startswith("3.")]
    assert [t["output"] for t in lost] == [not_handed_in().exercises[1].notes[0]] * 2
    assert data["score"] == 1 and "03_tasks/tasks.py" in data["output"]
    back = json.loads(formats.render("json", [not_handed_in()]))["submissions"][0]
    assert SubmissionGrade.from_dict(back) == not_handed_in()
