"""Exercise 03 that borrows the kit's reference solution by absolute path. Without --sandbox
this works (docs/grading.md says so: the code runs as the grader's user); under --sandbox
solutions/ is not there, so every task must fail. Graded only with --sandbox.

Tasks 1 and 2 walk up from the installed aiokata package (in the kit's src/ folder); task 3
finds the kit through the --rootdir on the test runner's command line.
"""

import runpy
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiokata

WANTED = Path("solutions") / "03_tasks" / "tasks.py"


def _kit_folders() -> list[Path]:
    return list(Path(aiokata.__file__).resolve().parents)


def _rootdirs() -> list[Path]:
    argv = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    return [Path(a.split(b"=", 1)[1].decode()) for a in argv if a.startswith(b"--rootdir=")]


def _borrowed(where: list[Path], how: str) -> dict:
    for folder in where:
        if (folder / WANTED).is_file():
            return runpy.run_path(str(folder / WANTED))
    raise RuntimeError(f"no reference solution reachable {how}")


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    found = _borrowed(_kit_folders(), "from aiokata's folder")
    return await found["make_breakfast"](brew_coffee, toast_bread)


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    found = _borrowed(_kit_folders(), "from aiokata's folder")
    return await found["fetch_all"](fetch, urls)


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    found = _borrowed(_rootdirs(), "through --rootdir")
    return await found["fetch_report"](fetch, urls)
