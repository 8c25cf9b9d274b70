"""Resources the learner's code opened and never closed: a thread still running, an executor
never shut down, an aiohttp session never closed, a server still listening, a connection
still open.

Only what a function in the learner's own file made is recorded (a test's own threads and
servers are the test's business, and what the file makes as it is imported is its exercise's
to judge), and it is judged after the test's teardown, since a test may close what the
learner's function hands back to it.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import concurrent.futures
import concurrent.futures.process  # here, once: each test's forked child would import it again
import concurrent.futures.thread
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokata import clocks, targets

# A thread that has done its work but not yet returned gets this long to end, in all, before
# it counts as left running. A right answer's threads end within microseconds of their last
# line; this only costs time when something was really left behind.
THREAD_GRACE = 1.0

Frame = tuple[str, int, str]  # (file name, line number, function)

# Library code between the learner's line and the object it made: skipped when looking for
# the line that asked for it.
_LIBRARIES = (
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.dirname(concurrent.futures.__file__) + os.sep,
    threading.__file__.removesuffix("c"),
    __file__.removesuffix("c"),
)


@dataclass
class Opened:
    kind: str  # "thread", "executor", "session", "server", "connection"
    # Held, not weakly referenced: an executor or server the code dropped is still a leak,
    # and letting it be collected mid-test would turn it into a ResourceWarning instead.
    obj: object
    site: Frame  # the learner's line that made it


@dataclass
class Ledger:
    """What the learner's code opened during one test."""

    focus: set[str]
    opened: list[Opened] = field(default_factory=list)
    # Seconds each thread (by ident) spent in Thread.start(), which waits until the new thread
    # runs: on a loaded machine that wait is the scheduler's, not a blocked loop's.
    start_waits: dict[int, float] = field(default_factory=dict)

    def note(self, kind: str, obj: object, skip: tuple[str, ...] = ()) -> None:
        self.record(kind, obj, self._site(sys._getframe(1), skip))

    def record(self, kind: str, obj: object, site: Frame | None) -> None:
        """Keep `obj` if the learner's code made it (`site`, from `_site`, is not None)."""
        if site is not None:
            self.opened.append(Opened(kind, obj, site))

    def _site(self, frame, skip: tuple[str, ...]) -> Frame | None:
        """The learner's line that asked for it: the first frame outside the libraries that
        do the work, if that frame is in the learner's file."""
        while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES + skip):
            frame = frame.f_back
        if frame is None or frame.f_code.co_filename not in self.focus:
            return None
        if frame.f_code.co_name == "<module>":  # made at import: the exercise's tests judge it
            return None
        return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name

    def left_open(self) -> list[str]:
        """A paragraph for each kind of thing still open, naming where each was made."""
        deadline = clocks.monotonic() + THREAD_GRACE
        still: dict[str, list[tuple[object, Frame]]] = {}
        seen: set[int] = set()
        for entry in self.opened:
            obj = entry.obj
            # open_connection() makes a StreamWriter and, under it, a transport: one connection.
            key = id(_transport(obj)) if entry.kind == "connection" else id(obj)
            if key in seen:
                continue
            seen.add(key)
            if entry.kind == "thread":
                obj.join(max(0.0, deadline - clocks.monotonic()))  # type: ignore[attr-defined]
            if _CHECKS[entry.kind](obj):
                still.setdefault(entry.kind, []).append((obj, entry.site))
        return [_MESSAGES[kind](found) for kind, found in still.items()]


def _thread_running(thread: threading.Thread) -> bool:
    return thread.is_alive()


def _executor_open(executor: concurrent.futures.Executor) -> bool:
    if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        return not executor._shutdown_thread  # type: ignore[attr-defined]
    return not getattr(executor, "_shutdown", True)


def _session_open(session: object) -> bool:
    return not session.closed  # type: ignore[attr-defined]


def _server_open(server: asyncio.base_events.Server) -> bool:
    return bool(server.sockets)


