"""Every task has been walked through the checklist (CONTRIBUTING.md, "The checklist"): each
kind names the task's tests that cover it, or says why it does not apply, and every kind that
applies somewhere in an exercise has a wrong solution in its proofs that makes that mistake."""

from pathlib import Path

import pytest

from aiokata import bytask, catalog, proofs

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
PROOFS = proofs.load_proofs(KIT)


def _task_of_each_test(exercise: catalog.Exercise) -> dict[str, int | None]:
    return bytask.task_of_each_test(exercise.test_file)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_every_task_is_walked_through_the_whole_checklist(exercise: catalog.Exercise) -> None:
    tests = _task_of_each_test(exercise)
    problems = []
    for task in exercise.tasks:
        given = dict(task.checklist)
        missing = [kind for kind in catalog.CHECKLIST if kind not in given]
        if missing:
            problems.append(f"task {task.id}: no checklist entry for {', '.join(missing)}")
        for kind, covered in given.items():
            if isinstance(covered, str):
                continue  # "n/a: why"
            for name in covered:
                if name not in tests:
                    problems.append(f"task {task.id} {kind}: no test named {name}")
                elif tests[name] != task.id:
                    problems.append(
                        f"task {task.id} {kind}: {name} belongs to task {tests[name]}, "
                        f"not {task.id}"
                    )
    assert not problems, f"{exercise.name}/{catalog.METADATA}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_every_kind_that_applies_has_a_wrong_solution(exercise: catalog.Exercise) -> None:
    applies = {
        kind
        for task in exercise.tasks
        for kind, covered in task.checklist
        if not isinstance(covered, str)
    }
    wrong = [p for p in PROOFS if p.exercise == exercise.name and p.kind == "wrong"]
    unknown = {k for p in wrong for k in p.kinds} - set(catalog.CHECKLIST)
    assert not unknown, f"{exercise.name}: proofs name unknown kinds {sorted(unknown)}"
    shown = {k for p in wrong for k in p.kinds}
    lacking = [kind for kind in catalog.CHECKLIST if kind in applies and kind not in shown]
    assert not lacking, (
        f"{exercise.name}: the checklist says these kinds apply, but no wrong solution in "
        f"tests/proofs/{exercise.name}/proofs.toml has them in `kinds`: {', '.join(lacking)}"
    )


MINIMAL = """
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
points = 1
[[tasks]]
id = 3
title = "three"
points = 1
[tasks.checklist]
"""


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("duplicate = ['test_x']", "unknown checklist kinds"),
        ("falsy = 'skip'", 'or say "n/a: why"'),
        ("falsy = []", 'or say "n/a: why"'),
        ("falsy = 'n/a'", 'or say "n/a: why"'),
    ],
)
def test_broken_checklists_are_refused(tmp_path: Path, entry: str, says: str) -> None:
    folder = tmp_path / "07_demo"
    folder.mkdir()
    for name in ("demo.py", "test_demo.py", "README.md"):
        (folder / name).write_text("")
    (folder / catalog.METADATA).write_text(MINIMAL + entry + "\n", encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match=says):
        catalog.load_exercise(folder)


def test_a_complete_checklist_is_read_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "07_demo"
    folder.mkdir()
    for name in ("demo.py", "test_demo.py", "README.md"):
        (folder / name).write_text("")
    entry = "timing = ['test_a', 'test_b']\nduplicates = 'n/a: takes no inputs'\n"
    (folder / catalog.METADATA).write_text(MINIMAL + entry, encoding="utf-8")
    task = catalog.load_exercise(folder).tasks[2]
    assert task.checklist == (
        ("duplicates", "n/a: takes no inputs"),
        ("timing", ("test_a", "test_b")),
    )
