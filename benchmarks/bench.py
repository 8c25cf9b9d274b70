"""How long the exercise tests take, in wall time, and how much loop time they simulate.

Usage: python benchmarks/bench.py [--repeat N] [--grading [--many N]] [--overhead [--suite]]
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
every exercise, parent and children together, less the start-up), and with --suite the wall
time of the kit's own suite (`pytest tests`): once proving everything, once with the proofs
kept from that run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiokata import catalog, runner

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
    if suite:
        cold, cold_cpu = _cpu([*pytest, "tests", "--fresh-proofs"], KIT, 1)
        warm, warm_cpu = _cpu([*pytest, "tests"], KIT, 1)
        print(
            f"The kit's own suite (`pytest tests`), every proof run (`--fresh-proofs`, as on a "
            f"clean checkout): {cold:.0f} s wall, {cold_cpu:.0f} s CPU ({cold / bare:.0f}x a "
            f"bare pytest run); again with nothing changed (proofs kept): {warm:.0f} s wall, "
            f"{warm_cpu:.0f} s CPU ({warm / bare:.0f}x)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--grading", action="store_true", help="measure `aiokata grade`")
    parser.add_argument("--many", type=int, default=8, help="submissions in the --jobs run")
    parser.add_argument("--overhead", action="store_true", help="what the kit adds to pytest")
    parser.add_argument("--suite", action="store_true", help="with --overhead: time `pytest tests`")
    options = parser.parse_args()
    repeat = options.repeat
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
