"""Every exercise's metadata is valid, and broken metadata is reported clearly."""

import sys
from pathlib import Path

import pytest

from aiokata import catalog, targets

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)

GOOD = """
number = 7
slug = "demo"
title = "Demo"
concept = "a demo"
hints = ["nudge", "more", "nearly the answer"]

[[tasks]]
id = 1
title = "one"
points = 1

[[tasks]]
id = 2
title = "two"
points = 2

[[tasks]]
id = 3
title = "three"
points = 1
"""


def make(tmp_path: Path, text: str = GOOD, name: str = "07_demo") -> Path:
    folder = tmp_path / "exercises" / name
    folder.mkdir(parents=True)
    (folder / catalog.METADATA).write_text(text)
    for needed in ("demo.py", "test_demo.py", "README.md"):
        (folder / needed).write_text("")
    return folder


def test_the_catalogue_is_not_empty_and_numbered_in_order():
    assert EXERCISES, "no exercises found"
    numbers = [e.number for e in EXERCISES]
    assert numbers == sorted(set(numbers))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_exercise_metadata_is_complete(exercise: catalog.Exercise):
    assert len(exercise.tasks) >= catalog.MIN_TASKS
    assert len(exercise.hints) >= catalog.MIN_HINTS
    assert exercise.points > 0
    solution = KIT / "solutions" / exercise.name / exercise.module_file
    assert solution.is_file(), f"{exercise.name}: no reference solution at {solution}"
    curriculum_links = (exercise.folder / "README.md").read_text()
    assert "docs.python.org" in curriculum_links, f"{exercise.name}: the lesson links no docs"
    assert f"pytest exercises/{exercise.number:02d}" in curriculum_links


def test_every_exercise_folder_has_metadata():
    folders = [p for p in (KIT / "exercises").iterdir() if catalog.FOLDER.match(p.name)]
    missing = [p.name for p in folders if not (p / catalog.METADATA).is_file()]
    assert not missing, f"exercise folders without {catalog.METADATA}: {missing}"


def test_target_module_names_never_shadow_anything():
    for exercise in EXERCISES:
        name = targets.module_name(exercise)
        assert name not in sys.stdlib_module_names
        assert name.startswith("aiokata_target_")


def test_a_good_folder_loads(tmp_path: Path):
    exercise = catalog.load_exercise(make(tmp_path))
    assert (exercise.number, exercise.slug, exercise.points) == (7, "demo", 4)
    assert exercise.hints[0] == "nudge"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda t: t.replace("number = 7", "number = 8"), "do not match the folder name"),
        (
            lambda t: t.replace('hints = ["nudge", "more", "nearly the answer"]', 'hints = ["x"]'),
            "at least 3 non-empty hints",
        ),
        (lambda t: t.replace("id = 3", "id = 4"), "numbered 1, 2, 3"),
        (lambda t: t.replace("points = 2", "points = 0"), "at least one point"),
        (lambda t: t.replace('title = "Demo"', "title = 5"), "`title` must be a str"),
        (lambda t: t + "\n[oops", "not valid TOML"),
        (
            lambda t: t.replace("hints = ", "# hints = ") + 'hints = ["a", "b", "c"]\n',
            "at least 3 non-empty hints",
        ),
    ],
    ids=["number", "hints", "task-ids", "points", "types", "toml", "hints-inside-a-task"],
)
def test_broken_metadata_names_the_problem(tmp_path: Path, change, complaint: str):
    folder = make(tmp_path, change(GOOD))
    with pytest.raises(catalog.CatalogError, match=complaint) as caught:
        catalog.load_exercise(folder)
    assert str(folder) in str(caught.value)


def test_a_missing_lesson_is_reported(tmp_path: Path):
    folder = make(tmp_path)
    (folder / "README.md").unlink()
    with pytest.raises(catalog.CatalogError, match=r"missing README\.md"):
        catalog.load_exercise(folder)


def test_find_accepts_number_folder_and_slug():
    exercise = EXERCISES[0]
    for key in (exercise.number, f"{exercise.number:02d}", exercise.name, exercise.slug):
        assert catalog.find(KIT, key) == exercise
    assert catalog.find(KIT, 99) is None


def test_broken_metadata_stops_pytest_with_a_clear_error(tmp_path: Path):
    import subprocess

    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "pyproject.toml").write_text((KIT / "pyproject.toml").read_text())
    make(kit, GOOD.replace("number = 7", "number = 8"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "exercises"], cwd=kit, capture_output=True, text=True
    )
    assert done.returncode == 4
    assert "broken exercise metadata" in done.stderr and "07_demo" in done.stderr


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_package_keeps_an_exact_copy_of_every_stub(exercise: catalog.Exercise):
    # `aiokata reset` restores from this copy; an author who edits a stub must update both.
    from aiokata import progress

    pristine = progress.pristine_stub(exercise)
    mine = f"exercises/{exercise.name}/{exercise.module_file}"
    assert pristine.is_file(), f"copy {mine} to {pristine}"
    assert pristine.read_bytes() == progress.learner_file(exercise).read_bytes(), (
        f"{pristine} differs from exercises/{exercise.name}/{exercise.module_file}: an author "
        "changed one without the other (or this checkout's exercise has been worked on)"
    )
