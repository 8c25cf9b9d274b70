"""The contract's commands, run as a user would: in a separate process, from the kit's root."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aiokata import bytask, catalog, progress, runner

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
FIRST = EXERCISES[0]
TASKS = catalog.find(KIT, 3)


def pytest_cli(*args: str) -> subprocess.CompletedProcess:
    """`pytest ARGS` exactly as typed in a shell at the kit's root."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
        cwd=KIT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def copy_solutions(folder: Path, exercises=EXERCISES) -> None:
    for exercise in exercises:
        target = folder / exercise.name / exercise.module_file
        target.parent.mkdir(parents=True)
        shutil.copyfile(KIT / "solutions" / exercise.name / exercise.module_file, target)


def test_the_number_alone_runs_the_stub_and_every_test_fails_saying_what_to_write():
    done = pytest_cli("exercises/03")
    assert done.returncode == 1, done.stdout
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and all("is not written yet" in line for line in failed), done.stdout
    assert done.stdout.splitlines()[-1].split()[1:3] == [str(len(failed)), "failed"]
    assert "your code in exercises/" in done.stdout
    assert "The lesson: exercises/03_tasks/README.md" in done.stdout


def test_folder_name_and_number_select_the_same_tests():
    by_number = pytest_cli("exercises/03", "--collect-only", "-q")
    by_folder = pytest_cli("exercises/03_tasks", "--collect-only", "-q")
    assert by_number.returncode == by_folder.returncode == 0, by_number.stdout
    tests = [line for line in by_number.stdout.splitlines() if "::" in line]
    assert tests == [line for line in by_folder.stdout.splitlines() if "::" in line]
    assert tests and all("test_tasks.py::" in line for line in tests)  # (the run time may differ)


def test_solutions_flag_passes():
    done = pytest_cli("--solutions", "exercises/03")
    assert done.returncode == 0, done.stdout
    assert "reference solutions" in done.stdout


@pytest.mark.parametrize("nested", [False, True], ids=["like-exercises", "repo-root"])
def test_submission_in_either_layout(tmp_path: Path, nested: bool):
    copy_solutions(tmp_path / "exercises" if nested else tmp_path, [TASKS])
    done = pytest_cli("--submission", str(tmp_path), "exercises/03")  # the split form, as typed
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"the submission in {tmp_path}" in done.stdout.replace(
        os.path.relpath(tmp_path, KIT), str(tmp_path)
    )


def test_a_broken_exercise_does_not_stop_the_others(tmp_path: Path):
    # The next exercise, one in real time (threads) and the last: every exercise's solution
    # is proven to pass from a submission folder by the right proofs of tests/test_proofs.py.
    others = [EXERCISES[1], catalog.find(KIT, 17), EXERCISES[-1]]
    copy_solutions(tmp_path, [FIRST, *others])
    broken = tmp_path / FIRST.name / FIRST.module_file
    broken.write_text(broken.read_text() + "\ndef oops(:\n")
    names = [e.name for e in (FIRST, *others)]
    code, tests, output = runner.run_exercises(KIT, names, submission=tmp_path)
    assert code == 1, output
    for test in tests:
        if test["exercise"] == FIRST.name:
            assert test["status"] == "fail"
            assert "has a syntax error on line" in test["message"], test["message"]
        else:
            assert test["status"] == "pass", test
    assert {t["exercise"] for t in tests} == set(names)


def test_a_submission_cannot_bring_its_own_tests_or_conftest(tmp_path: Path):
    exercise = tmp_path / TASKS.name
    exercise.mkdir()
    shutil.copyfile(TASKS.folder / TASKS.module_file, exercise / TASKS.module_file)  # the stub
    (exercise / TASKS.test_file.name).write_text("def test_everything():\n    pass\n")
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(wrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    report = yield\n    report.outcome = 'passed'\n    return report\n"
    )
    (exercise / "conftest.py").write_text((tmp_path / "conftest.py").read_text())
    code, tests, output = runner.run_exercises(KIT, [TASKS.name], submission=tmp_path)
    assert code == 1, output
    assert tests and all(t["status"] == "fail" for t in tests), output


def test_solutions_and_submission_together_is_a_usage_error(tmp_path: Path):
    done = pytest_cli("--solutions", f"--submission={tmp_path}", "exercises/03")
    assert done.returncode == 4
    assert "choose one of --solutions and --submission" in done.stderr


