"""`aiokata grade` as an instructor runs it: from a folder of their own, with absolute and
relative paths, on submissions that hold everything, part of it or nothing (issue 11).

Each test runs the real command in a subprocess. Only exercises 01 and 03 are graded, and only
alice's 01 is ever run (about two seconds, once: later runs reuse her saved grade), so the
whole file takes a few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
AIOKATA = (sys.executable, "-m", "aiokata")
SELECTED = ("-e", "01", "-e", "03")
MISSING_03 = "03_tasks/tasks.py is not in the submission"


@dataclass(frozen=True)
class Place:
    root: Path  # holds subs/ and elsewhere/, outside any kit
    subs: Path
    elsewhere: Path  # where the instructor stands: not a kit, not the submissions' folder
    results: Path

    @property
    def alice(self) -> Path:  # 01 solved, nothing else handed in
        return self.subs / "alice"

    @property
    def empty(self) -> Path:  # an empty folder
        return self.subs / "empty"

    @property
    def astray(self) -> Path:  # files, but none where the kit looks for them
        return self.subs / "astray"


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Place:
    root = tmp_path_factory.mktemp("instructor")
    here = Place(root, root / "subs", root / "elsewhere", root / "results")
    solved = here.alice / "01_coroutines" / "coroutines.py"
    solved.parent.mkdir(parents=True)
    shutil.copyfile(KIT / "solutions" / "01_coroutines" / "coroutines.py", solved)
    here.empty.mkdir()
    (here.astray / "src").mkdir(parents=True)
    (here.astray / "tasks.py").write_text("async def fetch_all(fetch, urls): ...\n")
    (here.astray / "notes.txt").write_text("my answers\n")
    here.elsewhere.mkdir()
    return here


def grade(
    cwd: Path, *args: str, kit: Path | None = KIT, results: Path | None = None
) -> subprocess.CompletedProcess:
    command = [*AIOKATA, "grade", *args]
    if kit is not None:
        command += ["--kit", str(kit)]
    if results is not None:
        command += ["--results", str(results)]
    env = {**os.environ, "COLUMNS": "250"}  # table rows never fold, whatever the path's length
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def first_words(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def notes(text: str) -> list[str]:
    """The `note:` lines of a table, each whole, however the console wrapped it: a note goes
    on to the next blank line or note."""
    found: list[list[str]] = []
    reading = False
    for line in text.splitlines():
        if line.startswith("note:"):
            found.append([])
            reading = True
        elif not line.strip():
            reading = False
        if reading:
            found[-1].append(line.strip())
    return [" ".join(parts) for parts in found]


def graded_names(done: subprocess.CompletedProcess) -> list[str]:
    return [line.split(": ")[0].removeprefix("graded ") for line in progress_lines(done)]


def progress_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("graded ")]


# -- 1. submissions are named as the instructor gave them -------------------------------------
def test_absolute_and_relative_paths_are_shown_as_given(place: Place):
    absolute, relative = str(place.alice), "../subs/empty"
    done = grade(place.elsewhere, absolute, relative, *SELECTED, results=place.results)
    assert done.returncode == 0, done.stderr
    assert graded_names(done) == [absolute, relative]
    assert [w for w in first_words(done.stdout) if w != "note:"][2:] == [absolute, relative]
    assert "../subs/alice" not in done.stdout + done.stderr  # an absolute path made relative


@pytest.mark.parametrize("fmt", ["json", "csv", "junit", "table"])
def test_every_format_names_a_saved_grade_as_given_this_time(place: Place, fmt: str):
    # Graded before (or now) from elsewhere/, under other names: a reused grade takes the name
    # given in this run.
    grade(place.elsewhere, str(place.alice), "../subs/empty", *SELECTED, results=place.results)
    given = ["subs/alice", str(place.empty)]
    done = grade(place.root, *given, *SELECTED, "--format", fmt, results=place.results)
    assert done.returncode == 0, done.stderr
    assert graded_names(done) == given
    assert all(line.endswith("(saved earlier, not regraded)") for line in progress_lines(done))
    if fmt == "json":
        report = json.loads(done.stdout)
        assert [s["name"] for s in report["submissions"]] == given
        assert [s["path"] for s in report["submissions"]] == [str(place.alice), str(place.empty)]
    elif fmt == "csv":
        assert [row["submission"] for row in csv.DictReader(io.StringIO(done.stdout))] == given
    elif fmt == "junit":
        suites = ET.fromstring(done.stdout).findall("testsuite")
        assert {s.get("name").rpartition(" / ")[0] for s in suites} == set(given)
    else:  # the header, its rule, a row each, then the notes
        assert first_words(done.stdout)[2:4] == given
    assert "subs/empty" not in done.stdout.replace(str(place.empty), "")  # never made relative


# -- 2. outside a kit, the error says how to name one ------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ("grade", "../subs/alice"),
        ("bundle", "gradescope"),
        ("bundle", "actions", "--out", "starter"),
        ("bundle", "classroom50", "--out", "starter"),
    ],
    ids=["grade", "bundle-gradescope", "bundle-actions", "bundle-classroom50"],
)
def test_outside_a_kit_the_error_says_to_pass_kit(place: Place, command: tuple[str, ...]):
    done = subprocess.run(
        [*AIOKATA, *command], cwd=place.elsewhere, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: not inside an aiokata kit")
    assert "--kit PATH" in line and f"aiokata {command[0]}" in line
    assert not (place.elsewhere / "starter").exists()
    assert not (place.elsewhere / "aiokata-gradescope.zip").exists()


# -- 3. the default results folder is the kit's ------------------------------------------------
@pytest.fixture
def kit_copy(tmp_path: Path) -> Path:
    """A kit of its own, so that its default results folder is this test's alone."""
    kit = tmp_path / "kit"
    kit.mkdir()
    shutil.copytree(KIT / "exercises", kit / "exercises", ignore=shutil.ignore_patterns("__py*"))
    for name in ("pyproject.toml", "conftest.py"):
        shutil.copyfile(KIT / name, kit / name)
    return kit


