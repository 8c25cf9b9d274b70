"""The class report (`aiokata grade --format html`, `aiokata report`): its numbers match the
grades, the same mistake made by different submissions is grouped once, it loads nothing from
the network, and a real browser draws it.

The sample class is built from the golden grades in tests/grading/expected (what the grader
said of real planted submissions), with their normalised paths, addresses and process ids
filled in differently for each student, so nothing is graded for most tests. One fixture
grades two tiny submissions (exercise 01 only, about 4 s) to drive the command line end to
end; the tests after it reuse those grades.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from aiokata import catalog
from aiokata.grading import formats, mistakes, report, saved
from aiokata.grading.model import ExerciseGrade, SubmissionGrade, TaskGrade, TestGrade

KIT = Path(__file__).resolve().parents[1]
EXPECTED = KIT / "tests" / "grading" / "expected"
AIOKATA = (sys.executable, "-m", "aiokata")

# (student, golden case, how their run differs: line-number shift, address, pid)
CLASS = (
    ("ada", "all_pass", 0, "7f31aa0c1e50", 4101),
    ("ben", "partial", 0, "7f31aa0c2a10", 4102),
    ("cat", "partial", 1, "7fe0c3b19d80", 5233),
    ("dan", "partial", 3, "7f8812a0f0d0", 6012),
    ("eve", "stubs", 0, "7f00d3a1b2c3", 4104),
    ("fay", "stubs", 2, "7f00d3a1b2c4", 4105),
    ("gus", "infinite_loop", 0, "7f00aa00bb00", 4106),
    ("hal", "kills_parent", 0, "7f00aa00bb01", 4107),
    ("ivy", "blocking_sleep", 0, "7f00aa00bb02", 4108),
    ("jo", "stray_processes", 0, "7f00aa00bb03", 4109),
)


def _fill(text: str, student: str, shift: int, address: str, pid: int) -> str:
    """A golden message as this student's run would have said it: their own paths, address,
    process ids and line numbers (shifted, as if their file had a few more lines)."""
    text = text.replace("<KIT>", f"/home/{student}/aiokata").replace("<PYTHON>", "/usr/bin/python3")
    text = text.replace("0x<ADDR>", f"0x{address}").replace("<PID>", str(pid))
    text = text.replace("<PORT>", str(40000 + pid)).replace("<N>", str(2 + shift))
    return re.sub(r"(line |\.py:)(\d+)", lambda m: f"{m[1]}{int(m[2]) + shift}", text)


def from_golden(student: str, case: str, shift: int, address: str, pid: int) -> SubmissionGrade:
    """A whole grade, as `aiokata grade --format json` gives it, from a golden summary."""
    golden = json.loads((EXPECTED / f"{case}.json").read_text())
    known = {e.name: e for e in catalog.load_catalog(KIT)}
    exercises = []
    for name, raw in golden["exercises"].items():
        meta = known[name]
        tasks = []
        for task_id, task in raw["tasks"].items():
            info = next(t for t in meta.tasks if t.id == int(task_id))
            tests = [
                TestGrade(
                    name=test_name,
                    nodeid=f"exercises/{name}/test_{name[3:]}.py::{test_name}",
                    task=info.id,
                    status=test["status"],
                    message=_fill("\n".join(test["message"]), student, shift, address, pid),
                )
                for test_name, test in task["tests"].items()
            ]
            tasks.append(
                TaskGrade(
                    id=info.id,
                    title=info.title,
                    max_score=info.points,
                    score=task["score"],
                    status=task["status"],
                    tests=tests,
                )
            )
        exercises.append(
            ExerciseGrade(
                name=name,
                number=meta.number,
                title=meta.title,
                max_score=meta.points,
                score=raw["score"],
                status=raw["status"],
                tasks=tasks,
                notes=raw.get("notes", []),
            )
        )
    return SubmissionGrade(
        name=f"subs/{student}",
        path=f"/srv/subs/{student}",
        digest=student,
        exercises=exercises,
        notes=[_fill(n, student, shift, address, pid) for n in golden["notes"]],
        duration=1.5,
    )


@pytest.fixture(scope="module")
def grades() -> list[SubmissionGrade]:
    return [from_golden(*student) for student in CLASS]


@pytest.fixture(scope="module")
def page(grades) -> str:
    return formats.render("html", grades)


@pytest.fixture(scope="module")
def data(grades) -> list[dict]:
    """The sample class as `--format json` writes it: what the page's numbers must match."""
    return json.loads(formats.render("json", grades))["submissions"]


