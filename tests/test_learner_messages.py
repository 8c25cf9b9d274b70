"""The messages a learner reads for the mistakes of issue 11, driven as a learner would: pytest
in a subprocess, on a copy of the kit whose learner file holds the mistake."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from aiokata import guards, messages

KIT = Path(__file__).resolve().parents[1]
COROUTINES = "exercises/01_coroutines/coroutines.py"
TASKS = "exercises/03_tasks/tasks.py"


def pytest_in(kit: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:randomly"],
        cwd=cwd or kit,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def plant(kit: Path, learner_file: str, replace: str, by: str) -> int:
    """Write the reference solution into the learner's file with `replace` changed to `by`;
    returns the line number where `by` begins."""
    exercise = Path(learner_file).parent.name
    solution = (kit / "solutions" / exercise / Path(learner_file).name).read_text()
    assert replace in solution
    planted = solution.replace(replace, by, 1)
    (kit / learner_file).write_text(planted)
    return planted[: planted.index(by)].count("\n") + 1


def appended(kit: Path, learner_file: str, code: str) -> int:
    """The reference solution with `code` (one function replacing the solution's) appended;
    returns the line number of the line `code` marks with `# here`."""
    exercise = Path(learner_file).parent.name
    solution = (kit / "solutions" / exercise / Path(learner_file).name).read_text()
    planted = f"{solution}\n\n{code}"
    (kit / learner_file).write_text(planted)
    return next(i for i, line in enumerate(planted.splitlines(), 1) if "# here" in line)


# 1. A coroutine never awaited names the expression the learner wrote


def test_a_lookup_not_awaited_names_the_call_the_learner_wrote(kit: Path):
    line = plant(kit, COROUTINES, "name = await fetch_name(user_id)", "name = fetch_name(user_id)")
    done = pytest_in(kit, "exercises/01")
    assert done.returncode == 1, done.stdout
    assert (
        f"`fetch_name(user_id)` on line {line} of {COROUTINES} made a coroutine that was never "
        "awaited" in done.stdout
    ), done.stdout
    assert "(`await fetch_name(user_id)`)" in done.stdout
    # The test double's own function (Names.fetch) is not what the learner called.
    assert "coroutine fetch()" not in done.stdout and "`await fetch(" not in done.stdout


def test_a_sleep_not_awaited_names_asyncio_sleep(kit: Path):
    line = plant(kit, COROUTINES, "await asyncio.sleep(delay)", "asyncio.sleep(delay)")
    done = pytest_in(kit, "exercises/01", "-k", "slow_square")
    assert (
        f"`asyncio.sleep(delay)` on line {line} of {COROUTINES} made a coroutine that was never "
        "awaited" in done.stdout
    ), done.stdout


def test_a_line_with_two_candidate_calls_is_quoted_not_guessed(kit: Path):
    line = plant(
        kit,
        COROUTINES,
        "name = await fetch_name(user_id)",
        "name = tidy(fetch_name(user_id))",
    )
    source = (kit / COROUTINES).read_text() + "\n\ndef tidy(name):\n    return name\n"
    (kit / COROUTINES).write_text(source)
    done = pytest_in(kit, "exercises/01", "-k", "test_greeting_uses_the_fetched_name")
    assert (
        f"A call on line {line} of {COROUTINES} made a coroutine of fetch() that was never "
        "awaited: `name = tidy(fetch_name(user_id))`" in done.stdout
    ), done.stdout
    assert "`fetch_name(user_id)` on line" not in done.stdout
    assert "`tidy(fetch_name(user_id))` on line" not in done.stdout


class _Thrown:
    """What the guard sees of a coroutine thrown away: its function's name and its origin."""

    def __init__(self, name: str, origin: tuple) -> None:
        self.__name__ = name
        self.cr_origin = origin


def test_a_coroutine_made_below_the_learners_line_says_that_line_called_it(tmp_path: Path):
    mine = tmp_path / "mine.py"
    mine.write_text("def greet(lookup):\n    return helper(lookup)\n")
    findings = guards.Findings(focus={str(mine)})
    said = findings.unawaited_coroutine(
        _Thrown("fetch", (("/kit/test_x.py", 9, "helper"), (str(mine), 2, "greet")))
    )
    assert said.startswith("Line 2 of ") and "(`return helper(lookup)`) called code" in said
    assert "made a coroutine of fetch()" in said and "`helper(lookup)` on" not in said


def test_a_coroutine_with_no_origin_in_the_learners_file_names_only_its_function():
    findings = guards.Findings(focus={"/kit/exercises/01_coroutines/coroutines.py"})
    said = findings.unawaited_coroutine(_Thrown("fetch", (("/kit/test_x.py", 9, "run"),)))
    assert said.startswith("The coroutine fetch() was created but never awaited. ")
    assert "line" not in said
    assert findings.unawaited_coroutine(_Thrown("fetch", ())).startswith("The coroutine fetch()")


# 2. Tasks still running: say who started them


def test_tasks_gather_left_running_after_it_raised_are_gathers_not_the_learners(kit: Path):
    line = plant(
        kit,
        TASKS,
        "results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)",
        "results = await asyncio.gather(*(fetch(url) for url in urls))",
    )
    done = pytest_in(kit, "exercises/03", "-k", "cut_the_others_short or cancels_its_fetches")
    assert (
        f"The gather(...) on line {line} of {TASKS} (`results = await asyncio.gather(*(fetch(url) "
        "for url in urls))`) raised when one of its coroutines failed (ValueError: bad page), "
        "and the others kept running: gather does not cancel them. 1 of them was still running"
        in done.stdout
    ), done.stdout
    assert "2 of them were still running" in done.stdout  # the other test: two left, plural
    assert "Your code left" not in done.stdout and "Your code started" not in done.stdout
    assert "task(s)" not in done.stdout


def test_a_task_the_learner_started_is_named_with_its_line(kit: Path):
    line = appended(
        kit,
        TASKS,
        "async def fetch_all(fetch, urls):\n"
        "    asyncio.create_task(asyncio.sleep(100))  # here\n"
        "    return list(await asyncio.gather(*(fetch(url) for url in urls)))\n",
    )
    done = pytest_in(kit, "exercises/03", "-k", "test_three_one_second_fetches_take_one_second")
    assert (
        f"Your code started 1 task with create_task() on line {line} of {TASKS} "
        "(`asyncio.create_task(asyncio.sleep(100))  # here`), and it was still running when the "
        "test ended: task running sleep()." in done.stdout
    ), done.stdout
    assert "task(s)" not in done.stdout


def test_a_gather_never_awaited_is_told_apart_from_one_that_raised(kit: Path):
    line = appended(
        kit,
        TASKS,
        "async def fetch_all(fetch, urls):\n"
        "    asyncio.gather(*(fetch(url) for url in urls))  # here\n"
        "    return []\n",
    )
    done = pytest_in(kit, "exercises/03", "-k", "test_three_one_second_fetches_take_one_second")
    assert (
        f"The gather(...) on line {line} of {TASKS} (`asyncio.gather(*(fetch(url) for url in "
        "urls))  # here`) had not finished when the test ended: 3 of the coroutines handed to it "
        "were still running: task running fetch() (3 of them)." in done.stdout
    ), done.stdout
    assert "raised when one of its coroutines failed" not in done.stdout


def test_tasks_as_completed_left_running_are_as_completeds(kit: Path):
    line = appended(
        kit,
        TASKS,
        "async def fetch_all(fetch, urls):\n"
        "    for first in asyncio.as_completed([fetch(url) for url in urls]):  # here\n"
        "        return [await first]\n",
    )
    done = pytest_in(kit, "exercises/03", "-k", "test_total_time_is_the_slowest_fetch_not_the_sum")
    assert (
        f"The as_completed(...) on line {line} of {TASKS}" in done.stdout
        and "ran each coroutine handed to it as a task, and 2 of them were still running when the "
        "test ended: task running fetch() (2 of them). as_completed() does not "
        "cancel them"
        in done.stdout
    ), done.stdout


def proof(kit: Path, exercise: str, name: str) -> str:
    """Put one of the kit's wrong proofs into the learner's file; returns that file."""
    slug = exercise.split("_", 1)[1]
    learner = f"exercises/{exercise}/{slug}.py"
    shutil.copyfile(KIT / "tests" / "proofs" / exercise / f"{name}.py", kit / learner)
    return learner


def line_of(kit: Path, learner_file: str, code: str, after: str = "") -> int:
    """The number of the first line holding `code` after the first holding `after`."""
    lines = (kit / learner_file).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines, 1) if i > start and code in line)


