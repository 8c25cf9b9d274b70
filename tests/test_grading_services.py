"""The kit packaged for Gradescope and GitHub Classroom (`aiokata bundle`), and the scripts those
services run, tried on fake service layouts with reference solutions as the submissions."""

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiokata import catalog
from aiokata.grading import bundle

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
FIRST, SECOND = EXERCISES[0], EXERCISES[1]
HELPER = Path("autograders/github-classroom/classroom.py")


def solution(exercise: catalog.Exercise) -> Path:
    return KIT / "solutions" / exercise.name / exercise.module_file


def stub(exercise: catalog.Exercise) -> Path:
    return KIT / "src" / "aiokata" / "stubs" / exercise.name / exercise.module_file


def kit_copy(folder: Path) -> Path:
    """The parts of the kit a bundle reads, copied so a test can change them."""
    caches = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*")
    folder.mkdir()
    for name in ("pyproject.toml", "conftest.py", "README.md", ".gitignore"):
        shutil.copyfile(KIT / name, folder / name)
    for name in ("src", "exercises", "autograders"):
        shutil.copytree(KIT / name, folder / name, ignore=caches)
    return folder


# --- Gradescope: the zip ---------------------------------------------------------------------


def test_the_gradescope_zip_holds_the_scripts_and_the_kit_and_no_answers(tmp_path):
    out = tmp_path / "autograder.zip"
    names = bundle.build_gradescope_bundle(KIT, out)

    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == names
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        settings = archive.read("aiokata.env").decode()
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & 0o111 == 0o111, f"{script} is not executable in the zip"
    assert {n for n in names if "/" not in n} == {"setup.sh", "run_autograder", "aiokata.env"}
    assert all(n.startswith("kit/") for n in names if "/" in n)
    for needed in ("pyproject.toml", "conftest.py", "README.md", "src/aiokata/cli.py"):
        assert f"kit/{needed}" in names
    for exercise in EXERCISES:
        folder = f"kit/exercises/{exercise.name}"
        for name in ("exercise.toml", "README.md", exercise.module_file, exercise.test_file.name):
            assert f"{folder}/{name}" in names
    for name in names:
        parts = name.split("/")
        assert parts[1:2] not in (["solutions"], ["tests"]), name
        assert not any(p.startswith(".") or p == "__pycache__" for p in parts), name
        assert not name.endswith((".pyc", ".zip")), name
    assert "AIOKATA_EXERCISES=\n" in settings  # every exercise


def test_the_zip_holds_untouched_stubs_even_from_a_kit_someone_worked_in(tmp_path):
    kit = kit_copy(tmp_path / "kit")
    worked = kit / "exercises" / FIRST.name / FIRST.module_file
    shutil.copyfile(solution(FIRST), worked)  # an instructor who did the kata here
    (kit / "exercises" / FIRST.name / "__pycache__").mkdir()
    (kit / "exercises" / FIRST.name / "notes.txt").write_text("my answers")

    out = tmp_path / "week1.zip"
    settings = bundle.GradescopeSettings(exercises=(FIRST.name,), timeout=120, memory=1024)
    names = bundle.build_gradescope_bundle(kit, out, settings)

    shipped = f"kit/exercises/{FIRST.name}/{FIRST.module_file}"
    with zipfile.ZipFile(out) as archive:
        assert archive.read(shipped) == stub(FIRST).read_bytes()
        settings_text = archive.read("aiokata.env").decode()
    assert f"kit/exercises/{FIRST.name}/notes.txt" not in names
    assert any("not the untouched stub" in note for note in bundle.kit_files(kit).notes)
    assert f"AIOKATA_EXERCISES={FIRST.name}\n" in settings_text
    assert "AIOKATA_TIMEOUT=120\n" in settings_text and "AIOKATA_MEMORY=1024\n" in settings_text


# --- Gradescope: run_autograder on a fake /autograder ----------------------------------------


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    bundle.build_gradescope_bundle(KIT, out)
    return out