def test_a_missing_submission_folder_is_a_usage_error():
    done = pytest_cli("--submission=/no/such/folder", "exercises/03")
    assert done.returncode == 4
    assert "no such folder" in done.stderr


def test_a_single_test_can_be_named_after_the_number():
    done = pytest_cli("exercises/03::test_no_urls_gives_an_empty_list")
    assert done.returncode == 1, done.stdout
    last = done.stdout.splitlines()[-1]
    assert " 1 failed in " in last and "passed" not in last, done.stdout


def test_without_isolation_the_same_verdicts_come_out(tmp_path: Path):
    """What a learner without fork gets: the same tests, run in pytest's own process."""
    solved = runner.run_exercises(KIT, [TASKS.name], solutions=True, extra=("--no-isolation",))
    assert solved[0] == 0, solved[2]
    stub = runner.run_exercises(KIT, [TASKS.name], extra=("--no-isolation",))
    assert stub[1] and all("is not written yet" in t["message"] for t in stub[1]), stub[2]
    deadlock = tmp_path / TASKS.name / TASKS.module_file
    deadlock.parent.mkdir()
    solution = (KIT / "solutions" / TASKS.name / TASKS.module_file).read_text()
    deadlock.write_text(
        solution + "\n\nasync def fetch_all(fetch, urls):\n    await asyncio.Event().wait()\n"
    )
    code, tests, output = runner.run_exercises(
        KIT, [TASKS.name], submission=tmp_path, extra=("--no-isolation",)
    )
    stuck = [t for t in tests if "still waiting after" in t["message"]]
    assert stuck and code == 1, output


def test_a_bad_stream_descriptor_is_a_usage_error():
    done = pytest_cli("--aiokata-stream=987", "exercises/03")
    assert done.returncode == 4
    assert "not an open file descriptor" in done.stderr


FORGER = """

import json as _json, os as _os

def _forge():
    line = _json.dumps({"event": "result", "result": {"nodeid": "FORGED", "status": "pass"}})
    for fd in range(3, 1024):
        try:
            _os.write(fd, (line + "\\n").encode())
        except OSError:
            pass

_forge()  # at import, in every test's child
"""


def test_the_result_stream_is_out_of_reach_of_the_code_under_test(tmp_path: Path):
    """What `aiokata grade` reads: one line per event, in order, and nothing the submission's
    code writes to every descriptor it holds reaches it."""
    module = tmp_path / TASKS.name / TASKS.module_file
    module.parent.mkdir()
    solution = (KIT / "solutions" / TASKS.name / TASKS.module_file).read_text()
    module.write_text(solution + FORGER)
    reader, writer = socket.socketpair()
    with reader, writer:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--submission={tmp_path}", f"--aiokata-stream={writer.fileno()}", "exercises/03"],
            cwd=KIT, capture_output=True, text=True, timeout=120, pass_fds=(writer.fileno(),),
        )  # fmt: skip
        writer.close()
        data = b"".join(iter(lambda: reader.recv(1 << 16), b""))
    events = [json.loads(line) for line in data.decode().splitlines()]
    # (the forged line may show up inside a result, as output the test captured: that is fine)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "collected" and kinds[-1] == "finished", kinds
    tests = [t["nodeid"] for t in events[0]["tests"]]
    assert kinds[1:-1] == ["start", "result"] * len(tests), kinds
    assert [e["result"]["nodeid"] for e in events if e["event"] == "result"] == tests
    assert all(e["result"]["status"] == "pass" for e in events if e["event"] == "result")
    assert done.returncode == 0, done.stdout


def test_a_bare_pytest_means_the_exercises_not_the_kits_own_suite():
    done = pytest_cli("--collect-only", "-q")
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids, done.stdout
    assert all(line.startswith("exercises/") for line in ids), done.stdout
    assert {line.split("/")[1] for line in ids} == {e.name for e in EXERCISES}
    settings = json.loads((KIT / ".vscode" / "settings.json").read_text())
    assert settings["python.testing.pytestArgs"] == ["exercises", "--by-task"]


def _report(tmp_path: Path, name: str, *args: str) -> dict[str, dict]:
    """Run pytest ARGS with a JSON report; each test's result by its name."""
    path = tmp_path / f"{name}.json"
    pytest_cli(*args, f"--aiokata-report={path}", "-p", "no:randomly")
    tests = json.loads(path.read_text())["tests"]
    return {t["nodeid"].rsplit("::", 1)[-1]: t for t in tests}