def test_a_cancelled_gather_is_not_said_to_have_left_its_coroutines_running(kit: Path):
    wait = proof(kit, "08_wait", "plain_gather")
    line = line_of(kit, wait, "asyncio.gather(")
    done = pytest_in(kit, "exercises/08", "-k", "test_cancelling_deploy_all_stops_every_job")
    assert (
        f"The gather(...) on line {line} of {wait} (`return list(await asyncio.gather(*(job() "
        "for job in jobs)))`) was cancelled, and cancelled its coroutines in turn, but did not "
        "wait for them to end: 1 of them was still running when the test ended: task running "
        "job_web()." in done.stdout
    ), done.stdout
    assert "gather does not cancel them" not in done.stdout


def test_tasks_cancelled_but_not_awaited_are_said_to_be_cancelled(kit: Path):
    wait = proof(kit, "08_wait", "cancelled_not_awaited")
    line = line_of(kit, wait, "asyncio.create_task(")
    done = pytest_in(kit, "exercises/08", "-k", "test_the_first_service_to_answer_wins")
    assert (
        f"Your code started 2 tasks with create_task() on line {line} of {wait}" in done.stdout
    ), done.stdout
    assert (
        "They had been cancelled, but had not ended yet: cancel() only asks, so await a task "
        "after cancelling it, to be sure it has ended." in done.stdout
    ), done.stdout


