"""How long the exercise tests take, in wall time, and how much loop time they simulate.

Usage: python benchmarks/bench.py [--repeat N]
Prints a Markdown table: the wall time of `pytest exercises/NN` on the untouched stub and on
the reference solution for each exercise (the best of N runs), then the whole solutions run
with the loop time its tests simulated against the wall time it took.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    repeat = parser.parse_args().repeat
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