def _transport(connection: object) -> asyncio.BaseTransport:
    """A connection is recorded as its StreamWriter (open_connection) or its transport."""
    return connection.transport if isinstance(connection, asyncio.StreamWriter) else connection  # type: ignore[return-value]


def _connection_open(connection: object) -> bool:
    return not _transport(connection).is_closing()


_CHECKS: dict[str, Callable[[object], bool]] = {
    "thread": _thread_running,  # type: ignore[dict-item]
    "executor": _executor_open,  # type: ignore[dict-item]
    "session": _session_open,
    "server": _server_open,  # type: ignore[dict-item]
    "connection": _connection_open,  # type: ignore[dict-item]
}


def _line(site: Frame) -> str:
    return targets.line_at(site[0], site[1])


def _sites(found: list[tuple[object, Frame]]) -> str:
    lines = list(dict.fromkeys(_line(site) for _, site in found))
    return lines[0] if len(lines) == 1 else ", ".join(lines[:-1]) + " and " + lines[-1]


def _count(found: list, one: str, many: str) -> str:
    return f"1 {one}" if len(found) == 1 else f"{len(found)} {many}"


def _it(found: list) -> str:
    return "it" if len(found) == 1 else "them"


def _where_thread_is(thread: threading.Thread, focus_sites: list[Frame]) -> str:
    """`, at line 30 of threads.py (`while True:`)`: the innermost line of the learner's file
    the thread is running, when it is in one."""
    frame = sys._current_frames().get(thread.ident or -1)
    files = {site[0] for site in focus_sites}
    found = None
    while frame is not None:
        if frame.f_code.co_filename in files and found is None:
            found = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return f"; it is at {_line(found)}" if found is not None else ""


def _threads_message(found: list[tuple[object, Frame]]) -> str:
    thread = found[0][0]
    where = _where_thread_is(thread, [site for _, site in found])  # type: ignore[arg-type]
    return (
        f"Your code started {_count(found, 'thread', 'threads')} on {_sites(found)} and "
        f"{'it was' if len(found) == 1 else 'they were'} still running {THREAD_GRACE:g} s after "
        f"the test ended{where}. A thread you start is yours to stop: tell it to stop (a "
        "threading.Event it checks) and join() it before your function returns, or hand the "
        "work to asyncio.to_thread(), which waits for it. A daemon thread is not stopped "
        "either, only abandoned."
    )


def _executors_message(found: list[tuple[object, Frame]]) -> str:
    return (
        f"Your code made {_count(found, 'executor', 'executors')} on {_sites(found)} and never "
        f"shut {_it(found)} down. An executor's worker threads (or processes) live until "
        "shutdown(): use it in a `with` block, call its shutdown() when you are done, or make "
        "one and reuse it instead of making a new one for every call."
    )


def _sessions_message(found: list[tuple[object, Frame]]) -> str:
    return (
        f"Your code made {_count(found, 'aiohttp.ClientSession', 'aiohttp.ClientSessions')} on "
        f"{_sites(found)} and never closed {_it(found)}. A session holds a pool of "
        "connections: open it with `async with aiohttp.ClientSession() as session:` (or "
        "`await session.close()` when you are done), and make one for all your requests, not one "
        "per request."
    )


def _servers_message(found: list[tuple[object, Frame]]) -> str:
    names = _few(_address(s.getsockname()) for server, _ in found for s in server.sockets)  # type: ignore[attr-defined]
    return (
        f"Your code started {_count(found, 'server', 'servers')} on {_sites(found)} and "
        f"{'it was' if len(found) == 1 else 'they were'} still listening ({names}) when the "
        "test ended. Close a server when you are done with it: `server.close()` and then "
        "`await server.wait_closed()`, or `async with server:` around the code that uses it."
    )