def handed_in(exercise: dict) -> bool:
    return not (exercise["notes"] and not any(t["tests"] for t in exercise["tasks"]))


def section(page: str, anchor: str) -> str:
    """The HTML of the task section `anchor`, up to the next one."""
    start = page.index(f'<div class="task" id="{anchor}">')
    end = page.find('<div class="task"', start + 1)
    return page[start : end if end > 0 else len(page)]


# -- the numbers ----------------------------------------------------------------------------
GRID_CELL = re.compile(
    r'<td class="cell (?P<bucket>\w+)"[^>]*><a href="#t-(?P<exercise>[\w-]+)-(?P<task>\d+)">'
    r"<b>(?P<percent>[^<]+)</b><small>(?P<passed>\d+)/(?P<of>\d+)</small>"
)


def test_the_grid_shows_each_tasks_pass_rate_as_the_grades_have_it(page, data):
    cells = {(m["exercise"], int(m["task"])): m for m in GRID_CELL.finditer(page)}
    expected = {}
    for submission in data:
        for exercise in submission["exercises"]:
            for task in exercise["tasks"]:
                key = (exercise["name"], task["id"])
                passed, of = expected.get(key, (0, 0))
                if handed_in(exercise):
                    expected[key] = (passed + (task["status"] == "pass"), of + 1)
                else:
                    expected[key] = (passed, of)
    assert set(cells) == set(expected) and len(cells) == 7  # 01's four tasks, 03's three
    for key, (passed, of) in expected.items():
        cell = cells[key]
        assert (int(cell["passed"]), int(cell["of"])) == (passed, of), key
        assert cell["percent"] == f"{passed / of:.0%}"
    # 01.1: ada, gus, hal, ben, cat, dan pass; eve and fay (stubs) fail; ivy and jo have no 01.
    assert cells[("01_coroutines", 1)]["passed"] == "6" and cells[("01_coroutines", 1)]["of"] == "8"
    assert cells[("01_coroutines", 2)]["bucket"] == "r1"  # 3 of 8: the hardest stand out


def test_scores_median_and_distribution_match_the_grades(page, data):
    scores = [s["score"] for s in data]
    assert {s["max_score"] for s in data} == {11}
    assert f"<b>{statistics.median(scores):g} of 11</b><span>median score</span>" in page
    assert f"<b>{statistics.fmean(scores):.1f} of 11</b><span>mean score</span>" in page
    assert f"<b>{scores.count(11)}</b><span>full marks</span>" in page
    assert f"<b>{scores.count(0)}</b><span>scored nothing</span>" in page
    bars = re.findall(r"<title>(\d+) submissions?: (\d+) of 11 points</title>", page)
    assert [int(n) for n, _ in bars] == [scores.count(points) for points in range(12)]
    row = r'<tr><td><a href="#s-\d+">([^<]+)</a></td>.*?<td class="t">(\d+)/(\d+)<'
    rows = re.findall(row, page)
    assert rows == [(s["name"], str(s["score"]), str(s["max_score"])) for s in data]


def test_who_finished_each_exercise_matches_the_grades(page, data):
    for name in ("01_coroutines", "03_tasks"):
        exercises = [e for s in data for e in s["exercises"] if e["name"] == name]
        finished = sum(e["status"] == "pass" and e["score"] == e["max_score"] for e in exercises)
        assert f"{finished} of {len(exercises)} finished</title>" in page


def test_timeouts_and_crashes_are_counted_apart_from_wrong_answers(page, data):
    tests = [(s["name"], t) for s in data for e in s["exercises"] for k in e["tasks"]
             for t in k["tests"]]  # fmt: skip
    timeouts = [t for _, t in tests if t["status"] == "timeout"]
    crashes = [t for _, t in tests if t["status"] == "error"]
    assert (len(timeouts), len(crashes)) == (2, 6)  # gus's endless loop; hal killed the grader
    assert f"had a timeout ({len(timeouts)} tests)" in page
    assert f"had a crash ({len(crashes)} tests)" in page
    fetch_all = section(page, "t-03_tasks-2")
    # 03.2: eve, fay (stubs) and ivy (time.sleep) wrong; gus timed out; hal crashed.
    assert "5 passed, 3 wrong, 1 timed out, 1 crashed" in fetch_all
    assert fetch_all.index("Timeouts and crashes") < fetch_all.index(">timeout</span>")
    # Notes: jo's stray processes (from its test's message), ivy's and jo's missing 01.
    trouble = page[page.index('id="trouble"') : page.index('id="tasks"')]
    strays = re.search(r"<td>stray processes</td><td>(.*?)</td>", trouble)
    assert strays and re.findall(r">([^<]+)</a>", strays[1]) == ["subs/jo"]
    missing = re.search(r"<td>files not handed in</td><td>(.*?)</td>", trouble)
    assert missing and re.findall(r">([^<]+)</a>", missing[1]) == ["subs/ivy", "subs/jo"]


