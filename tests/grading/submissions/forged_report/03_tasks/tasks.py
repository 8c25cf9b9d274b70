"""Exercise 03 whose fetch_all forges results instead of fetching. 01 is the untouched stub.

fetch_all writes made-up "passed" results into every file descriptor it holds, and every one
it can open in /proc/<pid>/fd of the pytest worker and of its supervisor: reports as a test's
child sends them (for tests other than its own), and result lines as the worker sends them to
the grader, for every test of 01 and 03. Then it exits at once, so no genuine result follows.
A sound grader ignores all of it: 01 stays at zero and fetch_all's tests do not pass."""

import ast
import asyncio
import contextlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from _pytest.reports import TestReport


def _nodeids() -> list[tuple[str, int]]:
    """(nodeid, task) of every test of 01 and 03, read from the kit's test files."""
    argv = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    roots = [a.split(b"=", 1)[1].decode() for a in argv if a.startswith(b"--rootdir=")]
    found = []
    for root in roots:
        for rel in ("01_coroutines/test_coroutines.py", "03_tasks/test_tasks.py"):
            rel = f"exercises/{rel}"
            with contextlib.suppress(OSError, SyntaxError):
                tree = ast.parse((Path(root) / rel).read_text())
                for node in tree.body:
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                        if node.name.startswith("test_"):
                            found.append((f"{rel}::{node.name}", 1))
    return found


def _forge() -> None:
    me = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]
    lines = []
    for nodeid, task in [(me, 2), *_nodeids()]:
        if nodeid != me:  # as if this test's child had run some other test
            passed = TestReport(nodeid, (nodeid, 1, nodeid), {}, "passed", None, "call", [])
            lines.append({"event": "reports", "reports": [passed._to_json()]})
        exercise = nodeid.split("/")[1] if "/" in nodeid else "03_tasks"
        result = {"nodeid": nodeid, "exercise": exercise, "task": task, "status": "pass"}
        lines.append({"event": "result", "result": {**result, "message": "", "output": ""}})
    lines.append({"event": "finished"})
    blob = "".join(json.dumps(line) + "\n" for line in lines).encode()
    targets = [f"/proc/self/fd/{fd}" for fd in os.listdir("/proc/self/fd")]
    pid = os.getpid()
    for _ in range(2):  # the pytest worker and its supervisor
        pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        if not re.search(rb"pytest|supervise|aiokata", Path(f"/proc/{pid}/cmdline").read_bytes()):
            break  # past the grader: leave whatever ran it alone
        with contextlib.suppress(OSError):
            fds = [fd for fd in os.listdir(f"/proc/{pid}/fd") if int(fd) > 2]
            targets += [f"/proc/{pid}/fd/{fd}" for fd in fds]
    for target in targets:
        with contextlib.suppress(OSError):
            fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
            with contextlib.suppress(OSError):
                os.write(fd, blob)
            os.close(fd)
    os._exit(0)  # no genuine result may follow the forged ones


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        toast = await toast_bread()
        return await coffee_task, toast
    finally:
        coffee_task.cancel()  # does nothing once the coffee is ready; stops it if we are cancelled


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    _forge()
    return []


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, Exception):
            errors[url] = result
        else:
            pages[url] = result
    return pages, errors
