"""Run one test in a forked child that the parent can always stop.

An in-process timeout is an exception, and a learner's `while True: try: ... except: continue`
catches any exception. Only a process boundary stops every hang and still lets the run go on:
each exercise test runs in a fresh child; the parent waits with a wall-clock limit, asks the
child for a stack dump (faulthandler) before killing its whole process group, and reads the
child's reports and progress notes from a pipe.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import json
import os
import re
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

_channel: int | None = None  # the pipe's write end, set only inside a child
# Descriptors only the parent may hold (the grader's result socket): each child closes them
# before any learner code runs, so that code cannot write results of its own.
parent_only: set[int] = set()


def available() -> bool:
    return hasattr(os, "fork") and sys.platform not in ("win32", "emscripten", "wasi")


def forbid_inspection() -> None:
    """Make this process non-dumpable: an unprivileged process of the same user (such as a
    test's child) can then no longer open /proc/<pid>/fd or /proc/<pid>/mem of this one."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_dumpable = 4
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def note(event: str, **data: object) -> None:
    """Tell the parent how far the child got; a no-op outside a child."""
    if _channel is not None:
        send(_channel, {"event": event, **data})


def send(fd: int, message: dict) -> None:
    """One JSON line to a pipe or socket, written whole even when it is taken in pieces."""
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


@dataclass
class Outcome:
    reports: list[dict] | None = None
    events: list[dict] = field(default_factory=list)
    exit_status: int | None = None  # the child's exit code, or -signal
    killed: bool = False
    stack: str = ""
    wall: float = 0.0
    waited: float = 0.0  # of `wall`, the time the child was ready to run but had no CPU
    child_error: str = ""
    strays: list[str] = field(default_factory=list)  # command lines the test left running

    def saw(self, event: str) -> bool:
        return any(e.get("event") == event for e in self.events)

    def last(self, *events: str) -> dict | None:
        found = [e for e in self.events if e.get("event") in events]
        return found[-1] if found else None


# A loaded machine can keep a ready child off the CPU for most of its wall limit: that time is
# the machine's, so it extends the limit (a verdict must not depend on the load). Up to here:
HARD_LIMIT = 120.0
HARD_FACTOR = 20


def waited(pid: int) -> float:
    """Seconds the main thread of `pid` has spent ready to run but waiting for a CPU (Linux's
    /proc/PID/schedstat: time on the CPU, time waiting on a run queue, in ns; 0 elsewhere).
    A blocked child (a hang) does not wait on a run queue: its limit is not extended."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def run_forked(child: Callable[[], list[dict]], wall_limit: float) -> Outcome:
    """Run `child()` in a forked process; its return value comes back as `Outcome.reports`,
    and whatever the child left running is killed and listed in `Outcome.strays`.
    It is stopped after `wall_limit` seconds of real time, not counting the time the machine
    kept it waiting for a CPU (`waited`)."""
    become_subreaper()
    gc.freeze()  # the child need not scan what it inherits: its gc.collect() stays cheap
    read_fd, write_fd = os.pipe()
    stack_file = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        _child_main(child, read_fd, write_fd, stack_file.fileno())
    os.close(write_fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    outcome = Outcome()
    buffer = b""
    try:
        hard = started + max(HARD_LIMIT, HARD_FACTOR * wall_limit)
        while True:
            remaining = min(started + wall_limit + outcome.waited, hard) - time.monotonic()
            if remaining <= 0:
                # Read only now: a child sends many notes, and each read costs a file open.
                outcome.waited = waited(pid)
                remaining = min(started + wall_limit + outcome.waited, hard) - time.monotonic()
            if remaining <= 0:
                outcome.killed = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
        if outcome.killed:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)
            _wait_for_dump(stack_file, 0.5)
    finally:
        # The whole group: whatever the learner's code started goes too.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
        outcome.strays = kill_strays(group=pid)
    outcome.wall = time.monotonic() - started
    outcome.exit_status = os.waitstatus_to_exitcode(status)
    stack_file.seek(0)
    outcome.stack = stack_file.read().decode(errors="replace")
    stack_file.close()
    for line in buffer.decode(errors="replace").splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a child killed mid-write
        if message.get("event") == "reports":
            outcome.reports = message["reports"]
        elif message.get("event") == "child-error":
            outcome.child_error = message.get("text", "")
        else:
            outcome.events.append(message)
    return outcome


_subreaper = False


def become_subreaper() -> bool:
    """Processes a test leaves behind (in a session of their own, double-forked) then come
    back to this process when their parents end, so that `kill_strays` finds them."""
    global _subreaper
    if sys.platform == "linux" and not _subreaper:
        import ctypes

        pr_set_child_subreaper = 36
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    return _subreaper


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
    return found


IN_GROUP = " (still in the test's process group)"


def _state(pid: int) -> str:
    """The one-letter state in /proc/PID/stat (Z: ended, not yet reaped), or "" if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return ""


def _describe(pid: int, group: int | None = None) -> str:
    """The process's command line (its pid would say nothing to the learner), marked when
    it was still in the test's own process group (killed with it, not escaped from it)."""
    argv = ""
    # A process caught in the middle of exec() has no command line yet: ask again, briefly.
    for _ in range(20):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            break  # gone
        if argv or _state(pid) in ("Z", "X", ""):
            break
        time.sleep(0.005)  # real time: a real process finishing its exec
    shown = argv[:120] or "a process that had already ended"
    with contextlib.suppress(OSError):
        if group is not None and os.getpgid(pid) == group:
            return shown + IN_GROUP
    return shown


def kill_strays(group: int | None = None) -> list[str]:
    """Between tests this process has no children of its own, so any it has now were left
    behind by the test that just ended: kill each with everything below it, and say what
    they were. Only as a subreaper (Linux); elsewhere nothing is found."""
    if not _subreaper:
        return []
    seen: dict[int, str] = {}
    for _ in range(200):  # a fork bomb keeps making more for a while
        queue, alive = _children(os.getpid()), []
        while queue:
            pid = queue.pop()
            alive.append(pid)
            queue += _children(pid)
        if not alive:
            break
        for pid in alive:
            seen.setdefault(pid, _describe(pid, group))
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        time.sleep(0.005)  # real time: these are real processes dying
    return list(seen.values())


def _wait_for_dump(stack_file, seconds: float) -> None:
    end = time.monotonic() + seconds
    size = -1
    while time.monotonic() < end:
        now = os.fstat(stack_file.fileno()).st_size
        if now and now == size:
            return  # the dump stopped growing
        size = now
        time.sleep(0.02)  # real time on purpose: this is the parent, waiting on a real process


def _child_main(child: Callable[[], list[dict]], read_fd: int, write_fd: int, stack_fd: int):
    global _channel
    code = 0
    try:
        os.close(read_fd)
        for fd in parent_only:
            with contextlib.suppress(OSError):
                os.close(fd)
        os.setpgid(0, 0)
        _channel = write_fd
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        faulthandler.register(signal.SIGUSR1, file=stack_fd, all_threads=True)
        reports = child()
        send(write_fd, {"event": "reports", "reports": reports})
    except BaseException:
        code = 70
        with contextlib.suppress(BaseException):
            send(write_fd, {"event": "child-error", "text": traceback.format_exc()})
    finally:
        os._exit(code)


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def frames_in(stack: str, files: set[str]) -> list[tuple[str, int, str]]:
    """The (file, line, function) frames of the dump that lie in `files`, innermost first."""
    found = []
    for line in stack.splitlines():
        match = _FRAME.match(line)
        if match and match["file"] in files:
            found.append((match["file"], int(match["line"]), match["func"]))
    return found