# -- grouping -------------------------------------------------------------------------------
MISTAKE = re.compile(
    r'<li id="m-[^"]+"><span class="count">(?P<count>\d+)</span> <span class="st (?P<status>\w+)">'
    r'.*?<p class="kind">(?P<kind>[^<]*)</p>.*?<p class="by">(?P<by>.*?)</p></li>',
    re.S,
)


def groups(html: str) -> list[dict]:
    return [
        {**m.groupdict(), "who": re.findall(r">([^<]+)</a>", m["by"])}
        for m in MISTAKE.finditer(html)
    ]


def test_the_same_mistake_by_different_submissions_is_grouped_once(page, grades):
    # ben, cat and dan awaited nothing in greet_user: their messages differ (addresses, paths,
    # line numbers) but the mistake is one.
    said = {
        g.name: g.exercise("01_coroutines").tasks[1].tests[0].message
        for g in grades
        if g.name in ("subs/ben", "subs/cat", "subs/dan")
    }
    assert len(set(said.values())) == 3
    found = groups(section(page, "t-01_coroutines-2"))
    coroutine = [g for g in found if "holds a coroutine object" in g["kind"]]
    assert len(coroutine) == 1
    assert coroutine[0]["count"] == "3" and coroutine[0]["who"] == list(said)
    stubs = [g for g in found if "is not written yet" in g["kind"]]
    assert [(g["count"], g["who"]) for g in stubs] == [("2", ["subs/eve", "subs/fay"])]
    # Their stubs' line numbers differ too: one group per task, each with both.
    for task in (1, 2, 3, 4):
        written = [
            g for g in groups(section(page, f"t-01_coroutines-{task}")) if "subs/eve" in g["who"]
        ]
        assert len(written) == 1 and written[0]["who"] == ["subs/eve", "subs/fay"], task


def test_each_task_lost_is_in_exactly_one_group(page, data):
    for submission_exercises in zip(*(s["exercises"] for s in data), strict=True):
        name = submission_exercises[0]["name"]
        for place, task in enumerate(submission_exercises[0]["tasks"]):
            lost = {"fail": [], "timeout": [], "error": []}
            for submission, exercise in zip(data, submission_exercises, strict=True):
                status = exercise["tasks"][place]["status"]
                if handed_in(exercise) and status != "pass":
                    lost[status].append(submission["name"])
            found = groups(section(page, f"t-{name}-{task['id']}"))
            for status, who in lost.items():
                mine = [g for g in found if g["status"] == status]
                assert sum(int(g["count"]) for g in mine) == len(who), (name, task["id"], status)
                assert sorted(n for g in mine for n in g["who"]) == sorted(who)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (  # loop times and a hint that names the mistake
            "fetch_all took 5 s of loop time; expected 3 s. They ran one after another: start "
            "each as a task.",
            "fetch_all took 12.5 s of loop time; expected 2.5 s. They ran one after another: "
            "start each as a task.",
        ),
        (  # the mistake named after what was observed: the observation's values aside
            "greet: expected 'Hi, Ada', got '<coroutine object f at 0x7f1e2d3c>'. Await it.\n\n"
            "`f()` on line 14 of 01_coroutines/coroutines.py was never awaited",
            "greet: expected 'Hi, Bob', got '<coroutine object f at 0x55aa>'. Await it.",
        ),
        (  # memory addresses, in a message that names no mistake of its own
            "RuntimeError: Task <Task pending coro=<f() running at 0x7f1e2d3c5e60>> got Future "
            "<Future pending> attached to a different loop",
            "RuntimeError: Task <Task pending coro=<f() running at 0x55d0aa01>> got Future "
            "<Future pending> attached to a different loop",
        ),
        (  # real time, and the line a busy loop was caught on
            "Stopped after 3 s of real time: the test never finished.\nIt was running line 12",
            "Stopped after 5 s of real time: the test never finished.\nIt was running line 40",
        ),
        (  # where the stub was raised
            "01_coroutines/coroutines.py:16: slow_square() is not written yet",
            "01_coroutines/coroutines.py:18: slow_square() is not written yet",
        ),
        (  # absolute paths, process ids, ports
            "FileNotFoundError: /home/ada/kit/data/input.txt (process 4101, port 40123)",
            "FileNotFoundError: /srv/subs/ben/data/input.txt (process 977, port 51000)",
        ),
    ],
)
def test_messages_differing_only_in_numbers_addresses_and_paths_are_one_mistake(one, other):
    assert mistakes.mistake_key(one) == mistakes.mistake_key(other)


