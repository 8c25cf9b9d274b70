"""How long the exercise tests take, in wall time, and how much loop time they simulate.

Usage: python benchmarks/bench.py [--repeat N] [--grading [--many N]] [--overhead [--suite]]
       python benchmarks/bench.py --report [--keep DIR]
Prints a Markdown table: the wall time of `pytest exercises/NN` on the untouched stub and on
the reference solution for each exercise (the best of N runs), how many of its tests run in
real time (threads, processes: looptime off) and the wall time they took, then the whole
solutions run with the loop time its tests simulated against the wall time it took.

With --grading it measures `aiokata grade` instead: one submission (a copy of the solutions)
against the bare `pytest --submission` run of the same tests, with and without --sandbox, then
many submissions (half solutions, half untouched stubs) with --jobs 1 and --jobs 2.

With --overhead it measures what the kit adds to pytest, each figure also as a ratio to a bare
pytest run (one trivial test, no kit, no configuration) measured in the same run: the kit's
start-up with and without anyio's plugin, the CPU an exercise test costs (solution tests of
every exercise, parent and children together, less the start-up), the CPU the kit itself costs
a test (EMPTY tests that do nothing, in a copy of the first exercise, against the same number
of empty async tests in a bare pytest-asyncio run), and with --suite the wall
time of the kit's own suite (`pytest tests -n auto`): once proving everything, once with the proofs
kept from that run.

With --report it measures the class report (`aiokata grade --format html`, `aiokata report`):
synthetic grades of 40 and of 1,000 submissions over every exercise in the catalogue (each
submission of its own skill; tasks failed with one of a few realistic mistakes per task, their
messages' numbers, addresses and paths different each time; untouched stubs, files not handed
in, timeouts, crashes and stray processes among them), and prints the page's size and the best
time to build it. --keep DIR also writes both pages there, to look at.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiokata import catalog, runner
from aiokata.grading import formats
from aiokata.grading.model import ExerciseGrade, SubmissionGrade, TestGrade

KIT = Path(__file__).resolve().parents[1]


def timed(names: list[str], solutions: bool, repeat: int) -> tuple[float, list[dict]]:
    best, tests = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        _, tests, _ = runner.run_exercises(KIT, names, solutions=solutions)
        best = min(best, time.perf_counter() - started)
    return best, tests


def _best(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=KIT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def grading(repeat: int, many: int) -> None:
    grade = [sys.executable, "-m", "aiokata", "grade", "--force", "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="aiokata-bench-") as temp:
        scratch = Path(temp)
        good = scratch / "good"
        shutil.copytree(KIT / "solutions", good)
        results = ["--results", str(scratch / "results")]
        bare = _best(
            [sys.executable, "-m", "pytest", "-q", f"--submission={good}", "exercises"], repeat
        )
        graded = _best([*grade, *results, str(good)], repeat)
        print("| one submission (every exercise) | wall s |")
        print("|---|---:|")
        print(f"| `pytest --submission DIR exercises` | {bare:.2f} |")
        print(f"| `aiokata grade DIR` | {graded:.2f} |")
        if shutil.which("bwrap"):
            boxed = _best([*grade, "--sandbox", *results, str(good)], repeat)
            print(f"| `aiokata grade DIR --sandbox` | {boxed:.2f} |")
        folders = []
        for index in range(many):
            folder = scratch / f"student{index:02d}"
            shutil.copytree(KIT / ("solutions" if index % 2 == 0 else "exercises"), folder)
            folders.append(str(folder))
        print()
        print(f"| {many} submissions (half solved, half stubs) | wall s | s per submission |")
        print("|---|---:|---:|")
        for jobs in (1, 2):
            wall = _best([*grade, *results, "--jobs", str(jobs), *folders], 1)
            print(f"| `aiokata grade --jobs {jobs}` | {wall:.2f} | {wall / many:.2f} |")


def _cpu(command: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    """(best wall s, CPU s of that run: user and system, children included)."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=False, capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu))
    return best


EMPTY = 200