def test_with_kit_from_elsewhere_the_grades_are_kept_in_the_kit(place: Place, kit_copy: Path):
    done = grade(place.elsewhere, "../subs/empty", *SELECTED, kit=kit_copy)
    assert done.returncode == 0, done.stderr
    saved = kit_copy / ".aiokata-grades"
    assert len(list(saved.glob("empty-*.json"))) == 1
    assert not (place.elsewhere / ".aiokata-grades").exists()
    assert f"grades saved in {saved}" in done.stderr

    again = grade(place.elsewhere, "../subs/empty", *SELECTED, kit=kit_copy)
    assert progress_lines(again) == ["graded ../subs/empty: 0/11 (saved earlier, not regraded)"]


def test_from_inside_the_kit_the_default_is_the_kits_folder_too(place: Place, kit_copy: Path):
    inside = kit_copy / "exercises" / "03_tasks"
    done = grade(inside, str(place.empty), *SELECTED, kit=None)
    assert done.returncode == 0, done.stderr
    assert len(list((kit_copy / ".aiokata-grades").glob("empty-*.json"))) == 1
    assert not (inside / ".aiokata-grades").exists()


def test_an_explicit_results_folder_is_taken_from_the_current_folder(place: Place, kit_copy: Path):
    done = grade(place.elsewhere, "../subs/empty", *SELECTED, "--results", "grades", kit=kit_copy)
    assert done.returncode == 0, done.stderr
    assert len(list((place.elsewhere / "grades").glob("empty-*.json"))) == 1
    assert not (kit_copy / ".aiokata-grades").exists()
    assert "grades saved in grades:" in done.stderr
    shutil.rmtree(place.elsewhere / "grades")