def test_different_mistakes_are_told_apart():
    ran_in_turn = "f took 5 s of loop time; expected 3 s. They ran one after another."
    too_soon = "f took 1 s of loop time; expected 3 s. Something finished early."
    assert mistakes.mistake_key(ran_in_turn) != mistakes.mistake_key(too_soon)
    assert mistakes.explanation(ran_in_turn) == "They ran one after another."
    blocked = "f(): expected [1], got <Task pending>. time.sleep() blocked the loop."
    assert mistakes.explanation(blocked) == "time.sleep() blocked the loop."
    named = "greet(): expected 'Hello, Dr. Who!', got 'Hello, None!'."  # no sentence in a repr
    assert mistakes.explanation(named) == named
    again = f"{named} The name was looked up, but what you got back was never awaited."
    assert mistakes.explanation(again) == again.removeprefix(named + " ")
    # Where a stub raised is no part of the mistake, which heads its group on the page.
    stub = "01_coroutines/coroutines.py:16: slow_square() is not written yet: await it"
    assert mistakes.explanation(stub) == "slow_square() is not written yet: await it"
    # No explanation: the whole line is the mistake, numbers aside.
    plain = "f(): expected [1, 2], got [2, 1]."
    assert mistakes.mistake_key(plain) == "f(): expected [#, #], got [#, #]."


# -- self-contained -------------------------------------------------------------------------
HOSTILE = '<img src="https://tracker.example/p.png"> <script src="http://evil.example/x.js">'


