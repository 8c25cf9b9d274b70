"""The kit packaged for grading services (`aiokata bundle`): Gradescope's zip and the scripts
Gradescope runs, tried on a fake /autograder with reference solutions as the submissions; the
GitHub Actions starter and the Classroom 50 folder, by what they hold (tests/test_courses.py
runs them); and the refusal left where GitHub Classroom's bundle was."""

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


# --- GitHub Actions: the starter repository -------------------------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("actions") / "starter"
    bundle.build_starter(KIT, out, (FIRST.name, SECOND.name))
    return out


def assert_no_answers(folder: Path) -> None:
    assert not (folder / "solutions").exists()
    assert not (folder / "tests").exists()
    for path in folder.rglob("*"):
        assert "__pycache__" not in path.parts and not path.name.endswith(".pyc"), path


def test_the_actions_starter_has_the_kit_and_workflow_and_no_answers(starter):
    assert_no_answers(starter)
    assert (
        stub(FIRST).read_bytes()
        == (starter / "exercises" / FIRST.name / FIRST.module_file).read_bytes()
    )
    assert 'testpaths = ["exercises"]' in (starter / "pyproject.toml").read_text()
    assert (starter / ".gitignore").is_file()
    # Only the workflow is added: nothing of autograders/ is needed in a student's repository.
    added = [p.relative_to(starter).as_posix() for p in (starter / ".github").rglob("*.*")]
    assert added == [bundle.ACTIONS_WORKFLOW]
    assert not (starter / "autograders").exists()
    workflow = (starter / bundle.ACTIONS_WORKFLOW).read_text()
    assert f'AIOKATA_EXERCISES: "{FIRST.name} {SECOND.name}"' in workflow
    assert "\t" not in workflow


def test_the_workflow_in_the_kit_grades_every_exercise_by_default():
    template = (KIT / "autograders" / "github-actions" / "aiokata.yml").read_text()
    assert 'AIOKATA_EXERCISES: ""' in template
    filled = bundle.actions_workflow(template, ("03_tasks",))
    assert 'AIOKATA_EXERCISES: "03_tasks"' in filled
    assert filled.replace('"03_tasks"', '""') == template
    with pytest.raises(bundle.BundleError, match="no AIOKATA_EXERCISES line"):
        bundle.actions_workflow("name: aiokata\n", ())


# --- Classroom 50: the per-assignment folder -------------------------------------------------


def test_the_classroom50_folder_has_the_autograder_its_settings_and_the_kit(tmp_path):
    kit = kit_copy(tmp_path / "kit")
    shutil.copyfile(solution(FIRST), kit / "exercises" / FIRST.name / FIRST.module_file)
    out, template = tmp_path / "week1", tmp_path / "template"
    settings = bundle.Classroom50Settings(exercises=(FIRST.name,), timeout=300, sandbox="off")

    names, notes = bundle.build_classroom50_bundle(kit, out, settings, template)

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == names
    assert {n for n in names if "/" not in n} == {"autograder.py", "aiokata.env"}
    assert all(n.startswith("kit/") for n in names if "/" in n)
    assert (out / "autograder.py").stat().st_mode & stat.S_IXUSR
    assert (out / "aiokata.env").read_text() == (
        "# Read by autograder.py; an environment variable of the same name wins.\n"
        f"AIOKATA_EXERCISES={FIRST.name}\nAIOKATA_TIMEOUT=300\nAIOKATA_MEMORY=2048\n"
        "AIOKATA_SANDBOX=off\n"
    )
    shipped = out / "kit" / "exercises" / FIRST.name / FIRST.module_file
    assert shipped.read_bytes() == stub(FIRST).read_bytes()  # never the instructor's answers
    assert any("not the untouched stub" in note for note in notes)
    for folder in (out, out / "kit", template):
        assert_no_answers(folder)
    in_template = template / "exercises" / FIRST.name / FIRST.module_file
    assert in_template.read_bytes() == stub(FIRST).read_bytes()
    assert not (template / ".github").exists()  # Classroom 50 writes its own workflow there


def test_the_classroom50_folder_and_template_must_be_new_and_apart(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for out, template, message in (
        (tmp_path / "full", None, "not an empty folder"),
        (tmp_path / "a", tmp_path / "full", "not an empty folder"),
        (tmp_path / "b", tmp_path / "b" / "template", "two separate folders"),
        (KIT / "autograders" / "week1", None, "inside the kit"),
    ):
        with pytest.raises(bundle.BundleError, match=message):
            bundle.build_classroom50_bundle(KIT, out, template=template)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert not (KIT / "autograders" / "week1").exists()


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

    help_text = runner.invoke(bundle.bundle, ["--help"]).output
    assert "Examples:" in help_text and "aiokata bundle gradescope" in help_text
    assert "actions" in help_text and "classroom50" in help_text
    assert "classroom " not in help_text.replace("classroom50", "")


@pytest.mark.parametrize("service", ["actions", "classroom50"])
def test_the_folder_commands_write_once_and_refuse_a_folder_in_use(tmp_path, service):
    runner = CliRunner()
    out = tmp_path / service
    args = [service, "--kit", str(KIT), "--out", str(out), "-e", "01"]
    done = runner.invoke(bundle.bundle, args)
    assert done.exit_code == 0, done.output
    assert f"{FIRST.points} points in all" in done.output
    written = bundle.ACTIONS_WORKFLOW if service == "actions" else "autograder.py"
    assert (out / written).is_file()
    again = runner.invoke(bundle.bundle, args)
    assert again.exit_code == 1 and "not an empty folder" in again.output
    missing = runner.invoke(bundle.bundle, [service, "--kit", str(KIT), "-e", "01"])
    assert missing.exit_code == 2 and "--out" in missing.output


@pytest.mark.parametrize(
    "args",
    [[], ["--out", "starter"], ["--out", "starter", "-e", "01", "--kit", "."], ["--help"]],
)
def test_the_classroom_bundle_says_github_classroom_is_gone_and_names_the_replacements(
    tmp_path, args
):
    done = subprocess.run(
        [sys.executable, "-m", "aiokata", "bundle", "classroom", *args],
        cwd=tmp_path,  # not a kit: the refusal does not need one
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: GitHub Classroom shut down on 2026-08-28")
    assert "aiokata bundle actions" in line and "aiokata bundle classroom50" in line
    assert not (tmp_path / "starter").exists()


def test_the_service_scripts_are_executable_in_the_kit():
    for name in ("gradescope/setup.sh", "gradescope/run_autograder", "classroom50/autograder.py"):
        mode = (KIT / "autograders" / name).stat().st_mode
        assert mode & stat.S_IXUSR, f"autograders/{name} is not executable"
    assert not (KIT / "autograders" / "github-classroom").exists()
