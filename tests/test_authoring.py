"""The author's verbs, `aiokata new` and `aiokata prove`, and the rule that no exercise keeps
a template's FILL IN."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiokata import authoring, catalog, progress, proofs

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)


def _files_of(kit: Path, exercise: catalog.Exercise) -> list[Path]:
    """Every file an author writes for `exercise`."""
    found = sorted(p for p in exercise.folder.iterdir() if p.is_file() and p.suffix != ".pyc")
    found += [progress.solution_file(kit, exercise)]
    proof_folder = kit / "tests" / "proofs" / exercise.name
    if proof_folder.is_dir():
        found += sorted(proof_folder.glob("*.*"))
    return found


def placeholders(kit: Path, exercise: catalog.Exercise) -> list[str]:
    left = []
    for path in _files_of(kit, exercise):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if authoring.PLACEHOLDER in line:
                left.append(f"{path.relative_to(kit)}:{number}: {line.strip()}")
    return left


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_no_exercise_still_holds_a_template_placeholder(exercise: catalog.Exercise) -> None:
    left = placeholders(KIT, exercise)
    assert not left, (
        f"{exercise.name} still holds the template's {authoring.PLACEHOLDER} (from `aiokata "
        "new`): write each of these, as CONTRIBUTING.md describes:\n  " + "\n  ".join(left)
    )


# -- driving the verbs on a copy of the kit, with the copy's own engine on the path


def copy_of_the_kit(copy: Path) -> Path:
    skipped = shutil.ignore_patterns(
        ".git", ".venv", ".aiokata", ".aiokata-grades", "__pycache__", "*.egg-info"
    )

    def ignore(folder: str, names: list[str]) -> set[str]:
        # the golden grading cases are large and play no part here
        return skipped(folder, names) | ({"grading"} if Path(folder) == KIT / "tests" else set())

    shutil.copytree(KIT, copy, ignore=ignore)
    return copy


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    return copy_of_the_kit(tmp_path / "kit")


@pytest.fixture(scope="module")
def refusing_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy for the verbs that must refuse (and so write nothing): each new copy's
    engine is compiled afresh, a second and a half a copy."""
    return copy_of_the_kit(tmp_path_factory.mktemp("refusing") / "kit")


def run(kit: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(kit / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], cwd=kit, capture_output=True, text=True, env=env, timeout=timeout
    )


SELF_TESTS = [
    "tests/test_catalog.py",
    "tests/test_lessons.py",
    "tests/test_checklist.py",
    "tests/test_authoring.py::test_no_exercise_still_holds_a_template_placeholder",
]