def _empty_tests(pytest: list[str], first: str, repeat: int) -> tuple[float, float]:
    """CPU s a test costs beyond collection when it does nothing: (with the kit, bare)."""
    tests = "".join(
        f"\n\n@pytest.mark.task(1)\nasync def test_nothing_{n}():\n    pass\n" for n in range(EMPTY)
    )
    with tempfile.TemporaryDirectory(prefix="aiokata-bench-") as temp:
        kit = Path(temp) / "kit"
        for part in ("exercises", "solutions"):
            shutil.copytree(KIT / part / first, kit / part / first)
        for name in ("pyproject.toml", "conftest.py"):
            shutil.copy(KIT / name, kit / name)
        test_file = next((kit / "exercises" / first).glob("test_*.py"))
        test_file.write_text(
            "import pytest\nfrom aiokata import exercise_module\n\n"
            f"module = exercise_module(__file__){tests}",
            encoding="utf-8",
        )
        command = [*pytest, "--solutions", f"exercises/{first}"]
        kit_cpu = _cpu(command, kit, repeat)[1] - _cpu([*command, "--collect-only"], kit, repeat)[1]
        bare = Path(temp) / "bare"
        bare.mkdir()
        (bare / "test_empty.py").write_text(tests.replace("@pytest.mark.task(1)\n", ""))
        (bare / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        )
        command = [*pytest, "-p", "no:aiokata", "-p", "no:anyio", "test_empty.py"]
        bare_cpu = (
            _cpu(command, bare, repeat)[1] - _cpu([*command, "--collect-only"], bare, repeat)[1]
        )
    return kit_cpu / EMPTY, bare_cpu / EMPTY


def overhead(repeat: int, suite: bool) -> None:
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"]
    with tempfile.TemporaryDirectory(prefix="aiokata-bench-") as temp:
        bare_dir = Path(temp)
        (bare_dir / "test_bare.py").write_text("def test_bare():\n    pass\n")
        (bare_dir / "pytest.ini").write_text("[pytest]\n")
        bare, bare_cpu = _cpu([*pytest, "test_bare.py"], bare_dir, repeat)
    first = catalog.load_catalog(KIT)[0].name
    start, start_cpu = _cpu([*pytest, "--collect-only", f"exercises/{first}"], KIT, repeat)
    kit_addopts = "--import-mode=importlib -p no:cacheprovider"
    anyio, anyio_cpu = _cpu(
        [*pytest, "-o", f"addopts={kit_addopts}", "--collect-only", f"exercises/{first}"],
        KIT,
        repeat,
    )
    names = [e.name for e in catalog.load_catalog(KIT)]
    tests = sum(len(timed([name], True, 1)[1]) for name in names)
    run, run_cpu = _cpu([*pytest, "--solutions", "exercises"], KIT, repeat)
    per_test = (run_cpu - start_cpu) / tests
    print("| figure | wall s | CPU s | ratio to bare pytest (wall) |")
    print("|---|---:|---:|---:|")
    print(f"| bare pytest, one trivial test | {bare:.2f} | {bare_cpu:.2f} | 1.00 |")
    print(
        f"| kit start-up (`pytest --collect-only exercises/{first}`) | {start:.2f} | "
        f"{start_cpu:.2f} | {start / bare:.2f} |"
    )
    print(
        f"| the same with anyio's plugin loaded | {anyio:.2f} | {anyio_cpu:.2f} | "
        f"{anyio / bare:.2f} |"
    )
    print(
        f"| every solution test (`pytest --solutions exercises`, {tests} tests) | {run:.2f} | "
        f"{run_cpu:.2f} | {run / bare:.2f} |"
    )
    print()
    print(
        f"CPU per exercise test, beyond start-up: {per_test * 1000:.1f} ms "
        f"({per_test / bare_cpu:.3f} of a bare pytest run's CPU); without anyio's plugin the "
        f"start-up takes {start / anyio:.2f} of the time it takes with it."
    )
    kit_empty, bare_empty = _empty_tests(pytest, first, repeat)
    print(
        f"CPU the kit costs a test with no work of its own ({EMPTY} empty tests, less their "
        f"collection): {kit_empty * 1000:.1f} ms; the same tests in a bare pytest-asyncio run: "
        f"{bare_empty * 1000:.1f} ms ({kit_empty / bare_empty:.0f}x: each exercise test runs "
        "in a process of its own)."
    )
    if suite:
        suite_command = [*pytest, "tests", "-n", "auto"]  # the README's command
        cold, cold_cpu = _cpu([*suite_command, "--fresh-proofs"], KIT, 1)
        warm, warm_cpu = _cpu(suite_command, KIT, 1)
        print(
            f"The kit's own suite (`pytest tests -n auto`), every proof run (`--fresh-proofs`, "
            f"as on a clean checkout): {cold:.0f} s wall, {cold_cpu:.0f} s CPU "
            f"({cold / bare:.0f}x a bare pytest run); again with nothing changed (proofs kept): "
            f"{warm:.0f} s wall, {warm_cpu:.0f} s CPU ({warm / bare:.0f}x)."
        )