def test_an_editor_sees_each_exercise_by_task_with_the_same_verdicts_and_messages(tmp_path):
    listed = pytest_cli("--collect-only", "-q", "--by-task", "exercises")
    grouped = [line for line in listed.stdout.splitlines() if "::" in line]
    flat = pytest_cli("--collect-only", "-q", "exercises").stdout.splitlines()
    assert len(grouped) == len([line for line in flat if "::" in line]), listed.stdout
    for nodeid in grouped:
        file, group, test = nodeid.split("::", 2)
        assert re.fullmatch(r"task_\d+", group), nodeid
        assert f"{file}::{test}" in flat, nodeid
    plain = _report(tmp_path, "plain", f"exercises/{TASKS.name}")
    by_task = _report(tmp_path, "by_task", "--by-task", f"exercises/{TASKS.name}")
    assert plain.keys() == by_task.keys() and plain
    for name, result in by_task.items():
        assert f"::task_{result['task']}::" in result["nodeid"], result["nodeid"]
        expected = plain[name]
        assert (result["task"], result["status"]) == (expected["task"], expected["status"])
        assert result["message"] == expected["message"], name
    # One test run on its own, as an editor does when you click it.
    name, chosen = next((n, r) for n, r in by_task.items() if r["task"] == 2)
    alone = _report(tmp_path, "alone", "--by-task", chosen["nodeid"])
    assert list(alone) == [name]
    assert alone[name]["message"] == plain[name]["message"]


def test_the_summary_claims_nothing_for_tests_that_did_not_run():
    collected = pytest_cli("--collect-only", "-q", "exercises")
    assert "progress by task" not in collected.stdout
    one = pytest_cli("--solutions", f"exercises/{TASKS.name}", "-k", "breakfast_returns")
    summary = one.stdout.split("progress by task")[1]
    assert re.search(r"^03 .* — \d+ of \d+ tests run, all of them pass$", summary, re.MULTILINE), (
        summary
    )
    assert "[ok  ] task 1" not in summary and "task 2" not in summary, summary


def test_a_run_of_some_test_ids_claims_nothing_for_the_tests_it_never_saw():
    marks = bytask.task_of_each_test(TASKS.test_file)
    second = next(name for name, task in marks.items() if task == 2)
    one = pytest_cli("--solutions", f"exercises/{TASKS.number:02d}::{second}")
    summary = one.stdout.split("progress by task")[1]
    assert "— only 1 of its tests ran: it passes" in summary, summary
    assert "[part] task 2" in summary and "[ok" not in summary, summary
    assert "— passes" not in summary, summary
    # A whole task, as an editor runs it under --by-task: that task is told, no other.
    whole = f"exercises/{TASKS.name}/test_tasks.py::task_1"
    task_one = pytest_cli("--solutions", "--by-task", whole)
    summary = task_one.stdout.split("progress by task")[1]
    assert "[ok  ] task 1" in summary and "task 2" not in summary, summary
    # A test named the usual way is found under --by-task too.
    named = pytest_cli("--solutions", "--by-task", f"exercises/{TASKS.number:02d}::{second}")
    assert "1 passed" in named.stdout, named.stdout


def test_the_readmes_first_ten_minutes_show_what_exercise_01_really_does(tmp_path):
    """The README's example session quotes exercise 01's test counts and task lines: they
    must be what `pytest exercises/01` gives today, or a new learner is misled at once."""
    readme = (KIT / "README.md").read_text()
    section = readme.split("### A learner's first ten minutes", 1)[1].split("\n## ", 1)[0]
    first = EXERCISES[0]
    path = tmp_path / "report.json"
    stubs = Path(progress.STUBS)
    pytest_cli(f"--submission={stubs}", f"exercises/{first.name}", f"--aiokata-report={path}")
    tests = json.loads(path.read_text())["tests"]
    assert f"collected {len(tests)} items" in section, "README: update the collected count"
    assert f"{len(tests)} failed in" in section, "README: update the failed count"
    for task in first.tasks:
        count = sum(t["task"] == task.id for t in tests)
        line = f"[todo] task {task.id}: {task.title} (0/{count} tests)"
        assert line in section, f"README, first ten minutes: expected the line {line!r}"