class Resources(HTMLParser):
    """Every tag, every attribute that could load something, and every bit of CSS."""

    LOADING: ClassVar = {
        "src",
        "href",
        "xlink:href",
        "action",
        "data",
        "poster",
        "srcset",
        "formaction",
    }

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in self.LOADING:
                self.links.append(value or "")
            if name == "style":
                self.css.append(value or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


def test_the_page_loads_nothing_from_the_network(grades):
    hostile = from_golden("mal", "partial", 0, "7f0000000001", 1)
    hostile.name = HOSTILE  # learners' text is text: never a tag on the page
    hostile.exercises[0].tasks[1].tests[0].message = f"{HOSTILE} url(https://x.example/f.woff)"
    html = formats.render("html", [*grades, hostile])
    found = Resources()
    found.feed(html)
    assert found.links and all(link.startswith("#") for link in found.links)
    assert not {"script", "link", "img", "iframe", "object", "embed", "image", "use"} & set(
        found.tags
    )
    assert "svg" in found.tags and "style" in found.tags  # the charts and CSS are inline
    css = "\n".join(found.css)
    assert "@import" not in css and "url(" not in css
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "Content-Security-Policy" in html  # and the browser is told to load nothing
    assert "&lt;script src=" in html  # the hostile name, escaped


# -- in a browser ---------------------------------------------------------------------------
def chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


def test_chromium_draws_the_page_with_its_grid(page, grades, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run does)")
    image = pytest.importorskip(
        "PIL.Image", reason="Pillow reads the screenshot: pip install -e '.[dev]'"
    )
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # CI runs as root, where Chromium's own sandbox cannot start
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.is_file(), done.stderr[-2000:]
    with image.open(shot) as picture:
        rgb = picture.convert("RGB")
    assert rgb.size == (1280, 2000)
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None
    background = max(colours)[1]
    drawn = sum(count for count, colour in colours if colour != background)
    assert drawn > 0.15 * 1280 * 2000 and len(colours) > 100, "the screenshot is nearly blank"

    def pixels(hex_colour: str) -> int:
        want = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(
            count
            for count, got in colours
            if max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 3
        )

    used = {t.bucket for e in report.build(grades).exercises for t in e.tasks}
    for bucket in report.BUCKETS:
        # A grid cell is about 90 x 46 pixels; the legend's swatch alone is 144.
        if bucket.name in used:
            assert pixels(bucket.colour) > 1500, f"grid colour {bucket.legend} not drawn"
        else:
            assert pixels(bucket.colour) < 500, f"{bucket.legend} drawn, but no cell has it"


# -- the command line -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    """`aiokata grade alice bob -e 01 --format html`: alice solved 01, bob left the stub."""
    root = tmp_path_factory.mktemp("report")
    for student, source in (("alice", "solutions"), ("bob", "exercises")):
        module = root / student / "01_coroutines" / "coroutines.py"
        module.parent.mkdir(parents=True)
        shutil.copyfile(KIT / source / "01_coroutines" / "coroutines.py", module)
    done = aiokata(
        root, "grade", "alice", "bob", "-j", "2", "--format", "html", "--out", "graded.html"
    )
    assert done.returncode == 0, done.stderr
    return root


def aiokata(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    if args[0] == "grade":
        args = (*args, "--kit", str(KIT), "-e", "01", "--results", str(cwd / "results"))
    return subprocess.run([*AIOKATA, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_grade_writes_the_class_report(graded_class):
    page = (graded_class / "graded.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    cells = {int(m["task"]): (m["passed"], m["of"]) for m in GRID_CELL.finditer(page)}
    assert cells == {task: ("1", "2") for task in (1, 2, 3, 4)}
    assert re.findall(r'<a href="#s-\d+">([^<]+)</a></td>', page) == ["alice", "bob"]
    assert "is not written yet" in page


def test_report_builds_the_same_page_from_saved_grades_without_grading(graded_class):
    root = graded_class
    graded = (root / "graded.html").read_text(encoding="utf-8")
    done = aiokata(root, "report", "results", "--out", "saved.html")
    assert done.returncode == 0, done.stderr
    assert "the class report of 2 submissions" in done.stderr
    assert (root / "saved.html").read_text(encoding="utf-8") == graded
    # From `--format json` too (which itself reuses the saved grades: nothing is graded twice).
    done = aiokata(root, "grade", "alice", "bob", "--format", "json", "--out", "grades.json")
    assert done.returncode == 0 and done.stderr.count("saved earlier, not regraded") == 2
    done = aiokata(root, "report", "grades.json")
    assert done.returncode == 0 and done.stdout == graded


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"schema": 1, "submissions": [', "not valid JSON (line 1, column 31"),
        ("\xff\xfe garbage", "not a grades file (not UTF-8 text)"),
        ('{"hello": "world"}', "not a grades file; expected the output of"),
        ('{"schema": 7, "submissions": []}', "grades of schema 7; this aiokata reads schema 1"),
        ('{"key": "k", "grade": {"name": "x"}}', "its grade is malformed (no 'exercises')"),
        (
            '{"schema": 1, "submissions": [{"name": 3, "path": "p", "digest": "", '
            '"exercises": []}]}',
            "its grade is malformed ('name' is int, not str)",
        ),
        (
            '{"key": "k", "grade": {"name": "x", "path": "p", "digest": "", "exercises": [{'
            '"name": "01_x", "number": 1, "title": "X", "max_score": 1, "status": "great", '
            '"tasks": []}]}}',
            "its grade is malformed (01_x has status 'great')",
        ),
    ],
)
def test_a_corrupt_grades_file_is_refused_in_one_line(tmp_path, content, says):
    bad = tmp_path / "grades.json"
    bad.write_bytes(content.encode("latin-1"))
    with pytest.raises(saved.GradesFileError, match=re.escape(says)) as refused:
        saved.load([bad])
    assert "\n" not in str(refused.value) and str(bad) in str(refused.value)


def test_the_command_says_what_is_wrong_without_a_traceback(tmp_path):
    (tmp_path / "grades.json").write_text('{"key": "k", "grade": {"name": "x"', encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for target, says in (("grades.json", "not valid JSON"), ("empty", "holds no grades")):
        done = aiokata(tmp_path, "report", target, "--out", "r.html")
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ") and says in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "r.html").exists()