def _connections_message(found: list[tuple[object, Frame]]) -> str:
    peers = _few(_address(_transport(c).get_extra_info("peername")) for c, _ in found)
    return (
        f"Your code opened {_count(found, 'connection', 'connections')} to {peers} on "
        f"{_sites(found)} and never closed {_it(found)}. Close each "
        "connection when you are done with it: `writer.close()` and then `await "
        "writer.wait_closed()`, also when something goes wrong on the way (try/finally)."
    )


def _few(names: Iterator[str], shown: int = 3) -> str:
    """Up to `shown` distinct names, then how many more."""
    unique = list(dict.fromkeys(names))
    more = len(unique) - shown
    return ", ".join(unique[:shown]) + (f" and {more} more" if more > 0 else "")


def _address(name: object) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name) if name else "an unknown address"


_MESSAGES: dict[str, Callable[[list[tuple[object, Frame]]], str]] = {
    "thread": _threads_message,
    "executor": _executors_message,
    "session": _sessions_message,
    "server": _servers_message,
    "connection": _connections_message,
}


def _aiohttp(focus: set[str]):
    """aiohttp, if the code under test may use it: importing it costs about 50 ms, and the
    code under test may import it only once it runs."""
    if "aiohttp" not in sys.modules:
        for name in focus:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if "aiohttp" in Path(name).read_text(encoding="utf-8"):
                    break
        else:
            return None
    try:
        import aiohttp
    except ImportError:
        return None
    return aiohttp


@contextlib.contextmanager
def watching(ledger: Ledger) -> Iterator[Ledger]:
    """Record, for the length of one test, what the learner's code opens."""
    patches: list[tuple[object, str, object]] = []

    def patch(owner: object, name: str, make: Callable[[Callable], Callable]) -> None:
        real = owner.__dict__[name]  # type: ignore[attr-defined]
        patches.append((owner, name, real))
        setattr(owner, name, make(real))

    def on_start(real):
        def start(self: threading.Thread) -> None:
            began = clocks.perf_counter()
            try:
                real(self)
            finally:
                me = threading.get_ident()
                waited = clocks.perf_counter() - began
                ledger.start_waits[me] = ledger.start_waits.get(me, 0.0) + waited
            # An executor's own worker: the executor is what was left open, if anything.
            if getattr(self, "_target", None) is not concurrent.futures.thread._worker:
                with contextlib.suppress(Exception):
                    ledger.note("thread", self)

        return start

    def on_init(kind: str, skip: tuple[str, ...] = ()):
        def make(real):
            def __init__(self, *args, **kwargs) -> None:
                real(self, *args, **kwargs)
                with contextlib.suppress(Exception):
                    ledger.note(kind, self, skip)

            return __init__

        return make

    def on_create(kind: str, pick: Callable[[object], object]):
        def make(real):
            async def create(self, *args, **kwargs):
                site = ledger._site(sys._getframe(1), ())
                made = await real(self, *args, **kwargs)
                ledger.record(kind, pick(made), site)
                return made

            create.__name__ = real.__name__
            create.__qualname__ = real.__qualname__
            return create

        return make

    patch(threading.Thread, "start", on_start)
    patch(concurrent.futures.ThreadPoolExecutor, "__init__", on_init("executor"))
    patch(concurrent.futures.ProcessPoolExecutor, "__init__", on_init("executor"))
    loop_class = asyncio.base_events.BaseEventLoop
    patch(loop_class, "create_server", on_create("server", lambda server: server))
    patch(loop_class, "create_connection", on_create("connection", lambda made: made[0]))
    # Held from the start: a StreamWriter dropped mid-test closes itself with a warning.
    patch(asyncio.StreamWriter, "__init__", on_init("connection"))
    aiohttp = _aiohttp(ledger.focus)
    if aiohttp is not None:
        library = os.path.dirname(aiohttp.__file__) + os.sep
        patch(aiohttp.ClientSession, "__init__", on_init("session", (library,)))
    try:
        yield ledger
    finally:
        for owner, name, real in reversed(patches):
            setattr(owner, name, real)
