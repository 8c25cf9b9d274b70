"""Soak: the reference solutions' tests, again and again, in a new random order each time, while
processes burn the CPU. A test that passes only in one order, or only on a quiet machine, fails
here. The order is shuffled by handing pytest the test ids in that order (no plugin needed);
each run's seed is printed so a failing order can be run again.

Usage: python benchmarks/soak.py [--runs 20] [--burners 2] [--seed S] [EXERCISE ...]
(default: every exercise). Exits 1 if any run had a failure, and names the tests and seeds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import random
import subprocess
import sys
import time
from pathlib import Path

from aiokata import catalog

KIT = Path(__file__).resolve().parents[1]


def burn(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def test_ids(paths: list[str]) -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--solutions", "--collect-only", "-q", *paths],
        cwd=KIT,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in listed.stdout.splitlines() if "::" in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercises", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes")
    parser.add_argument("--seed", type=int, default=None, help="the first run's seed")
    args = parser.parse_args()
    exercises = catalog.load_catalog(KIT)
    wanted = [
        e
        for e in exercises
        if not args.exercises
        or any(e.name == w or e.name.startswith(w.zfill(2) + "_") for w in args.exercises)
    ]
    ids = test_ids([str(e.folder.relative_to(KIT)) for e in wanted])
    if not ids:
        print("no tests collected", file=sys.stderr)
        return 2
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=burn, args=(stop,)) for _ in range(args.burners)]
    for process in burners:
        process.start()
    first = args.seed if args.seed is not None else random.randrange(2**32)
    failed: dict[int, list[str]] = {}
    try:
        for run in range(args.runs):
            seed = first + run
            order = ids[:]
            random.Random(seed).shuffle(order)
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "--solutions", "-q", *order],
                cwd=KIT,
                capture_output=True,
                text=True,
                check=False,
            )
            bad = [
                line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))
            ]
            took = time.perf_counter() - started
            print(
                f"run {run + 1}/{args.runs} seed {seed}: {len(ids)} tests, "
                f"{'ok' if result.returncode == 0 else f'{len(bad)} failed'} in {took:.1f} s",
                flush=True,
            )
            if result.returncode != 0:
                failed[seed] = bad or result.stdout.splitlines()[-5:]
                for line in failed[seed]:  # now, not only at the end: a soak may be cut short
                    print(f"  {line}", flush=True)
    finally:
        stop.set()
        for process in burners:
            process.join()
    for seed, lines in failed.items():
        print(f"\nseed {seed}:")
        for line in lines:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