def test_a_task_of_the_test_still_inside_the_learners_code_says_where_it_waits(kit: Path):
    mine = proof(kit, "07_as_completed", "cancel_not_awaited")
    line = line_of(kit, mine, "= await next_done", after="def report_within")
    done = pytest_in(
        kit, "exercises/07", "-k", "test_two_batches_at_once_keep_their_own_stragglers"
    )
    assert (
        "When the test ended, a task the test started was still running your code: task "
        f"running run_within(), waiting at line {line} of {mine}" in done.stdout
    ), done.stdout
    assert "No line of your file started it" not in done.stdout


def test_the_tests_own_task_cut_short_is_not_blamed_on_the_learner(kit: Path):
    plant(
        kit,
        COROUTINES,
        "    name = await fetch_name(user_id)\n",
        "    raise SystemExit(1)\n",
    )
    done = pytest_in(kit, "exercises/01", "-k", "test_cancelling_greet_user_cancels_the_lookup")
    assert (
        "The test's own task (task running test_cancelling_greet_user_cancels_the_lookup()) had "
        "not finished when the test's run ended: the event loop stopped running it." in done.stdout
    ), done.stdout
    noticed = done.stdout.split("aiokata also noticed")[-1].split("progress by task")[0]
    assert "Your code" not in noticed and "No line of your file" not in noticed


# 3. pytest pointed at the learner's code, the lesson or the solution runs the tests


def test_pytest_on_the_learners_module_runs_its_tests_and_says_so(kit: Path):
    done = pytest_in(kit, TASKS)
    assert (
        f"aiokata: {TASKS} is your code, not its tests: running `pytest exercises/03` instead "
        "(the tests are in exercises/03_tasks/test_tasks.py)." in done.stdout
    ), done.stdout
    assert "no tests ran" not in done.stdout
    assert "make_breakfast() is not written yet" in done.stdout  # the stub's tests ran


def test_pytest_on_the_lesson_runs_its_tests(kit: Path):
    done = pytest_in(kit, "exercises/03_tasks/README.md", "-q")
    assert "exercises/03_tasks/README.md is the lesson, not its tests" in done.stdout, done.stdout
    assert done.returncode == 1 and "41 failed" in done.stdout, done.stdout  # the stub's


def test_pytest_on_one_test_of_the_learners_module_runs_that_test(kit: Path):
    done = pytest_in(kit, f"{TASKS}::test_no_urls_gives_an_empty_list")
    assert (
        "running `pytest exercises/03_tasks/test_tasks.py::test_no_urls_gives_an_empty_list` "
        "instead." in done.stdout
    ), done.stdout
    assert "collected 1 item" in done.stdout