def gradescope_root(folder: Path, autograder_zip: Path) -> Path:
    """/autograder as Gradescope lays it out: source/ (the zip), run_autograder, submission/."""
    root = folder / "autograder"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path, **env: str) -> dict:
    temp = root.parent / "tmp"  # its scratch folder, where a test can see it
    temp.mkdir(exist_ok=True)
    settings = {
        "TMPDIR": str(temp),
        "AUTOGRADER_ROOT": str(root),
        "AIOKATA_PYTHON": sys.executable,  # this Python has aiokata; setup.sh's venv is not made
        "AIOKATA_SANDBOX": "off",
        "AIOKATA_USER": "",
        **env,
    }
    done = subprocess.run(
        [str(root / "run_autograder")],
        cwd=root,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_run_autograder_grades_a_zip_of_the_students_folder(tmp_path, autograder_zip):
    root = gradescope_root(tmp_path, autograder_zip)
    work = root / "submission" / "my-asyncio-work" / FIRST.name  # the folder was zipped
    work.mkdir(parents=True)
    shutil.copyfile(solution(FIRST), work / FIRST.module_file)

    results = run_autograder(root, AIOKATA_EXERCISES=f"{FIRST.number:02d} {SECOND.number:02d}")

    assert results["score"] == FIRST.points
    assert len(results["tests"]) == len(FIRST.tasks) + len(SECOND.tasks)
    statuses = {t["number"]: t["status"] for t in results["tests"]}
    for task in FIRST.tasks:
        assert statuses[f"{FIRST.number}.{task.id}"] == "passed"
    for task in SECOND.tasks:  # not submitted
        assert statuses[f"{SECOND.number}.{task.id}"] == "failed"
    assert sum(t["max_score"] for t in results["tests"]) == FIRST.points + SECOND.points
    assert sum(t["score"] for t in results["tests"]) == results["score"]


@pytest.mark.parametrize("how", ["bare files", "a zip left packed"])
def test_run_autograder_finds_the_work_however_it_was_uploaded(tmp_path, autograder_zip, how):
    root = gradescope_root(tmp_path, autograder_zip)
    if how == "bare files":  # dragged into the upload dialog: no folders
        shutil.copyfile(solution(FIRST), root / "submission" / FIRST.module_file)
    else:
        with zipfile.ZipFile(root / "submission" / "work.zip", "w") as archive:
            name = f"exercises/{FIRST.name}/{FIRST.module_file}"
            archive.write(solution(FIRST), name)
            archive.writestr("../escaped.py", "print('outside')")

    results = run_autograder(root, AIOKATA_EXERCISES=f"{FIRST.number:02d}")

    assert results["score"] == FIRST.points
    assert {t["status"] for t in results["tests"]} == {"passed"}
    assert not list(tmp_path.rglob("escaped.py"))


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"AIOKATA_PYTHON": "/nonexistent/python"}, "not installed"),
        ({"AIOKATA_EXERCISES": "99"}, "no exercise '99'"),
        ({"AIOKATA_SANDBOX": "sometimes"}, "AIOKATA_SANDBOX must be"),
    ],
)
def test_run_autograder_leaves_a_zero_score_saying_why_when_grading_fails(
    tmp_path, autograder_zip, env, reason
):
    root = gradescope_root(tmp_path, autograder_zip)
    shutil.copyfile(solution(FIRST), root / "submission" / FIRST.module_file)

    results = run_autograder(root, **env)

    assert results["score"] == 0
    assert results["tests"] == []
    assert reason in results["output"]


# --- GitHub Classroom ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classroom") / "starter"
    bundle.build_classroom_starter(KIT, out, (FIRST.name, SECOND.name))
    return out


def test_the_classroom_starter_has_the_kit_and_workflow_and_no_answers(starter):
    assert not (starter / "solutions").exists()
    assert not (starter / "tests").exists()
    assert (starter / HELPER).is_file()
    assert (
        stub(FIRST).read_bytes()
        == (starter / "exercises" / FIRST.name / FIRST.module_file).read_bytes()
    )
    assert 'testpaths = ["exercises"]' in (starter / "pyproject.toml").read_text()

    workflow = (starter / ".github" / "workflows" / "classroom.yml").read_text()
    # Classroom reads scores only from this workflow name and this single job.
    assert "\nname: Autograding Tests\n" in workflow
    assert "\n  run-autograding-tests:\n" in workflow
    assert f'AIOKATA_EXERCISES: "{FIRST.name} {SECOND.name}"' in workflow
    assert f"python {HELPER.as_posix()}" not in workflow  # it runs the kit's copy:
    assert f'python "$AIOKATA_KIT/{HELPER.as_posix()}" --kit "$AIOKATA_KIT" .' in workflow
    assert "id: grade" in workflow
    assert "uses: classroom-resources/autograding-grading-reporter@v1" in workflow
    assert 'GRADE_RESULTS: "${{ steps.grade.outputs.result }}"' in workflow
    assert "runners: grade" in workflow
    assert 'python-version: "3.12"' in workflow
    assert "\t" not in workflow

    try:
        import yaml
    except ImportError:
        return
    job = yaml.safe_load(workflow)["jobs"]["run-autograding-tests"]
    ids = [step.get("id") for step in job["steps"]]
    assert "grade" in ids