# The mistakes a synthetic class makes: a few per task, each found by one of the task's tests.
MISTAKES = (
    "They ran one after another: start each as a task before awaiting any of them.",
    "The losers were never cancelled: cancel the tasks still pending, then await them.",
    "A coroutine was made but never awaited: `await` it, or hand it to asyncio.create_task().",
    "The error was caught and dropped: let it reach the caller.",
    "time.sleep() blocked the whole loop: use `await asyncio.sleep()` in async code.",
    "The results are in completion order: keep them in the order the inputs were given.",
    "CancelledError was caught and not raised again: clean up, then re-raise it.",
    "The deadline was counted from each attempt, not from the start of the whole batch.",
    "A task was started and forgotten: keep a reference to it and await it before returning.",
    "The lock was held across the await: release it before waiting on the network.",
)
_TEST = re.compile(r"@pytest\.mark\.task\((\d+)\)(?:\n@[^\n]*)*\n(?:async )?def (test_\w+)")


def _tests_by_task(exercise: catalog.Exercise) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {task.id: [] for task in exercise.tasks}
    for test_file in sorted(exercise.folder.glob("test_*.py")):
        for task, name in _TEST.findall(test_file.read_text(encoding="utf-8")):
            found.setdefault(int(task), []).append(name)
    return {task: names or [f"test_task_{task}"] for task, names in found.items()}


def _message(rng: random.Random, exercise: catalog.Exercise, mistake: str) -> str:
    """A failure's message: what was observed (in the words its test uses for this mistake,
    with this submission's numbers), the mistake, and at times a note after it."""
    where = f"{exercise.name}/{exercise.module_file}"
    observed = (
        [
            f"fetch_all() with {rng.randint(2, 300)} jobs took {rng.randint(4, 90)} s of loop "
            f"time; expected {rng.randint(1, 3)} s.",
            f"await run({rng.randint(0, 99)}): expected [{rng.randint(1, 9)}, "
            f"{rng.randint(1, 9)}], got <Task pending coro=<run() at 0x{rng.getrandbits(44):x}>>.",
            f"Results of {rng.randint(2, 20)} calls: expected {rng.randint(10, 99)} in order, "
            f"got them at loop times {rng.random():.3f} and {rng.random() * 9:.2f}.",
        ]
    )[MISTAKES.index(mistake) % 3]
    message = f"{observed} {mistake}"
    if rng.random() < 0.3:
        message += (
            f"\n\n`job()` on line {rng.randint(5, 80)} of /home/student{rng.randint(1, 999)}/"
            f"{where} made a coroutine that was never awaited."
        )
    return message


def _lost(
    rng: random.Random, exercise: catalog.Exercise, kinds: list[tuple[str, int]], stub: bool
) -> tuple[int, str, str]:
    """How a task was lost: (its first failing test's index, status, message). A mistake is
    always caught first by the same test, as in the kit; a stub fails the first test."""
    if stub:
        line = rng.randint(10, 60)
        return 0, "fail", f"{exercise.name}/{exercise.module_file}:{line}: not written yet"
    roll = rng.random()
    if roll < 0.03:
        return (
            kinds[0][1],
            "timeout",
            (
                "Stopped after 3 s of real time: the test never finished.\n"
                f"It was running {exercise.module_file}, line {rng.randint(5, 80)}"
            ),
        )
    if roll < 0.05:
        return (
            kinds[0][1],
            "error",
            (
                f"The test process exited with status {rng.randint(0, 3)} before the test "
                "finished: your code ended the whole program."
            ),
        )
    mistake, first = kinds[min(int(rng.expovariate(1.2)), len(kinds) - 1)]  # some more often
    return first, "fail", _message(rng, exercise, mistake)