def test_new_lays_out_an_exercise_that_proves_and_is_accepted_once_filled_in(kit: Path):
    made = run(kit, "-m", "aiokata", "new", "97", "widgets", "--title", "Widgets")
    assert made.returncode == 0, made.stderr
    name = "97_widgets"
    for path in (
        f"exercises/{name}/exercise.toml",
        f"exercises/{name}/README.md",
        f"exercises/{name}/widgets.py",
        f"exercises/{name}/test_widgets.py",
        f"solutions/{name}/widgets.py",
        f"src/aiokata/stubs/{name}/widgets.py",
        f"tests/proofs/{name}/proofs.toml",
    ):
        assert (kit / path).is_file(), (path, made.stdout)
        assert f"wrote {path}" in made.stdout
    loaded = run(kit, "-c", "from aiokata import progress; print(progress.STUBS)")
    assert loaded.stdout.strip() == str(kit / "src" / "aiokata" / "stubs"), loaded

    learner = run(kit, "-m", "pytest", "-q", "-p", "no:randomly", "exercises/97")
    assert learner.returncode == 1 and "not written yet" in learner.stdout, learner.stdout[-2000:]
    proved = run(kit, "-m", "aiokata", "prove", "97")
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert "97_widgets: 7 of 7 proofs hold" in proved.stdout, proved.stdout

    unfinished = run(kit, "-m", "pytest", "-q", "-p", "no:randomly", *SELF_TESTS, "-k", name)
    assert unfinished.returncode == 1, unfinished.stdout[-3000:]
    assert f"exercises/{name}/README.md:" in unfinished.stdout, unfinished.stdout[-3000:]

    for path in kit.rglob("*"):
        if path.is_file() and name in path.parts and path.suffix in (".py", ".md", ".toml"):
            path.write_text(path.read_text().replace(authoring.PLACEHOLDER, "Written"))
    finished = run(kit, "-m", "pytest", "-q", "-p", "no:randomly", *SELF_TESTS, "-k", name)
    assert finished.returncode == 0, finished.stdout[-3000:]

    # A catalogued wrong answer that is in fact right: prove says so, and exits 1.
    solution = kit / "solutions" / name / "widgets.py"
    shutil.copyfile(solution, kit / "tests" / "proofs" / name / "first_forgets_to_add.py")
    broken = run(kit, "-m", "aiokata", "prove", "97")
    assert broken.returncode == 1, broken.stdout
    assert "✗ does not hold: first_forgets_to_add: should fail tasks [1]" in broken.stdout, (
        broken.stdout
    )

    # A proof file named in proofs.toml but missing (renamed, say) is one verdict, not a crash.
    (kit / "tests" / "proofs" / name / "first_forgets_to_add.py").unlink()
    missing = run(kit, "-m", "aiokata", "prove", "97")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr, missing.stderr
    assert "proofs.toml names first_forgets_to_add.py, and there is no such file" in (
        missing.stdout
    ), missing.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["new", f"{EXERCISES[0].number}", "again"], "exists already"),
        (["new", "96", "Bad-Slug"], "lower-case letters"),
        (["new", "100", "widgets"], "100"),
        (["prove", "nope"], "no exercise 'nope'"),
    ],
)
def test_the_author_verbs_refuse_bad_input_in_one_line(
    refusing_kit: Path, args: list[str], says: str
):
    before = sorted(p.relative_to(refusing_kit) for p in refusing_kit.rglob("*"))
    done = run(refusing_kit, "-m", "aiokata", *args)
    assert done.returncode in (1, 2), done.stdout
    assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
    after = sorted(p.relative_to(refusing_kit) for p in refusing_kit.rglob("*"))
    written = [p for p in set(after) - set(before) if ".aiokata" not in p.parts]
    assert not written, f"a refused `aiokata {' '.join(args)}` still wrote {written}"


def test_the_proof_verdicts_name_what_went_wrong(tmp_path: Path) -> None:
    (tmp_path / "wrong_one.py").write_text("")
    wrong = proofs.Proof("01_x", tmp_path / "wrong_one.py", "wrong", "why", fails=(2,), says="boom")
    tests = [
        {"task": 1, "status": "fail", "nodeid": "a", "message": "boom happened"},
        {"task": 2, "status": "pass", "nodeid": "b", "message": ""},
    ]
    verdict = proofs.check_proof(wrong, tests)
    assert not verdict.held and "should fail tasks [2]" in verdict.detail
    tests[1] = {"task": 2, "status": "fail", "nodeid": "b", "message": "quiet"}
    tests[0]["status"] = "pass"
    verdict = proofs.check_proof(wrong, tests)
    assert not verdict.held and "no failure says 'boom'" in verdict.detail
    tests[1]["message"] = "a BOOM"
    verdict = proofs.check_proof(wrong, tests)
    assert verdict.held and verdict.detail == "fails task 2: a BOOM"
    stub = proofs.check_stub("01_x", [{"status": "pass", "nodeid": "c", "message": ""}])
    assert not stub.held and "got pass" in stub.detail
    (tmp_path / "wrong_one.py").unlink()
    gone = proofs.check_proof(wrong, tests)
    assert not gone.held and "no such file" in gone.detail