def test_pytest_on_a_function_of_the_learners_module_is_a_usage_error(kit: Path):
    done = pytest_in(kit, f"{TASKS}::fetch_all")
    assert done.returncode == 4, done.stdout + done.stderr
    assert (
        f"{TASKS} is your code, not its tests, and exercises/03_tasks/test_tasks.py has no test "
        "called fetch_all: run `pytest exercises/03` for all of its tests, or "
        "`pytest exercises/03 -k fetch_all`" in done.stderr
    ), done.stderr


def test_pytest_on_the_module_from_inside_its_folder_runs_its_tests(kit: Path):
    done = pytest_in(kit, "tasks.py", cwd=kit / "exercises" / "03_tasks")
    assert (
        "aiokata: tasks.py is your code, not its tests: running `pytest .` instead (the tests "
        "are in test_tasks.py)." in done.stdout
    ), done.stdout
    assert "collected 41 items" in done.stdout


def test_pytest_on_the_solution_tests_the_solution(kit: Path):
    done = pytest_in(kit, "solutions/03_tasks/tasks.py", "-q")
    assert (
        "solutions/03_tasks/tasks.py is the reference solution, not its tests: running "
        "`pytest --solutions exercises/03` instead" in done.stdout
    ), done.stdout
    assert done.returncode == 0 and "41 passed" in done.stdout, done.stdout
    mixed = pytest_in(kit, "solutions/03_tasks/tasks.py", "exercises/01")
    assert mixed.returncode == 4
    assert "run `pytest --solutions exercises/03` on its own" in mixed.stderr, mixed.stderr


# Real-time tests (real processes) do not claim a virtual clock when they stop


def test_the_loop_limit_claims_a_virtual_clock_only_for_a_virtual_time_test():
    # Exercise 18's tests stop a deadlock sooner with limits of their own, so this is read
    # from the message itself.
    assert "virtual clock" in messages.loop_limit(600)
    real = messages.loop_limit(4, virtual=False)
    assert "virtual clock" not in real and "after 4 s, far longer than anything" in real


def test_a_hang_in_a_real_time_test_does_not_claim_a_virtual_clock(kit: Path):
    appended(
        kit,
        "exercises/18_subprocesses/subprocesses.py",
        "async def run(args):\n    while True:  # here\n        pass\n",
    )
    done = pytest_in(
        kit,
        "exercises/18_subprocesses/test_subprocesses.py::test_run_returns_the_return_code_and_the_output",
        "--wall-limit=2",
    )
    assert "Stopped after 2 s of real time" in done.stdout, done.stdout
    assert "a correct answer finishes well within that" in done.stdout, done.stdout
    assert "virtual clock" not in done.stdout, done.stdout


def test_a_stray_multiprocessing_helper_is_explained_not_just_killed():
    tracker = "/usr/bin/python3 -c from multiprocessing.resource_tracker import main;main(8)"
    said = messages.strays([tracker])
    assert "multiprocessing's own helper" in said and "mp_context" in said
    assert "multiprocessing" not in messages.strays(["/bin/sleep 60"]).replace(tracker, "")


def test_resources_left_open_are_judged_only_when_a_function_of_the_learners_made_them(
    tmp_path: Path,
):
    from concurrent.futures import ThreadPoolExecutor

    from aiokata import resources

    learner = tmp_path / "mine.py"
    learner.write_text(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "AT_IMPORT = ThreadPoolExecutor(1)\n"
        "def make():\n"
        "    return ThreadPoolExecutor(1)\n"
    )
    code = compile(learner.read_text(), str(learner), "exec")
    ledger = resources.Ledger({str(learner)})
    space: dict = {}
    with resources.watching(ledger):
        exec(code, space)  # the file's top level: not recorded
        space["AT_IMPORT"].shutdown()
        space["AT_IMPORT"] = space["make"]()
        by_the_test = ThreadPoolExecutor(1)  # not the learner's line: not recorded
    try:
        [said] = ledger.left_open()
        assert "made 1 executor on line 4 of" in said and "never shut it down" in said
        space["AT_IMPORT"].shutdown()
        assert ledger.left_open() == []
    finally:
        by_the_test.shutdown()
        space["AT_IMPORT"].shutdown()