def test_the_template_in_the_kit_grades_every_exercise_by_default():
    template = (KIT / "autograders" / "github-classroom" / "aiokata.yml").read_text()
    assert 'AIOKATA_EXERCISES: ""' in template
    filled = bundle.classroom_workflow(template, ("03_tasks",))
    assert 'AIOKATA_EXERCISES: "03_tasks"' in filled


def classroom_helper(starter: Path, work: Path, **env: str) -> tuple[dict, str]:
    """Run the workflow's Grade step in `work`, a student's repository; (payload, summary)."""
    output, summary = work.parent / "output.txt", work.parent / "summary.md"
    settings = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(work.parent),
        **env,
    }
    done = subprocess.run(
        [sys.executable, str(starter / HELPER), "--kit", str(starter), "."],
        cwd=work,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = output.read_text().splitlines()
    key, _, value = line.partition("=")
    assert key == "result"
    return json.loads(base64.b64decode(value)), summary.read_text(encoding="utf-8")


def test_the_classroom_grade_step_reports_each_task_with_its_points(starter, tmp_path):
    repo = tmp_path / "repo"  # the student's clone: their work in exercises/
    exercise = repo / "exercises" / FIRST.name
    exercise.mkdir(parents=True)
    shutil.copyfile(solution(FIRST), exercise / FIRST.module_file)

    keys = f"{FIRST.number:02d} {SECOND.number:02d}"
    payload, summary = classroom_helper(starter, repo, AIOKATA_EXERCISES=keys)

    assert payload["version"] == 1
    assert payload["status"] == "fail"  # the second exercise is not done
    assert payload["max_score"] == FIRST.points + SECOND.points
    assert len(payload["tests"]) == len(FIRST.tasks) + len(SECOND.tasks)
    first, second = payload["tests"][: len(FIRST.tasks)], payload["tests"][len(FIRST.tasks) :]
    assert [t["score"] for t in first] == [task.points for task in FIRST.tasks]
    assert {t["status"] for t in first} == {"pass"}
    assert {t["status"] for t in second} == {"fail"} and {t["score"] for t in second} == {0}
    assert all(t["message"] for t in second)
    assert f"{FIRST.points}/{FIRST.points + SECOND.points} points" in summary


def test_the_classroom_grade_step_reports_an_error_when_grading_fails(starter, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    payload, _ = classroom_helper(starter, repo, AIOKATA_EXERCISES="99")

    assert payload["status"] == "error"
    (test,) = payload["tests"]
    assert test["score"] == 0 and "no exercise '99'" in test["message"]


# --- the command -----------------------------------------------------------------------------


def test_the_bundle_command_writes_the_zip_and_refuses_unknown_exercises(tmp_path):
    runner = CliRunner()
    out = tmp_path / "week1.zip"
    args = ["gradescope", "--kit", str(KIT), "--out", str(out), "-e", "1"]
    done = runner.invoke(bundle.bundle, args)
    assert done.exit_code == 0, done.output
    assert zipfile.is_zipfile(out)

    done = runner.invoke(bundle.bundle, ["gradescope", "--kit", str(KIT), "-e", "99"])
    assert done.exit_code == 1 and "no exercise '99'" in done.output

    starter = tmp_path / "starter"
    done = runner.invoke(bundle.bundle, ["classroom", "--kit", str(KIT), "--out", str(starter)])
    assert done.exit_code == 0, done.output
    again = runner.invoke(bundle.bundle, ["classroom", "--kit", str(KIT), "--out", str(starter)])
    assert again.exit_code == 1 and "not an empty folder" in again.output

    help_text = runner.invoke(bundle.bundle, ["--help"]).output
    assert "Examples:" in help_text and "aiokata bundle gradescope" in help_text


def test_the_service_scripts_are_executable_in_the_kit():
    for name in ("setup.sh", "run_autograder"):
        mode = (KIT / "autograders" / "gradescope" / name).stat().st_mode
        assert mode & stat.S_IXUSR, f"autograders/gradescope/{name} is not executable"