def test_a_results_folder_that_cannot_be_written_is_refused_before_grading(
    place: Place, tmp_path: Path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = grade(place.elsewhere, "../subs/empty", *SELECTED, results=blocker / "grades")
    assert done.returncode == 1
    assert f"cannot save grades in {blocker / 'grades'}" in done.stderr
    assert "graded" not in done.stderr


# -- 4. nothing (or not everything) handed in --------------------------------------------------
def test_an_empty_submission_is_said_once_with_the_layout_expected(place: Place):
    done = grade(place.elsewhere, str(place.empty), *SELECTED, results=place.results)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert len(out.splitlines()) < 8, out  # the table and one note, not a line per test
    (note,) = notes(out)
    assert "no exercise files found" in note
    assert "01_coroutines/coroutines.py" in note and "exercises/01_coroutines/coroutines.py" in note
    assert "the submission is empty" in note
    assert "not in the submission" not in out


def test_files_in_the_wrong_place_are_named_in_the_note(place: Place):
    done = grade(place.elsewhere, str(place.astray), "-e", "03", results=place.results)
    assert done.returncode == 0, done.stderr
    (note,) = notes(done.stdout)
    assert "expected each exercise's file in a folder of its own, like 03_tasks/tasks.py" in note
    assert "the submission holds notes.txt, src/, tasks.py" in note


def test_a_missing_exercise_is_said_once_not_once_per_test(place: Place):
    done = grade(place.elsewhere, str(place.alice), *SELECTED, results=place.results)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("03_tasks/tasks.py") == 1, out
    (note,) = notes(out)
    assert note == "note: not in the submission, so not graded (0 points): 03_tasks/tasks.py"
    assert "every task handed in passes" in out
    assert len(out.splitlines()) < 10, out


def test_the_machine_formats_carry_the_missing_files(place: Place):
    def render(folder: Path, fmt: str) -> str:
        done = grade(
            place.elsewhere, str(folder), *SELECTED, "--format", fmt, results=place.results
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    (alice,) = json.loads(render(place.alice, "json"))["submissions"]
    (empty,) = json.loads(render(place.empty, "json"))["submissions"]
    assert (alice["score"], alice["max_score"], empty["score"]) == (6, 11, 0)
    assert alice["notes"] == ["not in the submission, so not graded (0 points): 03_tasks/tasks.py"]
    assert len(empty["notes"]) == 1 and "no exercise files found" in empty["notes"][0]
    assert empty["duration"] < 1  # no process was started for nothing
    for exercise in [alice["exercises"][1], *empty["exercises"]]:
        (note,) = exercise["notes"]
        assert note.startswith(f"{exercise['name']}/") and "is not in the submission" in note
        assert exercise["status"] == "fail" and exercise["score"] == 0
        assert all(t["score"] == 0 and t["status"] == "fail" for t in exercise["tasks"])
        assert all(t["tests"] == [] for t in exercise["tasks"])
    assert alice["exercises"][0]["notes"] == [] and alice["exercises"][0]["score"] == 6

    (row,) = csv.DictReader(io.StringIO(render(place.alice, "csv")))
    assert (row["01_coroutines"], row["03_tasks"], row["total"]) == ("6", "0", "6")

    root = ET.fromstring(render(place.alice, "junit"))
    suite = root.find("testsuite[@name='" + str(place.alice) + " / 03_tasks']")
    assert suite is not None and suite.get("failures") == suite.get("tests") == "3"
    assert suite.get("errors") == "0"
    messages = {f.get("message") for f in suite.iter("failure")}
    assert len(messages) == 1 and MISSING_03 in messages.pop()
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert MISSING_03 in props["note"]

    gradescope = json.loads(render(place.alice, "gradescope"))
    assert gradescope["score"] == 6
    lost = [t for t in gradescope["tests"] if t["number"].startswith("3.")]
    assert len(lost) == 3 and all(t["score"] == 0 and t["status"] == "failed" for t in lost)
    assert all(MISSING_03 in t["output"] for t in lost)
    assert "03_tasks/tasks.py" in gradescope["output"]
