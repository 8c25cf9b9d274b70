"""How long the exercise tests take, in wall time, and how much loop time they simulate.

Usage: python benchmarks/bench.py [--repeat N] [--grading [--many N]]
Prints a Markdown table: the wall time of `pytest exercises/NN` on the untouched stub and on
the reference solution for each exercise (the best of N runs), then the whole solutions run
with the loop time its tests simulated against the wall time it took.

With --grading it measures `aiokata grade` instead: one submission (a copy of the solutions)
against the bare `pytest --submission` run of the same tests, with and without --sandbox, then
many submissions (half solutions, half untouched stubs) with --jobs 1 and --jobs 2.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--grading", action="store_true", help="measure `aiokata grade`")
    parser.add_argument("--many", type=int, default=8, help="submissions in the --jobs run")
    options = parser.parse_args()
    repeat = options.repeat
    if options.grading:
        grading(repeat, options.many)
        return
    exercises = catalog.load_catalog(KIT)
    print("| exercise | tests | stub: wall s | solution: wall s | solution: loop s simulated |")
    print("|---|---:|---:|---:|---:|")
    for exercise in exercises:
        stub, _ = timed([exercise.name], False, repeat)
        solved, tests = timed([exercise.name], True, repeat)
        loop = sum(t["loop_time"] for t in tests)
        print(f"| {exercise.name} | {len(tests)} | {stub:.2f} | {solved:.2f} | {loop:g} |")
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
