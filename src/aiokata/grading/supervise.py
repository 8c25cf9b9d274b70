"""The supervisor of one submission's grading: `python -m aiokata.grading.supervise`.

It runs the pytest worker with resource limits, stops it at the wall-clock limit, and then
kills every process the worker or the submission's code started. It is a child subreaper, so
a process that double-forks or calls setsid to escape its process group is still re-parented
here and found. Its last word goes down its own report socket, never the worker's stream:
`{"event": "supervisor", "exit": ..., "timed_out": ..., "strays": ...}`.

It hands the worker's result stream on and keeps no copy, and it makes itself non-dumpable,
so that code under test (below it, as the same user) can neither inspect it nor take a copy
of a socket it holds (ptrace, /proc/<pid>/mem, pidfd_getfd).

Kept free of aiokata's other modules (and of pytest) so that it starts in a few milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


class Stop(Exception):
    """SIGTERM: the grader is stopping, or has died."""


def _stop(signum, frame) -> None:
    raise Stop


def _become_subreaper() -> bool:
    """Also asks for SIGTERM should the grader die, so nothing runs on unwatched."""
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _limits(cpu: int, memory: int, fsize: int):
    def apply() -> None:  # runs in the worker between fork and exec
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return apply


def _descendants(root: int) -> list[int]:
    """Every live process below `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue  # gone already
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def kill_everything_below(root: int) -> int:
    """SIGKILL all descendants until none is left (a fork bomb keeps making more for a
    while); returns how many were killed."""
    killed: set[int] = set()
    for _ in range(500):
        found = _descendants(root)
        alive = [pid for pid in found if not _is_zombie(pid)]
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        _reap()
        time.sleep(0.005)  # real time: these are real processes dying
    _reap()
    return len(killed)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except OSError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiokata-supervise")
    parser.add_argument("--wall", type=float, required=True)
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--fsize", type=int, default=0)
    parser.add_argument("--stream", type=int, required=True, help="the worker's; not kept")
    parser.add_argument("--report", type=int, required=True, help="this supervisor's own")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    signal.signal(signal.SIGTERM, _stop)
    reaping = _become_subreaper()
    os.set_inheritable(args.stream, True)
    timed_out = False
    try:
        worker = subprocess.Popen(
            command,
            pass_fds=(args.stream,),
            preexec_fn=_limits(args.cpu, args.memory, args.fsize),
        )
        os.close(args.stream)  # only the worker holds the stream now
        try:
            code = worker.wait(timeout=args.wall)
        except subprocess.TimeoutExpired:
            timed_out = True
            worker.kill()
            code = worker.wait()
    except Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the clean-up below first
        code = -signal.SIGTERM
    strays = kill_everything_below(os.getpid()) if reaping else 0
    with contextlib.suppress(OSError):
        message = {"event": "supervisor", "exit": code, "timed_out": timed_out, "strays": strays}
        os.write(args.report, (json.dumps(message) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