def synthetic_class(count: int, seed: int = 16) -> list[SubmissionGrade]:
    """`count` submissions' grades over the whole catalogue, as a real class might get them."""
    rng = random.Random(seed)
    exercises = [(e, _tests_by_task(e)) for e in catalog.load_catalog(KIT)]
    difficulty = {(e.name, t.id): rng.uniform(0, 0.75) for e, _ in exercises for t in e.tasks}
    kinds = {  # each task's few mistakes, and the test that catches each
        (e.name, t.id): [
            (mistake, rng.randrange(len(tests[t.id])))
            for mistake in rng.sample(MISTAKES, rng.randint(1, 4))
        ]
        for e, tests in exercises
        for t in e.tasks
    }
    grades = []
    for index in range(count):
        skill = rng.betavariate(4, 2)
        stub = rng.random() < 0.05  # handed in the untouched stubs
        notes: list[str] = []
        graded = []
        missing = []
        for place, (exercise, tests) in enumerate(exercises):
            if rng.random() > 0.98 - 0.05 * place * (1.1 - skill):
                shown = f"{exercise.name}/{exercise.module_file}"
                why = f"{shown} is not in the submission, so this exercise was not graded"
                graded.append(ExerciseGrade.not_handed_in(exercise, why))
                missing.append(shown)
                continue
            results = []
            for task in exercise.tasks:
                names = tests[task.id]
                statuses = ["pass"] * len(names)
                messages = [""] * len(names)
                key = (exercise.name, task.id)
                if stub or rng.random() > skill + 0.35 - difficulty[key]:
                    first, status, said = _lost(rng, exercise, kinds[key], stub)
                    for other in range(first, len(names)):
                        if other == first or rng.random() < 0.3:
                            statuses[other], messages[other] = status, said
                results += [
                    TestGrade(
                        name=name,
                        nodeid=f"exercises/{exercise.name}/test_x.py::{name}",
                        task=task.id,
                        status=status,
                        message=message,
                        duration=0.05,
                    )
                    for name, status, message in zip(names, statuses, messages, strict=True)
                ]
            graded.append(ExerciseGrade.build(exercise, results))
        if missing:
            notes.append(f"not in the submission, so not graded (0 points): {', '.join(missing)}")
        if rng.random() < 0.02:
            notes.append(
                "1 process the submission started was still running after its tests (having "
                "left their test's process group) and killed"
            )
        grades.append(
            SubmissionGrade(
                name=f"submissions/student{index:04d}",
                path=f"/srv/submissions/student{index:04d}",
                digest=f"{index:064x}",
                exercises=graded,
                notes=notes,
                duration=round(rng.uniform(20, 90), 2),
            )
        )
    return grades


def class_report(repeat: int, keep: Path | None) -> None:
    print(f"| submissions | exercises | HTML size | build s (best of {repeat}) |")
    print("|---:|---:|---:|---:|")
    for count in (40, 1000):
        grades = synthetic_class(count)
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            page = formats.render("html", grades)
            best = min(best, time.perf_counter() - started)
        size = len(page.encode("utf-8"))
        shown = f"{size / 1024:,.0f} KiB" if size < 1 << 20 else f"{size / (1 << 20):.1f} MiB"
        print(f"| {count:,} | {len(grades[0].exercises)} | {shown} | {best:.2f} |")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"report-{count}.html").write_text(page, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--grading", action="store_true", help="measure `aiokata grade`")
    parser.add_argument("--many", type=int, default=8, help="submissions in the --jobs run")
    parser.add_argument("--overhead", action="store_true", help="what the kit adds to pytest")
    parser.add_argument("--suite", action="store_true", help="with --overhead: time `pytest tests`")
    parser.add_argument("--report", action="store_true", help="measure the class report")
    parser.add_argument("--keep", type=Path, help="with --report: write the pages to this folder")
    options = parser.parse_args()
    repeat = options.repeat
    if options.report:
        class_report(repeat, options.keep)
        return
    if options.overhead:
        overhead(repeat, options.suite)
        return
    if options.grading:
        grading(repeat, options.many)
        return
    exercises = catalog.load_catalog(KIT)
    print(
        "| exercise | tests | stub: wall s | solution: wall s | solution: loop s simulated "
        "| real-time tests | their wall s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for exercise in exercises:
        stub, _ = timed([exercise.name], False, repeat)
        solved, tests = timed([exercise.name], True, repeat)
        loop = sum(t["loop_time"] for t in tests)
        real = [t for t in tests if t.get("real_time")]
        real_wall = sum(t["duration"] for t in real)
        print(
            f"| {exercise.name} | {len(tests)} | {stub:.2f} | {solved:.2f} | {loop:g} "
            f"| {len(real)} | {real_wall:.2f} |"
        )
    names = [e.name for e in exercises]
    wall, tests = timed(names, True, repeat)
    loop = sum(t["loop_time"] for t in tests)
    passed = sum(t["status"] == "pass" for t in tests)
    print()
    print(
        f"Whole solutions run (`pytest --solutions exercises`): {len(tests)} tests, "
        f"{passed} passed, {wall:.2f} s wall; its tests simulated {loop:g} s of loop time "
        f"({loop / wall:.0f}x faster than real time)."
    )


if __name__ == "__main__":
    main()
