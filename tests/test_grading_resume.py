"""A rerun of `aiokata grade` reuses a saved grade only while it still holds: same files, same
kit, same settings. A student who fixes their file after a first grading is graded again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
SOLUTION = KIT / "solutions" / "01_coroutines" / "coroutines.py"
STUB = KIT / "src" / "aiokata" / "stubs" / "01_coroutines" / "coroutines.py"  # pristine
GRADE = (sys.executable, "-m", "aiokata", "grade", "--kit", str(KIT), "-e", "01")
GRADE += ("--format", "json")


def grade(tmp_path: Path, *extra: str) -> tuple[int, str]:
    done = subprocess.run(
        [*GRADE, "--results", str(tmp_path / "results"), *extra, "student"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (submission,) = json.loads(done.stdout)["submissions"]
    return submission["score"], done.stderr


def test_a_changed_file_or_setting_is_graded_again(tmp_path: Path):
    module = tmp_path / "student" / "01_coroutines" / "coroutines.py"
    module.parent.mkdir(parents=True)
    module.write_text(STUB.read_text())
    assert grade(tmp_path)[0] == 0

    score, said = grade(tmp_path)
    assert score == 0 and "saved earlier" in said  # nothing changed: reused

    module.write_text(SOLUTION.read_text())  # the student fixed it
    score, said = grade(tmp_path)
    assert score == 6 and "saved earlier" not in said

    score, said = grade(tmp_path, "--memory", "1024")  # another setting: another grade
    assert score == 6 and "saved earlier" not in said
    score, said = grade(tmp_path, "--memory", "1024", "--file-size", "8")  # and again
    assert score == 6 and "saved earlier" not in said
    assert len(list((tmp_path / "results").glob("*.json"))) == 1  # one file per submission
