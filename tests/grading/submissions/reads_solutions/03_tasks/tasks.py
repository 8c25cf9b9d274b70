"""Exercise 03 that tries to borrow the kit's reference solution instead of solving it, in
ways that must fail with or without --sandbox.

Each task tries another way in; where it finds nothing, the function raises, so its tests
fail. The grader keeps the kit's root off the import path and runs the tests in a scratch
folder, so all three tasks fail.
"""

import importlib
import runpy
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

WANTED = Path("solutions") / "03_tasks" / "tasks.py"


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    # Way 1: the kit's solutions/ is a package; import it.
    try:
        module = importlib.import_module("solutions.03_tasks.tasks")
    except ImportError as exc:
        raise RuntimeError(f"no reference solution reachable by import: {exc}") from None
    return await module.make_breakfast(brew_coffee, toast_bread)


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    # Way 2: the tests run from the kit's folder, or somewhere below it.
    here = Path.cwd()
    for folder in [here, *here.parents]:
        if (folder / WANTED).is_file():
            return await runpy.run_path(str(folder / WANTED))["fetch_all"](fetch, urls)
    raise RuntimeError("no reference solution reachable from the working folder")


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    # Way 3: every folder on the import path, and the working folder put on it by hand.
    sys.path.insert(0, str(Path.cwd()))
    for entry in sys.path:
        if entry and (Path(entry) / WANTED).is_file():
            found = runpy.run_path(str(Path(entry) / WANTED))
            return await found["fetch_report"](fetch, urls)
    raise RuntimeError("no reference solution reachable through sys.path")
