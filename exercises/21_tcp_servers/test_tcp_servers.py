"""Exercise 21 tests. Run them with `pytest exercises/21`.

Every test serves and connects over real sockets on 127.0.0.1, inside the test's own event
loop, so the virtual clock stays exact: a reply that comes at all comes at the loop time its
command was sent, and waiting 5 s of loop time for one that never comes costs no real time.
The other end of each connection is the test's own code (a client for tasks 1, 2 and 4, a
server for task 3), which records what came and when. `Net` notes every connection, server
and task made during a test, so the test can say how each was closed, and it closes whatever
was left before the test ends.
"""

import asyncio
import contextlib
import functools
import linecache
import re
import socket
import time
from asyncio import base_events, selector_events
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail

tcp_servers = exercise_module(__file__)

HOST = "127.0.0.1"
LIMIT = 2**20  # LINE_LIMIT in the contract: the longest line, its "\n" included
WAIT = 5.0  # loop seconds the test waits for something before it calls it missing
SPIN_LIMIT = 20  # reads of one stream after its end before the test calls it a spin
KIB = 1024


# --- the network of one test --------------------------------------------------------------


# The classes of the socket transports an event loop makes: the selector loop's (Linux, macOS)
# and the proactor loop's (Windows).
SOCKET_TRANSPORTS = [selector_events._SelectorSocketTransport]
with contextlib.suppress(ImportError, AttributeError):
    from asyncio import proactor_events

    SOCKET_TRANSPORTS.append(proactor_events._ProactorSocketTransport)


class EndOfStreamSpin(BaseException):
    """Raised into code that keeps reading a stream after its end. A BaseException, so that
    an `except Exception:` in that code cannot catch it and spin on."""


class Net:
    """`async with Net("handle_client()") as net:` notes every socket transport, server and
    task made inside; on the way out it closes and ends whatever is left, while the loop is
    still running (so no "unclosed transport" warning escapes), and fails the test if some
    code kept reading a stream that had ended."""

    def __init__(self, subject: str) -> None:
        self.subject = subject  # the learner's function, for the messages: "handle_client()"
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.transports: list[asyncio.Transport] = []
        self.servers: list[asyncio.AbstractServer] = []
        self.tasks: list[asyncio.Task] = []  # every task made inside
        self.own: set[asyncio.Task] = set()  # ... of which the test's own
        self.mine: set[int] = set()  # id() of the test's own transports
        self.clients: list[Client] = []
        self.spins: list[int] = []  # reads of an ended stream, each time one was stopped
        self.raised: list[BaseException] = []  # what the learner's handle_client() raised
        self._eof_reads: dict[int, int] = {}
        # (port, command, reply) of every command the test's clients sent with ask()
        self.exchanges: list[tuple[int, str, str]] = []
        # id(transport) -> the calls made on its StreamWriter and StreamReader, in order:
        # ("write", data), ("drain", b""), ("read", b"")
        self.io: dict[int, list[tuple[str, bytes]]] = {}
        self.closed_servers: set[int] = set()  # id() of the servers whose close() was called
        self.waits: list[dict] = []  # each server.wait_closed() awaited, and what was open then
        # With `slow_finish` (the serve_kv() tests), writer.wait_closed() in a connection
        # handler's own task returns a few loop steps later than it would, each call a few
        # more: a shutdown that does not wait for the handler tasks
        # themselves then ends before they have finished, whatever order asyncio runs them.
        self.slow_finish = False
        self._finishing = 0
        # each task's tag: ("port", p) for a connection handler the server on port p started,
        # and what it started; ("serving", n) for the n-th serve_kv() and what it started
        self.tags: dict[asyncio.Task, tuple | None] = {}
        self._accepting: asyncio.BaseTransport | None = None
        self.handlers: set[asyncio.Task] = set()  # the tasks started for a new connection

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    def task(self, coro) -> asyncio.Task:
        """A task of the test's own."""
        task = asyncio.ensure_future(coro)
        self.own.add(task)
        return task

    def theirs(self) -> list[asyncio.Task]:
        """Tasks made inside that are not the test's own, still running."""
        me = asyncio.current_task()
        return [t for t in self.tasks if t not in self.own and t is not me and not t.done()]

    def learner_transports(self) -> list[asyncio.Transport]:
        return [t for t in self.transports if id(t) not in self.mine]

    def history(self, port: int) -> list[tuple[str, str]]:
        """(command, reply) of every ask() so far to the server on `port`, in order."""
        return [(command, reply) for p, command, reply in self.exchanges if p == port]

    def note_io(self, transport, call: str, data: bytes = b"") -> None:
        if transport is not None:
            self.io.setdefault(id(transport), []).append((call, data))

    # set-up and clean-up

    async def __aenter__(self) -> "Net":
        net = self
        server_init = base_events.Server.__init__

        def noted(cls):
            transport_init = cls.__init__

            @functools.wraps(transport_init)
            def made_transport(transport, *args, **kwargs):
                transport_init(transport, *args, **kwargs)
                net.transports.append(transport)

            return mock.patch.object(cls, "__init__", made_transport)

        @functools.wraps(server_init)
        def made_server(server, *args, **kwargs):
            server_init(server, *args, **kwargs)
            net.servers.append(server)

        self._patches = [noted(cls) for cls in SOCKET_TRANSPORTS]
        self._patches.append(mock.patch.object(base_events.Server, "__init__", made_server))
        self._patches += self._server_patches() + self._writer_patches()
        connection_made = asyncio.StreamReaderProtocol.connection_made

        @functools.wraps(connection_made)
        def accepting(protocol, transport):
            net._accepting = transport
            try:
                return connection_made(protocol, transport)
            finally:
                net._accepting = None

        self._patches.append(
            mock.patch.object(asyncio.StreamReaderProtocol, "connection_made", accepting)
        )
        for name in ("readline", "readuntil", "read", "readexactly"):
            self._patches.append(mock.patch.object(asyncio.StreamReader, name, self._watched(name)))
        for patch in self._patches:
            patch.start()
        self._factory = self.loop.get_task_factory()
        factory = self._factory

        def make_task(loop, coro, **kwargs):
            task = (
                factory(loop, coro, **kwargs)
                if factory is not None
                else asyncio.Task(coro, loop=loop, **kwargs)
            )
            net.tasks.append(task)
            if net._accepting is not None:  # a connection's handler: the port it came to
                net.tags[task] = ("port", net._accepting.get_extra_info("sockname")[1])
                net.handlers.add(task)
            else:  # a task started by another: the same tag
                parent = asyncio.current_task(loop)
                net.tags[task] = net.tags.get(parent) if parent is not None else None
            return task

        self.loop.set_task_factory(make_task)
        self._on_error = self.loop.get_exception_handler()
        self.loop.set_exception_handler(self._loop_error)
        return self

    def _loop_error(self, loop, context: dict) -> None:
        """Pass asyncio's logged errors on, but one: on Python 3.11, a connection handler
        whose task ends cancelled makes asyncio log its CancelledError as an error (a bug of
        asyncio's, fixed in 3.12). Cancelling the handlers is a right way to shut down."""
        if isinstance(context.get("exception"), asyncio.CancelledError) and (
            "StreamReaderProtocol.connection_made" in str(context.get("message", ""))
        ):
            return
        if self._on_error is not None:
            self._on_error(loop, context)
        else:
            loop.default_exception_handler(context)

    def _server_patches(self) -> list:
        """Note when each asyncio.Server is closed, and each wait_closed() awaited: what
        was still open when it began, and whether it had returned."""
        net = self
        close, wait_closed = base_events.Server.close, base_events.Server.wait_closed

        @functools.wraps(close)
        def noted_close(server):
            net.closed_servers.add(id(server))
            return close(server)

        @functools.wraps(wait_closed)
        async def noted_wait_closed(server):
            wait = {
                "server": server,
                "after_close": id(server) in net.closed_servers,
                "open": [t for t in net.learner_transports() if not t.is_closing()],
                "returned": False,
            }
            net.waits.append(wait)
            await wait_closed(server)
            wait["returned"] = True

        return [
            mock.patch.object(base_events.Server, "close", noted_close),
            mock.patch.object(base_events.Server, "wait_closed", noted_wait_closed),
        ]

    def _writer_patches(self) -> list:
        """Note every StreamWriter's write, writelines and drain calls (see `io`), and slow
        the handlers' writer.wait_closed() down with `slow_finish`."""
        net = self
        write, writelines = asyncio.StreamWriter.write, asyncio.StreamWriter.writelines
        drain, wait_closed = asyncio.StreamWriter.drain, asyncio.StreamWriter.wait_closed

        @functools.wraps(write)
        def noted_write(writer, data):
            net.note_io(writer.transport, "write", bytes(data))
            return write(writer, data)

        @functools.wraps(writelines)
        def noted_writelines(writer, data):
            data = list(data)
            net.note_io(writer.transport, "write", b"".join(map(bytes, data)))
            return writelines(writer, data)

        @functools.wraps(drain)
        async def noted_drain(writer):
            net.note_io(writer.transport, "drain")
            return await drain(writer)

        @functools.wraps(wait_closed)
        async def slowed_wait_closed(writer):
            await wait_closed(writer)
            task = asyncio.current_task()
            if net.slow_finish and task in net.handlers and task not in net.own:
                net._finishing += 1
                for _ in range(3 + 2 * net._finishing):
                    await asyncio.sleep(0)

        return [
            mock.patch.object(asyncio.StreamWriter, "write", noted_write),
            mock.patch.object(asyncio.StreamWriter, "writelines", noted_writelines),
            mock.patch.object(asyncio.StreamWriter, "drain", noted_drain),
            mock.patch.object(asyncio.StreamWriter, "wait_closed", slowed_wait_closed),
        ]

    def _watched(self, name: str):
        original = getattr(asyncio.StreamReader, name)
        net = self

        @functools.wraps(original)
        async def watched(reader, *args, **kwargs):
            net.note_io(getattr(reader, "_transport", None), "read")
            if reader.at_eof() and reader.exception() is None:
                reads = net._eof_reads[id(reader)] = net._eof_reads.get(id(reader), 0) + 1
                if reads > SPIN_LIMIT:
                    net.spun(reader, reads)
                    raise EndOfStreamSpin(
                        f"{net.subject} kept reading a stream that had ended ({reads} reads)"
                    )
            return await original(reader, *args, **kwargs)

        return watched

    def spun(self, reader: asyncio.StreamReader, reads: int) -> None:
        self.spins.append(reads)

    def spin_story(self) -> str:
        """What the test saw of a read loop that did not stop at the end of its stream."""
        if not self.spins:
            return ""
        return (
            f"{self.subject} kept reading after the other end had closed its side of the "
            f"connection: at the end of a stream readline() returns b'' at once, every time, "
            f"and it called it (or another read) again and again ({SPIN_LIMIT} times, without "
            "ever waiting, before the test stopped it). A loop of `line = await "
            "reader.readline()` must stop when line is b'' (`if not line: break`), or use "
            "`async for line in reader:`, which stops there by itself."
        )

    def errors(self, client: "Client | None" = None) -> list[BaseException]:
        """Exceptions the learner's code raised: its handle_client() for `client`'s
        connection (task 1), or any of its tasks that ended with one."""
        conn = getattr(client, "conn", None)
        if conn is not None:
            return [conn.error] if conn.error is not None else []
        found = []
        for task in self.tasks:
            if task in self.own or not task.done() or task.cancelled():
                continue
            error = task.exception()
            if error is not None and not isinstance(error, EndOfStreamSpin):
                found.append(error)
        return found

    def story(self, client: "Client | None" = None) -> str:
        """What the learner's code was found doing when a reply did not come ("" if
        nothing stands out)."""
        errors = self.errors(client)
        conn = getattr(client, "conn", None)
        if errors:
            return lesson(errors[0], self.subject if conn else "A connection handler of the server")
        if conn is not None and conn.task is not None:
            return waiting_in(conn.task, self.subject)
        for task in self.theirs():  # a server's handlers: only a telling wait is worth a word
            found = waiting_in(task, "A handler of the server", telling=True)
            if found:
                return found
        return ""

    def check_spins(self) -> None:
        if self.spins:
            fail(self.spin_story())

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            await self._close_everything()
        finally:
            self.loop.set_task_factory(self._factory)
            self.loop.set_exception_handler(self._on_error)
            for patch in reversed(self._patches):
                patch.stop()
        unwritten = self.unwritten()
        if unwritten is not None and exc_type is not NotImplementedError:
            raise unwritten  # the stub's "not written yet", whatever the test made of it
        if exc_type is None:
            self.check_spins()

    def unwritten(self) -> NotImplementedError | None:
        """A NotImplementedError the learner's code raised in a task, if any."""
        for error in [*self.raised, *self.errors()]:
            if isinstance(error, NotImplementedError):
                return error
        return None

    async def _close_everything(self) -> None:
        me = asyncio.current_task()
        for client in self.clients:
            client.hang_up()
        for server in self.servers:
            server.close()
        waiting = [t for t in self.tasks if not t.done() and t is not me]
        if waiting:  # handlers end by themselves once their clients have gone
            await asyncio.wait(waiting, timeout=1)
        for transport in self.transports:
            if not transport.is_closing():
                transport.abort()
        for _ in range(2):
            left = [t for t in self.tasks if not t.done() and t is not me]
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left, timeout=1)
        for server in self.servers:  # from 3.12, once every connection has gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1)
        for _ in range(3):  # connection_lost callbacks: the sockets close
            await asyncio.sleep(0)
        for task in self.tasks:  # already reported by the test, if it mattered
            if task.done() and not task.cancelled() and task in self.own:
                task.exception()


def waiting_in(task: asyncio.Task, who: str, telling: bool = False) -> str:
    """Where the learner's code in `task` is waiting, told plainly ("" if not found; with
    `telling`, also "" unless the wait itself explains a missing reply)."""
    path = str(tcp_servers.path)
    coro, line = task.get_coro(), None
    inner: list[tuple[str, object]] = []  # asyncio's coroutines below the learner's last frame
    while coro is not None:
        code, frame = getattr(coro, "cr_code", None), getattr(coro, "cr_frame", None)
        if code is None or frame is None:
            break
        if code.co_filename == path:
            line, inner = frame.f_lineno, []
        elif line is not None and code.co_filename.startswith(ASYNCIO):
            inner.append((code.co_qualname, frame.f_locals.get("n")))
        coro = getattr(coro, "cr_await", None)
    if line is None:
        return ""
    text = linecache.getline(path, line).strip()
    where = f"line {line} of {Path(path).name}: `{text}`"
    names = [name for name, _ in inner]
    if ("StreamReader.read", -1) in inner:
        return (
            f"{who} was waiting in reader.read() ({where}), which, with no size, waits for the "
            "end of the stream: the client has not hung up, so it waits on. Read one line at a "
            "time with `await reader.readline()`."
        )
    sized = [n for name, n in inner if name == "StreamReader.read" and isinstance(n, int)]
    if sized and sized[0] > 0:
        return (
            f"{who} was waiting in reader.read({sized[0]}) ({where}). read(n) gives whatever "
            "bytes have come, up to n: several lines at once, or part of one. Perhaps it took "
            "each read() for one command and lost the rest; read one line at a time with "
            "`await reader.readline()`."
        )
    for lock in ("Lock", "Semaphore", "BoundedSemaphore", "Condition"):
        if f"{lock}.acquire" in names or f"{lock}.wait" in names:
            return (
                f"{who} was waiting for a {lock} ({where}). A lock held for a whole connection "
                "keeps every other client waiting until that one leaves: serve every "
                "connection at once (the store needs no lock, since nothing awaits between "
                "reading it and writing it)."
            )
    return "" if telling else f"{who} was waiting at {where}."


ASYNCIO = str(Path(asyncio.__file__).parent)


GRACE = [0.1]  # real seconds, for the whole test, of in_real_time() below


async def in_real_time(net: Net, ready) -> bool:
    """ready(), or whether it comes true within what is left of GRACE s of real time, the
    loop running meanwhile without moving its clock. Everything a test waits for comes from
    the same loop through the kernel's loopback, which delivers bytes as they are sent: this
    only guards a right answer against a kernel that, on a busy machine, takes a moment.
    A wrong answer spends the grace once (or not at all, once its code has raised)."""
    if net.raised or net.errors():
        return ready()
    start = time.monotonic()
    try:
        while not ready():
            if time.monotonic() - start > GRACE[0]:
                return False
            await asyncio.sleep(0)
        return True
    finally:
        GRACE[0] = max(0.0, GRACE[0] - (time.monotonic() - start))


def state_of(transport: asyncio.BaseTransport) -> str:
    """ "open" (close() never called), "closing" (called, but the socket is still open:
    writer.wait_closed() was not awaited) or "closed"."""
    if not transport.is_closing():
        return "open"
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.fileno() != -1:
        return "closing"
    return "closed"


CLOSE_HOW = {
    "open": (
        "left the connection open: close it with `writer.close()` and then `await "
        "writer.wait_closed()`, in a `finally:` so that every way out closes it"
    ),
    "closing": (
        "had called writer.close() but not waited for it: the socket was still open. close() "
        "only starts closing; `await writer.wait_closed()` waits until it is closed"
    ),
}


# --- the test's own client ----------------------------------------------------------------


class Client:
    """The test's client: writes lines, reads every reply as it comes (a task of the test's
    own) and notes the loop time each one came, and when the stream ended."""

    def __init__(self, net: Net, reader, writer, name: str, who: str) -> None:
        self.net = net
        self.reader = reader
        self.writer = writer
        self.name = name  # "the client", "client 2"
        self.who = who  # who answers: "handle_client()", "the server"
        self.lines: list[tuple[float, bytes]] = []  # (loop time, the line without "\n")
        self.taken = 0
        self.partial = b""  # bytes after the last "\n"
        self.ended: float | None = None  # when the stream ended (the other end closed)
        self.reset: BaseException | None = None
        self.changed = asyncio.Event()
        self.reading: asyncio.Task | None = None
        self.conn: Connection | None = None  # task 1: its connection on the test's server
        self.port = 0  # the port it connected to
        net.mine.add(id(writer.transport))
        net.clients.append(self)

    @classmethod
    async def connect(
        cls,
        net: Net,
        port: int,
        name: str = "the client",
        who: str = "",
        small_buffer: bool = False,
        read: bool = True,
    ) -> "Client":
        """A connection to `port`. With `small_buffer`, the kernel holds only a few KiB of
        what comes before the test reads it, and with `read=False` the test reads nothing
        until start_reading(): the server's writes then pile up in its own buffer."""
        loop = asyncio.get_running_loop()
        # IPPROTO_TCP, as asyncio's own sockets: asyncio then turns Nagle's algorithm off
        # (TCP_NODELAY), or a small write could wait in the kernel for the ACK of the last
        # one, up to 40 ms of real time, while the loop's virtual clock runs on.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            if small_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * KIB)
            sock.setblocking(False)
            await loop.sock_connect(sock, (HOST, port))
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock, limit=16 * KIB)
        client = cls(net, reader, writer, name, who or net.subject)
        client.port = port
        if read:
            client.start_reading()
        return client

    def start_reading(self) -> None:
        if self.reading is None:
            self.reading = self.net.task(self._read())

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(64 * KIB):
                lines = (self.partial + data).split(b"\n")
                self.partial = lines.pop()
                self.lines.extend((self.net.now(), line) for line in lines)
                self.changed.set()
        except ConnectionError as exc:
            self.reset = exc
        self.ended = self.net.now()
        self.changed.set()

    async def send(self, data: str | bytes) -> None:
        """A line (str: "\\n" is added) or raw bytes. A connection the other end has closed
        is noted, not raised: the next reply() says what happened."""
        try:
            self.writer.write(data if isinstance(data, bytes) else data.encode() + b"\n")
            await self.writer.drain()
        except ConnectionError as exc:
            self.reset = self.reset or exc

    async def _until(self, ready, seconds: float) -> bool:
        """Wait until ready() (checked at every change), at most `seconds` of loop time."""
        deadline = self.net.loop.time() + seconds
        while not ready():
            self.changed.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self.changed.wait()
            except TimeoutError:
                return await in_real_time(self.net, ready)
        return True

    async def reply(
        self, command: str, likely: str = "", seconds: float = WAIT, scene: str = ""
    ) -> str:
        """The next reply, decoded, or a failure saying why none came. `likely` explains a
        reply that does not come; `scene`, if any, follows the command in the messages."""
        said = f"{command!r}" + (f" ({scene})" if scene else "")
        got = await self._until(
            lambda: len(self.lines) > self.taken or self.ended is not None, seconds
        )
        if len(self.lines) > self.taken:
            _, line = self.lines[self.taken]
            self.taken += 1
            try:
                return line.decode()
            except UnicodeDecodeError:
                fail(
                    f"{self.who} replied {line!r} to {said}, which is not UTF-8 text: "
                    "encode each reply with str.encode() (UTF-8)."
                )
        self.net.check_spins()
        partial = self.partial
        story = self.net.story(self)
        if got:  # the stream ended
            if likely == ONE_AT_A_TIME:  # about a reply that does not come: not this
                likely = ""
            if command == "":
                likely = (
                    "It closed the connection right after the empty line b'\\n'. Perhaps it "
                    "took that line for the end of the stream: an empty line is a line like "
                    "any other (the reply is ERROR), and only a line that does not end in "
                    "b'\\n' is the end of the stream (`if not line.endswith(b'\\n'):`, not "
                    "`if not line.strip():`)." + (f" {likely}" if likely else "")
                )
            fail(
                f"{capital(self.who)} closed the connection instead of replying to {said}"
                + (f" (after sending {short(partial)}, with no newline)" if partial else "")
                + (f": the connection was reset ({self.reset!r})" if self.reset else "")
                + "."
                + (f" {story}" if story else "")
                + (f" {likely}" if likely else "")
            )
        if partial:
            fail(
                f"{capital(self.who)} sent {short(partial)} in answer to {said}, but no "
                "newline "
                f"after it in {seconds:g} s of loop time. Every reply is one line ending in "
                "'\\n': the client reads it with readline(), which waits for that '\\n'. "
                "Write `(reply + '\\n').encode()`."
            )
        fail(
            f"{capital(self.name)} got no reply to {said} from {self.who} within "
            f"{seconds:g} s "
            "of loop time (it waits as long as it takes the server, and the server is in the "
            "same loop: a reply that is sent at all comes at once)."
            + (f" {story}" if story else "")
            + (f" {likely}" if likely else "")
        )
        raise AssertionError  # not reached

    async def ask(self, command: str, likely: str = "") -> str:
        await self.send(command)
        got = await self.reply(command, likely)
        self.net.exchanges.append((self.port, command, got))
        return got

    def more(self) -> list[bytes]:
        """Every line that came and has not been read yet."""
        lines = [line for _, line in self.lines[self.taken :]]
        self.taken = len(self.lines)
        return lines

    async def end(self, seconds: float = WAIT) -> bool:
        """Whether the stream ended within `seconds` of loop time."""
        return await self._until(lambda: self.ended is not None, seconds)

    def hang_up(self) -> None:
        if not self.writer.transport.is_closing():
            self.writer.close()

    async def close(self) -> None:
        self.hang_up()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def capital(text: str) -> str:
    """`text` with a capital first letter, unless it starts with a name of code."""
    return text if re.match(r"\w+\(", text) else text[:1].upper() + text[1:]


def kind_of(value: object) -> str:
    """ "a tuple (Server, int)", "a list", "None": what a value is, briefly."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__name__} ({short(repr(value))})"


def short(data: bytes | str, most: int = 60) -> str:
    """repr() of data, cut down in the middle when long."""
    if len(data) <= most:
        return repr(data)
    unit = "bytes" if isinstance(data, bytes) else "characters"
    return f"{data[: most // 2]!r}...{data[-10:]!r} ({len(data):,} {unit})"


def brief(exc: BaseException, most: int = 120) -> str:
    """repr() of an exception, cut short."""
    text = repr(exc)
    return text if len(text) <= most else text[: most - 5] + "...)"


def lesson(exc: BaseException | None, who: str) -> str:
    """The likely mistake behind an exception from the learner's code ("" if none fits)."""
    if exc is None:
        return ""
    text = str(exc)
    if isinstance(exc, asyncio.LimitOverrunError) or (
        isinstance(exc, ValueError) and ("limit" in text or "Separator is not found" in text)
    ):
        return (
            f"{who} raised {type(exc).__name__}: {text}. A StreamReader refuses a line longer "
            "than its limit, 64 KiB unless you say otherwise: a line may be up to LINE_LIMIT "
            "bytes, so pass `limit=LINE_LIMIT` to asyncio.start_server (or open_connection)."
        )
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"{who} raised {brief(exc)}: it decoded a piece of a line. A character of UTF-8 may be "
            "split across two TCP packets; decode only whole lines (readline() gives you one)."
        )
    if isinstance(exc, TimeoutError):
        return (
            f"{who} raised TimeoutError, which nothing in the test raises. Likely a time limit "
            "of your own (asyncio.wait_for, asyncio.timeout): the contract sets none, and a "
            "client may wait a day between two lines."
        )
    if isinstance(exc, ValueError | IndexError | KeyError):
        return (
            f"{who} raised {brief(exc)}, likely on a line it could not take apart. A line that "
            "is not a command the protocol knows gets the reply ERROR, and the connection stays "
            "open."
        )
    if isinstance(exc, AttributeError | TypeError) and "bytes" in text:
        return (
            f"{who} raised {brief(exc)}: readline() gives bytes; decode the line (`line.decode()`) "
            "before you work with it as text, and encode the reply."
        )
    return f"{who} raised {brief(exc)}."


# --- task 1: the test's server, handing each connection to handle_client() -----------------


@dataclass
class Connection:
    """One connection the test's server handed to the learner's handle_client()."""

    net: Net
    writer: asyncio.StreamWriter
    began: float
    task: asyncio.Task | None = None
    ended: float | None = None
    how: str = ""  # "returned", "cancelled", "raised" or "spun"
    error: BaseException | None = None
    state: str = ""  # the connection's state at that moment: "open", "closing" or "closed"
    done: asyncio.Event = field(default_factory=asyncio.Event)
    calls: dict = field(default_factory=dict)  # times write, writelines and drain were called

    @property
    def transport(self) -> asyncio.Transport:
        return self.writer.transport


class HandlerServer:
    """The test's own server (asyncio.start_server, with `limit=LINE_LIMIT`): each connection
    is handed to handle_client(reader, writer, store) in a task of the test's own, which
    notes how and when handle_client() ended, and the state of the connection at that
    moment."""

    def __init__(self, net: Net, store: dict, small_buffer: bool) -> None:
        self.net = net
        self.store = store
        self.small_buffer = small_buffer
        self.connections: list[Connection] = []
        self.arrived = asyncio.Event()
        self.port = 0
        self.clients = 0  # clients the test has connected

    @classmethod
    async def start(cls, net: Net, store: dict, small_buffer: bool = False) -> "HandlerServer":
        served = cls(net, store, small_buffer)
        server = await asyncio.start_server(served._serve, HOST, 0, limit=LIMIT)
        served.port = server.sockets[0].getsockname()[1]
        return served

    async def _serve(self, reader, writer) -> None:
        net = self.net
        net.own.add(asyncio.current_task())
        if self.small_buffer:  # the kernel holds only a few KiB of what the handler writes
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * KIB)
        conn = Connection(net, writer, net.now(), asyncio.current_task())
        for name in ("write", "writelines", "drain"):  # counted on this writer alone
            setattr(writer, name, counted(getattr(writer, name), name, conn.calls))
        self.connections.append(conn)
        self.arrived.set()
        try:
            await tcp_servers.handle_client(reader, writer, self.store)
            conn.how = "returned"
        except asyncio.CancelledError:  # not re-raised: asyncio 3.11 logs a handler's
            conn.how = "cancelled"  # cancellation as an error (Python 3.12 fixed that)
        except EndOfStreamSpin:
            conn.how = "spun"
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            conn.how, conn.error = "raised", exc
            net.raised.append(exc)
        finally:
            conn.ended = net.now()
            conn.state = state_of(writer.transport)
            conn.done.set()

    async def connection(self, index: int = 0) -> Connection:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                while len(self.connections) <= index:
                    self.arrived.clear()
                    await self.arrived.wait()
        if not await in_real_time(self.net, lambda: len(self.connections) > index):
            fail("The test's server got no connection.")
        return self.connections[index]

    async def client(self, name: str = "the client", **kwargs) -> tuple[Client, Connection]:
        client = await Client.connect(self.net, self.port, name, "handle_client()", **kwargs)
        self.clients += 1
        client.conn = await self.connection(self.clients - 1)
        return client, client.conn


def counted(method, name: str, calls: dict):
    @functools.wraps(method)
    def call(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return method(*args, **kwargs)

    return call


async def ended(conn: Connection, after: str, seconds: float = WAIT) -> Connection:
    """Wait for handle_client() to end, `after` something ("after the client sent QUIT"),
    and fail unless it ended by returning with its connection closed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await conn.done.wait()
    await in_real_time(conn.net, conn.done.is_set)
    if conn.how == "spun":
        fail(conn_spin_story(after))
    if conn.ended is None:
        fail(
            f"handle_client() was still running {seconds:g} s (of loop time) {after}: "
            + (
                "once the client has sent QUIT and got BYE, the connection is over: stop "
                "reading and close it."
                if "QUIT" in after
                else "when readline() returns b'' or a line without its '\\n' (the end of "
                "the stream), stop reading and close the connection."
            )
        )
    if conn.how == "raised":
        fail(f"{lesson(conn.error, 'handle_client()')} (It did so {after}.)")
    if conn.how == "cancelled":
        fail(f"handle_client() ended cancelled {after}, though nothing had cancelled it.")
    if conn.state != "closed":
        fail(f"When handle_client() returned {after}, it {CLOSE_HOW[conn.state]}.")
    return conn


def conn_spin_story(after: str) -> str:
    return (
        f"handle_client() kept reading {after}: at the end of a stream readline() returns b'' "
        f"at once, every time, and it called it (or another read) again and again ({SPIN_LIMIT} "
        "times, without ever waiting, before the test stopped it). Stop when readline() "
        "returns b'' (`if not line: break`), or loop with `async for line in reader:`, which "
        "stops there by itself."
    )


def oracle(line: str, store: dict[str, str]) -> str:
    """The protocol, as the test knows it: the reply to one line (changing `store`)."""
    command, _, rest = line.partition(" ")
    if command == "SET":
        key, space, value = rest.partition(" ")
        if key and space:
            store[key] = value
            return "OK"
    elif command == "GET" and rest:
        return f"VALUE {store[rest]}" if rest in store else "NOT_FOUND"
    elif line == "QUIT":
        return "BYE"
    return "ERROR"


def parse_set(command: str) -> tuple[str, str] | None:
    """(key, value) of a SET the protocol accepts, else None."""
    name, _, rest = command.partition(" ")
    key, space, value = rest.partition(" ")
    return (key, value) if name == "SET" and key and space else None


def history_story(command: str, got: object, before) -> str:
    """What the earlier (command, reply) exchanges with the same store tell about a wrong
    reply `got` to the GET `command` ("" if nothing)."""
    if not isinstance(got, str) or not command.startswith("GET ") or len(command) < 5:
        return ""
    key = command[4:]
    values = [kv[1] for c, r in before if r == "OK" and (kv := parse_set(c)) and kv[0] == key]
    if got.startswith("VALUE ") and values and got[6:] != values[-1] and got[6:] in values:
        return (
            f"{short(got[6:])} is what an earlier SET of {key!r} stored; the last SET of it "
            f"stored {short(values[-1])}. A SET of a key that is already set replaces its value "
            "(`store[key] = value`; setdefault() keeps the first one)."
        )
    last = [
        (c, r)
        for c, r in before
        if (c == command and r.startswith("VALUE ")) or ((kv := parse_set(c)) and kv[0] == key)
    ]
    if got == "NOT_FOUND" and last and last[-1][0] == command:
        return (
            f"The {command!r} before this one was answered {short(last[-1][1])}, and no SET of "
            f"{key!r} came in between: GET only reads the store (no pop(), no del)."
        )
    return ""


def utf8_story(expected: str, got: str, subject: str = "the value") -> str:
    """What happened to the non-ASCII characters of `expected` if `got` differs from it
    only there ("" otherwise)."""
    if not isinstance(got, str) or got == expected or expected.isascii():
        return ""
    latin = expected.encode().decode("latin-1")
    dropped = "".join(ch for ch in expected if ch.isascii())
    how = (
        "the UTF-8 bytes of each non-ASCII character came out as Latin-1 characters (one "
        "per byte): the bytes were decoded as Latin-1"
        if got == latin
        else "every non-ASCII character was dropped: likely decoded with errors='ignore'"
        if got == dropped
        else "non-ASCII characters became '\\ufffd': likely decoded with errors='replace'"
        if "\ufffd" in got
        else ""
    )
    if not how and "".join(ch for ch in got if ch.isascii()) != dropped:
        return ""
    return (
        f"In {subject}, only the non-ASCII characters differ"
        + (f": {how}" if how else "")
        + ". The protocol's text is UTF-8: decode each line with `line.decode()` (UTF-8, "
        "the default) and encode each reply with `.encode()`, not 'ascii' or 'latin-1', and "
        "no errors='ignore'."
    )


REPLY_WORDS = ("OK", "VALUE", "NOT_FOUND", "ERROR", "BYE")


def reply_likely(command: str, expected: str, before=()):
    """What usually makes the reply to `command` come out as `got` instead of `expected`;
    `before` holds the (command, reply) exchanges with the same store until then."""

    def likely(got: object) -> str:
        if not isinstance(got, str):
            return ""
        story = history_story(command, got, before)
        if story:
            return story
        rest = got[len(expected) :]
        if got.startswith(expected) and rest.startswith(REPLY_WORDS):
            return (
                f"That is the reply {expected!r} followed by {short(rest)}, with no '\\n' "
                "between them: end every reply with '\\n' (`(reply + '\\n').encode()`)."
            )
        if got == expected + "\r":
            return "End each reply with '\\n' alone, not '\\r\\n'."
        if got.startswith(("b'", 'b"', "VALUE b'", 'VALUE b"')):
            return (
                "That is the repr of bytes: decode each line you read (`line.decode()`) and "
                "store and send text."
            )
        if expected.startswith("VALUE ") and got.startswith("VALUE "):
            want, have = expected[6:], got[6:]
            if want.endswith("\r") and have == want.rstrip("\r"):
                return (
                    "The value lost the '\\r' at its end: remove only the '\\n' that ends the "
                    "line (`line[:-1]`), no rstrip(); a '\\r' before it is part of the value."
                )
            if utf8_story(want, have):
                return utf8_story(want, have)
            if have.strip() == want.strip() or have.split() == want.split():
                return (
                    "The value lost some of its spaces: it is everything after the space "
                    "that follows the key, exactly as sent (take it with "
                    "`line.partition(' ')` twice or `line.split(' ', 2)`; no strip(), no "
                    "split() without a separator)."
                )
            return "The value comes back exactly as it was stored."
        if expected.startswith("VALUE") and got == "NOT_FOUND":
            value = expected[6:]
            if value in ("", "0"):
                return (
                    f"The value SET stored is {value!r}, a value like any other. Perhaps GET "
                    "tests whether the value is truthy (test `key in store` instead), or the "
                    "store GET reads is not the one SET wrote, or something removed the key."
                )
            return (
                "That key is in the store (SET put it there, perhaps on another connection to "
                "the same server): GET reads the same dict that SET writes."
            )
        if expected == "NOT_FOUND" and got.startswith("VALUE"):
            return (
                "That key was never set in this store: GET of a missing key replies "
                "NOT_FOUND (a store kept at module level would remember another server's keys)."
            )
        if expected == "ERROR" and command.startswith("SET  "):
            return (
                f"In {command!r} the key, between the first space and the next, is empty: "
                "a key is one or more characters, so this is an error."
            )
        if expected == "ERROR" and command == "GET ":
            return (
                "In 'GET ' (a space and nothing after it) the key, the rest of the line, is "
                "empty: a key is one or more characters, so this is an error."
            )
        if expected == "ERROR" and command[:3] in ("GET", "SET") and command[3:4] != " ":
            return (
                f"{command!r} is not {command[:3]} (no space after it): a command is the word "
                "before the first space, so this is an error."
            )
        if expected == "ERROR":
            return (
                f"{command!r} is not a command of the protocol (they are upper case: SET key "
                "value, GET key, QUIT): reply ERROR and keep reading."
            )
        if got == "ERROR" and (kv := parse_set(command)) and kv[1].strip() == "":
            return (
                f"In {command!r} the value is everything after the space that follows the "
                f"key: {kv[1]!r}, a value like any other. Perhaps the line was stripped "
                "(strip() takes that space away too), or SET refuses a value that is empty "
                "or only spaces."
            )
        if got == "ERROR":
            return (
                f"{command!r} is a command of the protocol, and the test sent all of its "
                "line, up to its '\\n' (TCP may bring a line in several pieces, or several "
                "lines at once). Perhaps the line handle_client() worked on was not that whole "
                "line (read(n) gives whatever bytes have come; read one line at a time with "
                "readline()), or it takes the line apart wrongly."
            )
        return ""

    return likely


async def expect(
    client: Client, command: str, expected: str, why: str = "", waiting: str = ""
) -> str:
    """Send `command` and check its reply. `why` explains the expected reply (when it does
    not come, and when another comes instead); `waiting`, a reply that does not come."""
    before = client.net.history(client.port)
    got = await client.ask(command, waiting)
    checks.equal(
        got,
        expected,
        f"The reply to {command!r}",
        lambda got: (
            history_story(command, got, before)
            or (
                utf8_story(expected[6:], got[6:])
                if isinstance(got, str)
                and got.startswith("VALUE ")
                and expected.startswith("VALUE ")
                else ""
            )
            or why
            or reply_likely(command, expected, before)(got)
        ),
    )
    return got


def long_set_likely(got: object) -> str:
    """Why a SET of LINE_LIMIT bytes was not answered OK."""
    if got != "ERROR":
        return ""
    return (
        "That SET is one whole line of the protocol (LINE_LIMIT bytes, its '\\n' included). "
        "Perhaps the line the handler worked on was not that whole line (read(n) gives "
        "whatever bytes have come: part of a line, or several; read one line at a time with "
        "readline())."
    )


def check_long_value(got: str, value: str) -> None:
    """The reply to 'GET long' after 'SET long <value>' was answered OK."""
    if got != f"VALUE {value}":
        checks.equal(
            short(got),
            short(f"VALUE {value}"),
            "The reply to 'GET long'",
            reply_likely("GET long", f"VALUE {value}", [(f"SET long {value}", "OK")])(got),
        )


def every_byte_likely(got: object, client: "Client") -> str:
    """Why handle_client() sent `got` for b'SET a 1\\nGET a\\nGET b\\nPING\\nQUIT\\n'."""
    expected = b"OK\nVALUE 1\nNOT_FOUND\nERROR\nBYE\n"
    if not isinstance(got, bytes):
        return ""
    if b"\r" in got:
        return "End each reply with '\\n' alone, not '\\r\\n'."
    if expected.startswith(got) and got.endswith(b"\n"):
        count = got.count(b"\n")
        after = (
            "and then closed the connection"
            if client.ended is not None
            else f"and then sent nothing more for {WAIT:g} s"
        )
        return (
            f"It answered only the first {'line' if count == 1 else f'{count} lines'} of the "
            f"5, which came in one packet, {after}. One read may bring several lines: "
            "perhaps it took one read(n) for one command and lost the rest (read one line "
            "at a time with `await reader.readline()`), or it stopped before QUIT: only "
            "QUIT, or the client hanging up, ends the connection."
        )
    if got.count(b"\n") < 5:
        return "Each reply ends with '\\n' and nothing else: write `(reply + '\\n').encode()`."
    return ""


def store_likely(expected: dict, before=()):
    """What usually makes the store come out as `got` instead of `expected`; `before` holds
    the (command, reply) exchanges with it."""

    def likely(got: object) -> str:
        if not isinstance(got, dict):
            return ""
        if any(isinstance(x, bytes) for kv in got.items() for x in kv):
            return (
                "The store holds bytes: decode each line (`line.decode()`) and store the key "
                "and the value as str."
            )
        for key in set(expected) - set(got):
            for other in set(got) - set(expected):
                story = utf8_story(key, other, f"the key {key!r} (stored as {other!r})")
                if story:
                    return story
        for key, value in expected.items():
            if key not in got:
                gets = [r for c, r in before if c == f"GET {key}" and r.startswith("VALUE ")]
                last = [
                    c
                    for c, r in before
                    if c == f"GET {key}" or ((kv := parse_set(c)) and kv[0] == key)
                ]
                if last and last[-1] == f"GET {key}" and gets:
                    return (
                        f"{key!r} is gone from the store, though the last command about it was "
                        f"'GET {key}', answered {short(gets[-1])}: GET only reads the store (no "
                        "pop(), no del)."
                    )
            elif got[key] != value:
                story = history_story(f"GET {key}", f"VALUE {got[key]}", before)
                if story:
                    return story
                story = utf8_story(value, got[key], f"the value of {key!r}")
                if story:
                    return story
        if got == {}:
            return (
                "handle_client() replied OK, but the store it was given is still empty: keep "
                "the data in `store`, the caller's dict (no dict of your own)."
            )
        return ""

    return likely


def check_store(store: dict, expected: dict, what: str, client: "Client | None" = None) -> None:
    """The store handle_client() was given is `expected` (`client`: one that talked to it)."""
    before = client.net.history(client.port) if client is not None else ()
    checks.equal(store, expected, what, store_likely(expected, before))


async def hang_up_gently(client: Client) -> None:
    """Close the client's sending side only: the server reads the end of the stream, and the
    test can still see anything it sends afterwards."""
    client.writer.write_eof()
    await asyncio.sleep(0)


# Task 1: handle_client


@pytest.mark.task(1)
async def test_set_then_get_gives_the_value_back():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "SET colour blue", "OK")
        await expect(client, "GET colour", "VALUE blue")
        check_store(store, {"colour": "blue"}, "The store after 'SET colour blue'", client)
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_the_store_holds_text_not_bytes():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "SET city Zürich", "OK")
        kinds = {type(k).__name__: type(v).__name__ for k, v in store.items()}
        check_store(store, {"city": "Zürich"}, "The store after 'SET city Zürich'", client)
        checks.equal(kinds, {"str": "str"}, "The types of the store's key and value")
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_get_of_a_missing_key_is_not_found_and_changes_nothing():
    async with Net("handle_client()") as net:
        store = {"kept": "as it was"}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "GET missing", "NOT_FOUND")
        await expect(client, "GET kept", "VALUE as it was")
        expected = {"kept": "as it was"}
        checks.equal(
            store,
            expected,
            "The store after 'GET missing' and 'GET kept'",
            lambda got: (
                store_likely(expected, net.history(client.port))(got)
                or "GET only reads: a missing key stays missing (no setdefault, no placeholder), "
                "and the entries already in the caller's store stay as they were."
            ),
        )
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_quit_says_bye_then_closes_the_connection():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        await expect(client, "SET a 1", "OK")
        await expect(
            client,
            "QUIT",
            "BYE",
            "QUIT gets the reply BYE, and then the server closes the connection.",
        )
        await ended(conn, "after the client sent QUIT")
        if not await client.end():
            fail(
                "handle_client() returned after QUIT but the client's stream did not end: "
                "close the connection (writer.close(), then await writer.wait_closed())."
            )
        after = client.more()
        if after or client.partial:
            fail(
                f"After BYE, handle_client() sent {after or client.partial!r}: BYE is the "
                "last line of the connection."
            )


@pytest.mark.task(1)
async def test_a_client_that_hangs_up_ends_handle_client():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        await expect(client, "SET a 1", "OK")
        await hang_up_gently(client)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                await conn.done.wait()
        after = client.more()
        if conn.how == "spun" or net.spins:
            fail(
                conn_spin_story("after the client hung up (without QUIT)")
                + (
                    f" Meanwhile it sent {len(after)} more replies ({after[0]!r}...) to a "
                    "client that had sent nothing more."
                    if after
                    else ""
                )
            )
        if after:
            fail(
                f"After the client hung up (without QUIT), handle_client() sent {after!r}: "
                "readline() returning b'' means the stream has ended; it is not a line to "
                "answer. Stop reading and close the connection."
            )
        await ended(conn, "after the client hung up (without QUIT)")
        if not await client.end():
            fail("handle_client() returned, but the client's stream did not end.")


@pytest.mark.task(1)
async def test_a_half_line_at_the_end_of_the_stream_is_no_command():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await client.send(b"SET a 1\nSET b 2")
        await hang_up_gently(client)
        await ended(conn, "after the client sent 'SET a 1\\nSET b 2' and hung up")
        await client.end()
        checks.equal(
            [line for _, line in client.lines] + ([client.partial] if client.partial else []),
            [b"OK"],
            "What handle_client() answered to b'SET a 1\\nSET b 2' and the end of the stream",
            "Only a whole line, with its '\\n', is a command: at the end of a stream "
            "readline() gives what is left without one (here b'SET b 2'); answer nothing "
            "more, and stop.",
        )
        checks.equal(
            store,
            {"a": "1"},
            "The store after b'SET a 1\\nSET b 2' and the end of the stream",
            "b'SET b 2' came without its '\\n': the client hung up in the middle of that "
            "line, so it is no command.",
        )


@pytest.mark.task(1)
async def test_every_reply_is_one_line_ending_in_a_newline():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        await client.send(b"SET a 1\nGET a\nGET b\nPING\nQUIT\n")
        await client.end()
        got = b"".join(line + b"\n" for _, line in client.lines) + client.partial
        checks.equal(
            got,
            b"OK\nVALUE 1\nNOT_FOUND\nERROR\nBYE\n",
            "Every byte handle_client() sent for 'SET a 1', 'GET a', 'GET b', 'PING', 'QUIT'",
            lambda got: every_byte_likely(got, client),
        )
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_replies_wait_for_a_client_that_reads_slowly():
    async with Net("handle_client()") as net:
        value = "x" * 20_000
        server = await HandlerServer.start(net, {"big": value}, small_buffer=True)
        client, conn = await server.client(small_buffer=True, read=False)
        await client.send(b"GET big\n" * 100)
        await asyncio.sleep(1)  # the client reads nothing, and handle_client does what it can
        buffered = conn.transport.get_write_buffer_size()
        writes = conn.calls.get("write", 0) + conn.calls.get("writelines", 0)
        if buffered > 512 * KIB and conn.calls.get("drain", 0) >= writes:
            fail(
                f"The client sent 100 'GET big' at once and then read nothing, and by then "
                f"{buffered:,} bytes of replies were waiting in the connection's write buffer, "
                "though handle_client() had called writer.drain() after each write. "
                + (
                    "It wrote with writer.writelines(), which on some versions of Python "
                    "(3.12.1 and 3.13.0 among them) forgets to tell drain() that the buffer is "
                    "full, a bug of asyncio's: write each reply with writer.write()."
                    if conn.calls.get("writelines")
                    else "Does it drain the writer it writes to?"
                )
            )
        if buffered > 512 * KIB:
            fail(
                "The client sent 100 'GET big' at once (each reply is 20,007 bytes) and then "
                f"read nothing for a second: by then {buffered:,} bytes of replies were "
                "waiting in the connection's write buffer, so handle_client() had gone on "
                "writing without waiting. writer.write() only queues bytes; `await "
                "writer.drain()` after each write waits while that buffer is over its limit "
                "(64 KiB), so a client that reads slowly holds the handler up instead of "
                "filling the server's memory."
            )
        client.start_reading()
        before = [("GET big", f"VALUE {value}")]  # the store it was given held "big"
        for n in range(100):
            got = await client.reply(f"GET big (number {n + 1})")
            if got != f"VALUE {value}":
                checks.equal(
                    short(got),
                    short(f"VALUE {value}"),
                    f"The reply to GET {n + 1}",
                    reply_likely("GET big", f"VALUE {value}", before)(got),
                )
            before.append(("GET big", got))
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_a_command_may_arrive_in_pieces():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        line = "SET menu crème brûlée\n".encode()
        cut = line.index("è".encode()) + 1  # inside the two bytes of "è"
        pieces = [line[:2], line[2:cut], line[cut:] + b"GET me", b"nu\n"]
        for piece in pieces:
            await client.send(piece)
            await asyncio.sleep(1)
        got = [await client.reply(f"the line sent in pieces {pieces!r}")]
        got.append(await client.reply("'GET menu', sent in two pieces"))
        checks.equal(
            got,
            ["OK", "VALUE crème brûlée"],
            f"The replies to 'SET menu crème brûlée' and 'GET menu', sent as {pieces!r}, a "
            "second apart",
            lambda got: (
                (
                    utf8_story("VALUE crème brûlée", got[1], "the reply to 'GET menu'")
                    if isinstance(got, list) and len(got) == 2 and got[0] == "OK"
                    else ""
                )
                or "A command may come in several pieces, and a piece may end in the middle of a "
                "UTF-8 character: read whole lines (`await reader.readline()`), not whatever "
                "read(n) gives, and decode only whole lines."
            ),
        )
        check_store(store, {"menu": "crème brûlée"}, "The store", client)
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_values_are_kept_exactly_as_sent():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        values = {
            "motto": "  two spaces before, one after ",
            "poem": "tab\tand  double  spaces",
            "clé": "café ☕ naïve 日本語",
        }
        for key, value in values.items():
            await expect(client, f"SET {key} {value}", "OK")
        for key, value in values.items():
            await expect(client, f"GET {key}", f"VALUE {value}")
        check_store(store, values, "The store", client)
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_an_empty_value_and_the_key_0_are_like_any_other():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "SET 0 0", "OK")
        await expect(client, "SET empty ", "OK")
        await expect(client, "GET 0", "VALUE 0")
        await expect(client, "GET empty", "VALUE ")
        check_store(
            store, {"0": "0", "empty": ""}, "The store after 'SET 0 0', 'SET empty '", client
        )
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_the_key_is_never_empty_and_get_takes_the_rest_of_the_line():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "SET a 1", "OK")
        await expect(client, "SET cr ends in a CR\r", "OK")
        for line in ["SET  v", "SET  ", "GET ", "GETXa", "SETa 2", "GETa"]:
            await expect(client, line, "ERROR")
        rest = (
            "In 'GET key' the key is the rest of the line, spaces and all: 'a' is set, but "
            "{!r} asks for another key."
        )
        await expect(client, "GET a b", "NOT_FOUND", rest.format("GET a b"))
        await expect(client, "GET a ", "NOT_FOUND", rest.format("GET a "))
        await expect(client, "GET cr", "VALUE ends in a CR\r")
        check_store(
            store, {"a": "1", "cr": "ends in a CR\r"}, "The store after those lines", client
        )
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_set_again_replaces_and_each_get_is_answered():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await expect(client, "SET a first", "OK")
        await expect(client, "GET a", "VALUE first")
        await expect(client, "SET a second", "OK")
        await expect(client, "GET a", "VALUE second", "A second SET of a key replaces its value.")
        await expect(client, "GET a", "VALUE second")
        check_store(store, {"a": "second"}, "The store after setting 'a' twice", client)
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_lines_it_does_not_know_get_error_and_the_connection_stays_open():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        stays = (
            " and the connection stays open: a line the protocol does not know is answered, "
            "not fatal."
        )
        for line in ["PING", "", "get a", "SET", "SET onlykey", "GET", "QUITE"]:
            why = f"{line!r} gets the reply ERROR{stays}"
            await expect(client, line, "ERROR", why, waiting=why)
        await expect(client, "SET a 1", "OK")
        await expect(client, "GET a", "VALUE 1")
        check_store(store, {"a": "1"}, "The store after the bad lines and 'SET a 1'", client)
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_several_commands_in_one_packet_get_one_reply_each():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        await client.send(b"SET a 1\nSET b 2\nGET a\nGET a\nGET c\n")
        got = [await client.reply(f"command {n} of 5 sent in one packet") for n in range(1, 6)]
        commands = ["SET a 1", "SET b 2", "GET a", "GET a", "GET c"]
        expected = ["OK", "OK", "VALUE 1", "VALUE 1", "NOT_FOUND"]

        def likely(got: object) -> str:
            if isinstance(got, list) and len(got) == len(expected):
                wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
                before = list(zip(commands[: wrong[0]], got[: wrong[0]], strict=True))
                story = reply_likely(commands[wrong[0]], expected[wrong[0]], before)(got[wrong[0]])
                if story and not story.startswith(f"{commands[wrong[0]]!r} is a command"):
                    return f"The reply to {commands[wrong[0]]!r}: {story}"
            return "One reply per line, in order: read one line at a time with readline()."

        checks.equal(
            got,
            expected,
            "The replies to 'SET a 1', 'SET b 2', 'GET a', 'GET a', 'GET c', sent at once",
            likely,
        )
        await asyncio.sleep(1)
        extra = client.more()
        if extra:
            fail(f"handle_client() sent more than one reply per command: {extra!r} came too.")
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_a_line_of_a_whole_mebibyte_works():
    async with Net("handle_client()") as net:
        store: dict[str, str] = {}
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        value = "é" * ((LIMIT - len("SET long \n")) // 2)  # the line: LINE_LIMIT bytes
        await client.send(f"SET long {value}")
        what = f"'SET long <{len(value):,} characters>', a line of {LIMIT:,} bytes"
        checks.equal(await client.reply(what), "OK", f"The reply to {what}", long_set_likely)
        await client.send("GET long")
        got = await client.reply("'GET long'")
        check_long_value(got, value)
        if store.get("long") != value:
            checks.equal(
                short(store["long"]) if "long" in store else "no such key",
                short(value),
                "store['long']",
                store_likely({"long": value}, [(f"SET long {value}", "OK"), ("GET long", got)])(
                    store
                ),
            )
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_connections_share_the_callers_store_and_no_other():
    async with Net("handle_client()") as net:
        first_store: dict[str, str] = {}
        other_store = {"there": "before"}
        first = await HandlerServer.start(net, first_store)
        other = await HandlerServer.start(net, other_store)
        one, one_conn = await first.client("client 1")
        two, two_conn = await first.client("client 2")
        three, three_conn = await other.client("client 3, of a server with another store")
        await expect(one, "SET shared yes", "OK")
        await expect(
            two,
            "GET shared",
            "VALUE yes",
            "Both clients' connections were handed the same store: what one sets, the other gets.",
        )
        await expect(
            three,
            "GET shared",
            "NOT_FOUND",
            "That server's store is another dict: keep nothing of your own outside the "
            "`store` you are given (no module-level dict).",
        )
        await expect(three, "GET there", "VALUE before", "Read and write the store you are given.")
        checks.equal(
            first_store,
            {"shared": "yes"},
            "The first server's store",
            store_likely({"shared": "yes"}, net.history(one.port)),
        )
        checks.equal(other_store, {"there": "before"}, "The other server's store")
        for client, conn in ((one, one_conn), (two, two_conn), (three, three_conn)):
            await expect(client, "QUIT", "BYE")
            await ended(conn, f"after {client.name} sent QUIT")


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_handle_client_waits_a_day_for_the_next_line():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        await expect(client, "SET a 1", "OK")
        await asyncio.sleep(86_400)
        if conn.ended is not None:
            fail(
                f"handle_client() ended at {conn.ended:g} s while its client was quietly "
                "connected, though a client may wait as long as it likes between two lines. "
                + (
                    lesson(conn.error, "It")
                    if conn.error
                    else "Set no time limit of your own (asyncio.wait_for, asyncio.timeout)."
                )
            )
        await expect(client, "GET a", "VALUE 1")
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_each_reply_goes_out_when_its_command_arrives():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        sent = {}
        for at, command in ((0, "SET a 1"), (3, "GET a"), (10, "GET b")):
            await asyncio.sleep(at - net.now())
            sent[command] = net.now()
            await client.send(command)
        for command in sent:
            await client.reply(command)
        checks.equal(
            {command: at for (at, _), command in zip(client.lines, sent, strict=False)},
            sent,
            "Loop time at which each reply came",
            "Each reply goes out as soon as its command has come: read one line, answer it, "
            "then read the next (no sleeping, polling or waiting for more).",
        )
        await expect(client, "QUIT", "BYE")
        await ended(conn, "after the client sent QUIT")


@pytest.mark.task(1)
async def test_a_cancelled_handle_client_closes_its_connection():
    async with Net("handle_client()") as net:
        server = await HandlerServer.start(net, {})
        client, conn = await server.client()
        await expect(client, "SET a 1", "OK")
        await asyncio.sleep(1)
        assert conn.task is not None
        conn.task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                await conn.done.wait()
        where = "cancelled while it waited for the client's next line"
        if conn.ended is None:
            fail(
                f"handle_client() was still running {WAIT:g} s after it was {where}: it "
                "caught the CancelledError and carried on. Let it reach the caller (clean up "
                "in a `finally:`)."
            )
        if conn.how == "returned":
            fail(
                f"handle_client() returned normally after it was {where}: it caught the "
                "CancelledError and did not re-raise it. Close the connection in a "
                "`finally:` and let the CancelledError through."
            )
        if conn.how == "raised":
            fail(f"When {where}, {lesson(conn.error, 'handle_client()')}")
        if conn.state != "closed":
            fail(f"When handle_client() was {where}, it {CLOSE_HOW[conn.state]}.")
        if not await client.end():
            fail(f"handle_client() was {where}, but the client's stream did not end.")


KEYS = ["a", "0", "clé"]
VALUES = ["", "0", "1", " x ", "café ☕", "a  b"]
COMMANDS = st.one_of(
    st.builds(lambda k, v: f"SET {k} {v}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.builds(lambda k: f"GET {k}", st.sampled_from([*KEYS, "nope"])),
    st.sampled_from(["", "PING", "get a", "SET onlykey"]),
)


def in_pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given places (taken modulo its length)."""
    points = sorted({cut % len(data) for cut in cuts} - {0})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.task(1)
@scenarios.given(commands=st.lists(COMMANDS, max_size=8), cuts=st.lists(st.integers(1, 999)))
async def test_handle_client_in_any_scenario(commands, cuts):
    await handler_scenario(commands, cuts)


async def handler_scenario(commands, cuts):
    lines = [*commands, "QUIT"]
    data = b"".join(line.encode() + b"\n" for line in lines)
    pieces = in_pieces(data, cuts)
    scene = f"with the lines {lines!r} sent in {checks.count(len(pieces), 'piece')}"
    scenarios.describe(scene)
    before = {"kept": "before"}
    expected_store = dict(before)
    expected = [oracle(line, expected_store) for line in lines]
    async with Net("handle_client()") as net:
        store = dict(before)
        server = await HandlerServer.start(net, store)
        client, conn = await server.client()
        sent_at = []  # loop time at which each byte went out
        for piece in pieces:
            await client.send(piece)
            sent_at.extend([net.now()] * len(piece))
            await asyncio.sleep(0.125)
        got: list[str] = []
        for line, want in zip(lines, expected, strict=True):
            reply = await client.reply(line, scene=scene)
            checks.equal(
                reply,
                want,
                f"The reply to {line!r} {scene}",
                reply_likely(line, want, list(zip(lines, got, strict=False))),
            )
            got.append(reply)
        await ended(conn, f"after QUIT ({scene})")
        checks.equal(
            store,
            expected_store,
            f"The store {scene}",
            store_likely(expected_store, list(zip(lines, got, strict=True))),
        )
        ends = [i for i, byte in enumerate(data) if byte == ord("\n")]
        checks.equal(
            [at for at, _ in client.lines[: len(lines)]],
            [sent_at[i] for i in ends],
            f"Loop time at which each reply came {scene}",
            "Each reply goes out as soon as the whole line of its command has come.",
        )


# Task 2: start_kv_server

THE_SERVER = "the server start_kv_server() started"
ONE_AT_A_TIME = (
    "Every client is served at the same time as the others: the earlier clients are still "
    "connected (and idle), and this one must not wait for them to leave. Likely the "
    "connections are served one after another (a lock held for a whole connection, or "
    "each connection awaited before the next is accepted)."
)


async def start_server_of(net: Net, port: int = 0) -> tuple[asyncio.AbstractServer, int]:
    """The learner's start_kv_server(HOST, port), checked: the server and its port."""
    try:
        server = await tcp_servers.start_kv_server(HOST, port)
    except OSError as exc:
        fail(
            f"start_kv_server({HOST!r}, {port}) raised {brief(exc)}"
            + (
                ": it tried to listen on a port already taken. Port 0 asks the system for a "
                "free port: pass the port on exactly as given (`port or 8888` turns 0 into "
                "8888)."
                if exc.errno == 98 or "in use" in str(exc)
                else "."
            )
        )
    checks.not_coroutine(server, "start_kv_server()'s result")
    if not isinstance(server, asyncio.AbstractServer):
        fail(
            f"start_kv_server() returned {kind_of(server)}; the "
            "contract promises the asyncio.Server itself (what `await asyncio.start_server(...)` "
            "gives), from which the caller reads the port."
        )
    sockets = list(server.sockets or ())
    if not sockets or not server.is_serving():
        fail(
            "start_kv_server() returned a server that is not listening yet: return it once "
            "it serves (asyncio.start_server serves at once unless you say start_serving=False)."
        )
    names = [sock.getsockname()[:2] for sock in sockets]
    if len(names) != 1 or names[0][0] != HOST:
        fail(
            f"start_kv_server({HOST!r}, {port}) listens on {names!r}; expected one socket on "
            f"{HOST!r}, the host it was given (with no host, asyncio listens on every "
            "interface of the machine)."
        )
    if port and names[0][1] != port:
        fail(f"start_kv_server({HOST!r}, {port}) listens on port {names[0][1]}, not {port}.")
    if names[0][1] == 0:
        fail("start_kv_server() returned a server on port 0.")
    return server, names[0][1]


async def clients_of(net: Net, port: int, count: int, who: str, first: int = 1) -> list[Client]:
    return [
        await Client.connect(net, port, f"client {n}", who) for n in range(first, first + count)
    ]


async def quit_all(clients: list[Client]) -> None:
    for client in clients:
        await expect(client, "QUIT", "BYE")
        if not await client.end():
            fail(f"After {client.name}'s QUIT and BYE, the server did not close the connection.")


@pytest.mark.task(2)
async def test_start_kv_server_returns_a_server_on_the_host_and_a_free_port():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        checks.equal(
            len(net.servers),
            1,
            "asyncio servers that one start_kv_server() call made",
            "Start one server, and return it.",
        )
        client = await Client.connect(net, port, who=THE_SERVER)
        await expect(client, "SET greeting hello", "OK")
        await expect(client, "GET greeting", "VALUE hello")
        await quit_all([client])


@pytest.mark.task(2)
async def test_port_0_gives_each_server_its_own_free_port():
    async with Net("start_kv_server()") as net:
        _, first = await start_server_of(net)
        _, second = await start_server_of(net)
        if first == second:
            fail(f"Two servers started with port 0 both listen on port {first}.")
        clients = [
            await Client.connect(net, port, f"a client of server {n}", THE_SERVER)
            for n, port in ((1, first), (2, second))
        ]
        for client in clients:
            await expect(client, "GET anything", "NOT_FOUND", "A new server's store is empty.")
        await quit_all(clients)


@pytest.mark.task(2)
async def test_a_second_client_is_served_while_the_first_is_connected():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        first = await Client.connect(net, port, "client 1", THE_SERVER)
        await expect(first, "SET first here", "OK")
        second = await Client.connect(net, port, "client 2", THE_SERVER)
        await expect(second, "GET first", "VALUE here", waiting=ONE_AT_A_TIME)
        await expect(first, "GET first", "VALUE here")
        await quit_all([second, first])


@pytest.mark.task(2)
async def test_fifty_clients_are_served_at_once():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        clients = await clients_of(net, port, 50, THE_SERVER)
        for n, client in enumerate(clients, 1):
            await expect(client, f"SET key{n} value {n}", "OK", waiting=ONE_AT_A_TIME)
        for n, client in enumerate(reversed(clients)):
            await expect(client, f"GET key{n + 1}", f"VALUE value {n + 1}", waiting=ONE_AT_A_TIME)
        checks.equal(len(net.learner_transports()), 50, "Connections the server accepted")
        await quit_all(clients)


@pytest.mark.task(2)
async def test_the_clients_of_one_server_share_its_store():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        one, two, three = await clients_of(net, port, 3, THE_SERVER)
        shared = (
            "All the connections of one server share one store: what one client sets, the "
            "others get."
        )
        await expect(one, "SET colour red", "OK")
        await expect(two, "GET colour", "VALUE red", shared, waiting=ONE_AT_A_TIME)
        await expect(three, "SET colour green", "OK", waiting=ONE_AT_A_TIME)
        await expect(one, "GET colour", "VALUE green", shared)
        await expect(two, "GET colour", "VALUE green", shared)
        await quit_all([one, two, three])
        again = await Client.connect(net, port, "a client that comes later", THE_SERVER)
        await expect(again, "GET colour", "VALUE green", "The store lasts as long as the server.")
        await quit_all([again])


@pytest.mark.task(2)
async def test_two_servers_keep_their_own_stores():
    async with Net("start_kv_server()") as net:
        _, first = await start_server_of(net)
        _, second = await start_server_of(net)
        one = await Client.connect(net, first, "a client of server 1", THE_SERVER)
        two = await Client.connect(net, second, "a client of server 2", THE_SERVER)
        await expect(one, "SET where one", "OK")
        await expect(
            two,
            "GET where",
            "NOT_FOUND",
            "Each server has a store of its own, made when it starts: no module-level dict.",
        )
        await expect(two, "SET where two", "OK")
        await expect(one, "GET where", "VALUE one", "Each server keeps its own store.")
        await quit_all([one, two])
    async with Net("start_kv_server()") as net:
        _, third = await start_server_of(net)
        three = await Client.connect(net, third, "a client of a server started later", THE_SERVER)
        await expect(
            three,
            "GET where",
            "NOT_FOUND",
            "A new server starts with an empty store: nothing outlives a server.",
        )
        await quit_all([three])


@pytest.mark.task(2)
async def test_a_line_of_a_mebibyte_through_the_server():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        client = await Client.connect(net, port, who=THE_SERVER)
        value = "ü" * ((LIMIT - len("SET long \n")) // 2)  # the line: LINE_LIMIT bytes
        what = f"'SET long <{len(value):,} characters>', a line of {LIMIT:,} bytes"
        await client.send(f"SET long {value}")
        checks.equal(await client.reply(what), "OK", f"The reply to {what}", long_set_likely)
        await client.send("GET long")
        got = await client.reply("'GET long'")
        check_long_value(got, value)
        await quit_all([client])


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_a_client_may_stay_quiet_for_a_day():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        quiet = await Client.connect(net, port, "the quiet client", THE_SERVER)
        await expect(quiet, "SET a 1", "OK")
        await asyncio.sleep(86_400)
        if quiet.ended is not None:
            fail(
                f"The server closed the quiet client's connection at {quiet.ended:g} s, though "
                "a client may stay connected, saying nothing, as long as it likes: set no "
                "time limit of your own. " + net.story()
            )
        other = await Client.connect(net, port, "a client that comes a day later", THE_SERVER)
        await expect(other, "GET a", "VALUE 1", waiting=ONE_AT_A_TIME)
        await expect(quiet, "GET a", "VALUE 1")
        await quit_all([other, quiet])


@pytest.mark.task(2)
async def test_each_client_is_answered_the_moment_it_asks():
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        clients = await clients_of(net, port, 3, THE_SERVER)
        plan = ((1, 0, "SET a 1", "OK"), (2, 2, "GET a", "VALUE 1"), (4, 1, "SET a 2", "OK"))
        came, asked = {}, {}
        for at, n, command, reply in (*plan, (7, 0, "GET a", "VALUE 2")):
            await asyncio.sleep(at - net.now())
            key = f"{clients[n].name}: {command}"
            asked[key] = float(at)
            await expect(clients[n], command, reply, waiting=ONE_AT_A_TIME)
            came[key] = clients[n].lines[-1][0]
        checks.equal(
            came,
            asked,
            "Loop time at which each client got its reply",
            "Each reply goes out the moment its command comes, whichever client sent it.",
        )
        await quit_all(clients)


# Task 3: kv_client, against the test's own server


@dataclass
class PeerConnection:
    """One connection to the test's server: what came, what went back, and when."""

    peer: tuple  # the client's (host, port)
    began: float
    lines: list[tuple[float, str]] = field(default_factory=list)  # (when it came, the line)
    replies: list[tuple[float, str]] = field(default_factory=list)  # (when it went, the reply)
    ended: float | None = None  # when the client's side of the stream ended


class Peer:
    """The test's own key-value server for kv_client() (an asyncio.Protocol, so it notes the
    loop time each line arrives). It answers each line by the protocol after `delay` s of
    loop time, closes the connection after BYE, and can misbehave: `hang_up` closes the
    connection instead of answering the line of that number (1 is the first), `cut_short`
    sends only part of that line's reply before it closes."""

    def __init__(self, net: Net, store: dict, delay: float, hang_up: int, cut_short: int) -> None:
        self.net = net
        self.store = store
        self.delay = delay
        self.hang_up = hang_up
        self.cut_short = cut_short
        self.connections: list[PeerConnection] = []
        self.port = 0

    @classmethod
    async def start(
        cls,
        net: Net,
        store: dict | None = None,
        delay: float = 0,
        hang_up: int = 0,
        cut_short: int = 0,
    ) -> "Peer":
        peer = cls(net, dict(store or {}), delay, hang_up, cut_short)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: PeerProtocol(peer), HOST, 0)
        peer.port = server.sockets[0].getsockname()[1]
        return peer

    def lines(self, index: int = 0) -> list[str]:
        return [line for _, line in self.connections[index].lines] if self.connections else []


class PeerProtocol(asyncio.Protocol):
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.buffer = b""
        self.queue: asyncio.Queue = asyncio.Queue()

    def connection_made(self, transport) -> None:
        net = self.peer.net
        net.mine.add(id(transport))
        self.transport = transport
        self.conn = PeerConnection(transport.get_extra_info("peername")[:2], net.now())
        self.peer.connections.append(self.conn)
        net.task(self.answer())

    def data_received(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in lines:
            text = line.decode(errors="replace")
            self.conn.lines.append((self.peer.net.now(), text))
            self.queue.put_nowait(text)

    def eof_received(self) -> bool:
        self.ended()
        return True  # keep our side open until the worker closes it

    def connection_lost(self, exc) -> None:
        self.ended()

    def ended(self) -> None:
        if self.conn.ended is None:
            self.conn.ended = self.peer.net.now()
            self.queue.put_nowait(None)

    async def answer(self) -> None:
        peer = self.peer
        number = 0
        while (line := await self.queue.get()) is not None:
            number += 1
            if peer.delay:
                await asyncio.sleep(peer.delay)
            if number == peer.hang_up:
                self.transport.close()
                return
            reply = oracle(line, peer.store)
            if number == peer.cut_short:
                self.transport.write(reply.encode()[:-2])
                self.transport.close()
                return
            self.transport.write(reply.encode() + b"\n")
            self.conn.replies.append((peer.net.now(), reply))
            if reply == "BYE":
                self.transport.close()
                return


@dataclass
class ClientRun:
    """One call of the learner's kv_client(): what it returned or raised, and when."""

    result: object = None
    error: BaseException | None = None
    ended: float | None = None
    states: list[str] = field(default_factory=list)  # its connections' states at that moment


async def run_client(
    net: Net, port: int, commands: list[str], limit: float = 100, expect_error: bool = False
) -> ClientRun:
    """Await the learner's kv_client(HOST, port, commands) (at most `limit` s of loop time),
    then check that it closed its connection and, unless `expect_error`, that it returned a
    list of str."""
    run = ClientRun()
    before = set(map(id, net.transports))
    try:
        async with asyncio.timeout(limit) as scope:
            run.result = await tcp_servers.kv_client(HOST, port, commands)
    except TimeoutError as exc:
        if not scope.expired():
            run.error = exc
        else:
            fail(
                f"kv_client() was still running {limit:g} s (of loop time) after it was "
                "called, though the server had long answered or closed the connection."
                + (f" {net.story()}" if net.story() else "")
            )
    except EndOfStreamSpin:
        fail(
            "kv_client() kept reading after the server had closed the connection: at the end "
            "of a stream readline() returns b'' at once, every time, and it called it again "
            f"and again ({SPIN_LIMIT} times, without ever waiting). When readline() gives b'' "
            "(or a line without its '\\n'), the connection is over: raise ConnectionError."
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        if isinstance(exc, pytest.fail.Exception | asyncio.CancelledError | NotImplementedError):
            raise
        run.error = exc
    run.ended = net.now()
    mine = [t for t in net.transports if id(t) not in before and id(t) not in net.mine]
    run.states = [state_of(t) for t in mine]
    if run.error is not None and not expect_error:
        fail(client_lesson(run.error))
    if not expect_error:
        checks.not_coroutine(run.result, "kv_client()'s result")
    return run


BYE_NOT_READ = (
    "It returned before the BYE came (at {at:g} s): after QUIT, read its BYE, then close."
)


def client_lesson(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, asyncio.LimitOverrunError) or (
        isinstance(exc, ValueError) and ("limit" in text or "Separator is not found" in text)
    ):
        return (
            f"kv_client() raised {type(exc).__name__}: {text}. A StreamReader refuses a line "
            "longer than its limit, 64 KiB unless you say otherwise, and a reply may be up to "
            "LINE_LIMIT bytes: pass `limit=LINE_LIMIT` to asyncio.open_connection."
        )
    if isinstance(exc, TimeoutError):
        return (
            "kv_client() raised TimeoutError, which nothing in the test raises. Likely a time "
            "limit of your own (asyncio.wait_for, asyncio.timeout): the contract sets none, "
            "and a server may take a day to reply."
        )
    if isinstance(exc, ConnectionError | EOFError):
        return (
            f"kv_client() raised {brief(exc)}, though the server answered every line and "
            "closed the connection only after BYE."
        )
    return f"kv_client() raised {brief(exc)}."


def check_closed(run: ClientRun, when: str = "returned") -> None:
    if not run.states:
        fail("kv_client() made no connection of its own (asyncio.open_connection).")
    for state in run.states:
        if state != "closed":
            fail(f"When kv_client() {when}, it {CLOSE_HOW[state]}.")


def check_seen(peer: Peer, commands: list[str], what: str) -> None:
    """The test's server got one connection, and on it exactly `commands` and then QUIT."""
    checks.equal(
        len(peer.connections),
        1,
        f"Connections kv_client() opened {what}",
        "One connection for the whole call.",
    )
    seen = peer.lines()
    expected = [*commands, "QUIT"]

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        if got == commands:
            return "After the last command, send QUIT (and read its BYE) before you close."
        if [g.strip() for g in got] == [e.strip() for e in expected] or sorted(got) != sorted(
            expected
        ):
            if len(got) < len(expected) and all(g in expected for g in got):
                return (
                    "Every command counts, empty and repeated ones too: send each one, in "
                    "order, exactly once."
                )
            if len(got) == len(expected):
                return "Send each command exactly as given: no strip() or other clean-up."
            return "Send each command exactly once, in order, then QUIT."
        return "Send the commands in the order given."

    checks.equal(seen, expected, f"The lines the server got {what}", likely)


def check_replies(run: ClientRun, expected: list[str], what: str) -> None:
    result = run.result
    if not isinstance(result, list):
        fail(
            f"kv_client() returned a {type(result).__name__} ({short(repr(result))}); the "
            "contract promises a list of the replies, each a str."
        )
    checks.equal(
        result,
        expected,
        f"kv_client()'s replies {what}",
        lambda got: (
            "Each reply is a str: decode the line (`line.decode()`)."
            if any(isinstance(g, bytes) for g in got)
            else "Remove only the '\\n' at the end of each reply: nothing else (no strip())."
            if [str(g).strip() for g in got] == [e.strip() for e in expected]
            else "Return only the replies to the commands, not QUIT's BYE."
            if got == [*expected, "BYE"]
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_kv_client_returns_each_reply_in_order():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"})
        commands = ["GET a", "SET b 2", "GET b", "GET missing", "PING"]
        run = await run_client(net, peer.port, list(commands))
        check_replies(run, ["VALUE 1", "OK", "VALUE 2", "NOT_FOUND", "ERROR"], f"for {commands!r}")
        check_seen(peer, commands, f"for {commands!r}")
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_drains_after_every_write():
    async with Net("kv_client()") as net:
        value = "x" * (200 * KIB)  # a command of 200 KiB: over the write buffer's 64 KiB
        peer = await Peer.start(net, {"a": "1"})
        commands = [f"SET big {value}", "GET a", "SET b 2"]
        run = await run_client(net, peer.port, list(commands))
        check_replies(run, ["OK", "VALUE 1", "OK"], "for ['SET big <200 KiB>', 'GET a', 'SET b 2']")
        mine = net.learner_transports()
        calls = [call for t in mine for call in net.io.get(id(t), [])]
        undrained = b""
        for call, data in calls:
            if call == "write":
                undrained += data
            elif call == "drain":
                undrained = b""
            elif undrained:  # a read, with a write not drained yet
                fail(
                    f"kv_client() wrote {short(undrained)} and then read the reply without "
                    "awaiting writer.drain() in between. writer.write() only puts the bytes in "
                    "a buffer; `await writer.drain()` after each write waits while that buffer "
                    "is over its limit (here a command of 200 KiB), so a server that reads "
                    "slowly holds the client up instead of filling its memory. Write, drain, "
                    "then read the reply."
                )
        sent = len(peer.lines())
        drains = sum(call == "drain" for call, _ in calls)
        if drains < sent:
            fail(
                f"kv_client() sent {checks.count(sent, 'line')} (its commands and QUIT) but "
                f"awaited writer.drain() {checks.count(drains, 'time')}: write each line with "
                "writer.write(), then `await writer.drain()`, then read its reply."
            )
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_says_quit_and_closes_its_connection():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"})
        run = await run_client(net, peer.port, ["GET a"])
        check_seen(peer, ["GET a"], "for ['GET a']")
        check_closed(run)
        check_replies(run, ["VALUE 1"], "for ['GET a']")


@pytest.mark.task(3)
async def test_kv_client_waits_for_each_reply_before_the_next_command():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"}, delay=1)
        commands = ["GET a", "SET a 2", "GET a"]
        run = await run_client(net, peer.port, list(commands))
        check_replies(run, ["VALUE 1", "OK", "VALUE 2"], "from a server that takes 1 s a reply")
        conn = peer.connections[0]
        arrived = [at for at, _ in conn.lines]
        checks.equal(
            arrived,
            [0.0, 1.0, 2.0, 3.0],
            f"Loop time at which the server got each of {[*commands, 'QUIT']!r} (it replies "
            "1 s after each line)",
            "Send each command only once the reply to the one before has come (readline() "
            "waits for it): the protocol answers one line at a time.",
        )
        checks.took(
            run.ended,
            4,
            "kv_client() with a server that takes 1 s to answer each of 3 commands and QUIT",
            {3: BYE_NOT_READ.format(at=4)},
        )
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_with_no_commands_still_says_quit():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net)
        run = await run_client(net, peer.port, [])
        check_replies(run, [], "for no commands")
        check_seen(peer, [], "for no commands")
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_sends_repeated_and_empty_commands():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "x"})
        commands = ["GET a", "GET a", "", "SET e ", "GET e", "SET a  spaced  out "]
        run = await run_client(net, peer.port, list(commands))
        check_seen(peer, commands, f"for {commands!r}")
        check_replies(
            run, ["VALUE x", "VALUE x", "ERROR", "OK", "VALUE ", "OK"], f"for {commands!r}"
        )
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_keeps_each_reply_exactly_as_it_came():
    async with Net("kv_client()") as net:
        values = {"a": " padded ", "b": "", "c": "naïve ☕ 日本", "d": "tab\there"}
        peer = await Peer.start(net, values)
        commands = [f"GET {key}" for key in values]
        run = await run_client(net, peer.port, list(commands))
        check_replies(run, [f"VALUE {v}" for v in values.values()], f"for {commands!r}")
        if not all(type(reply) is str for reply in run.result):
            fail(f"kv_client() returned {run.result!r}: each reply is a str.")
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_leaves_the_commands_unchanged():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net)
        commands = ["SET a 1", "GET a", "SET a 1"]
        run = await run_client(net, peer.port, commands)
        checks.equal(
            commands,
            ["SET a 1", "GET a", "SET a 1"],
            "The caller's `commands` after kv_client()",
            "kv_client() changed the list it was given (pop, remove, append QUIT...): leave it "
            "as it was.",
        )
        if isinstance(run.result, list) and run.result is commands:
            fail("kv_client() returned the list it was given: return a new list of replies.")
        check_replies(run, ["OK", "VALUE 1", "OK"], f"for {commands!r}")
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_reads_a_reply_of_a_mebibyte():
    async with Net("kv_client()") as net:
        value = "€" * ((LIMIT - len("VALUE \n")) // 3)  # the reply: nearly LINE_LIMIT bytes
        peer = await Peer.start(net, {"long": value})
        run = await run_client(net, peer.port, ["GET long"])
        if not isinstance(run.result, list) or run.result != [f"VALUE {value}"]:
            got = [short(r) for r in run.result] if isinstance(run.result, list) else run.result
            checks.equal(got, [short(f"VALUE {value}")], "kv_client()'s replies for ['GET long']")
        check_closed(run)


@pytest.mark.task(3)
async def test_kv_client_raises_connection_error_when_the_server_hangs_up():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"}, hang_up=2)
        commands = ["GET a", "GET a", "GET a"]
        run = await run_client(net, peer.port, list(commands), expect_error=True)
        what = "when the server closed the connection instead of answering the second 'GET a'"
        check_connection_error(run, what, "readline() returned b''")
        checks.equal(peer.lines(), ["GET a", "GET a"], f"The lines the server got {what}")
        check_closed(run, f"raised {what}")


@pytest.mark.task(3)
async def test_a_reply_cut_short_is_a_connection_error():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "complete"}, cut_short=1)
        run = await run_client(net, peer.port, ["GET a"], expect_error=True)
        what = "when the server sent b'VALUE complet' (no '\\n') and closed the connection"
        check_connection_error(
            run, what, "readline() returned b'VALUE complet', a line without its '\\n'"
        )
        check_closed(run, f"raised {what}")


@pytest.mark.task(3)
async def test_a_bye_cut_short_is_a_connection_error_too():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "complete"}, cut_short=2)
        run = await run_client(net, peer.port, ["GET a"], expect_error=True)
        what = "when the server answered 'GET a' but sent only b'B' for QUIT and closed"
        check_connection_error(run, what, "readline() returned b'B', a line without its '\\n'")
        check_closed(run, f"raised {what}")


def check_connection_error(run: ClientRun, what: str, saw: str) -> None:
    error = run.error
    if error is None:
        fail(
            f"kv_client() returned {short(repr(run.result))} {what}: raise ConnectionError. "
            f"There, {saw}: at the end of a stream readline() gives what is left, perhaps "
            "b'', and a reply is only whole with its '\\n'."
        )
    if isinstance(error, asyncio.CancelledError):
        raise error
    if not isinstance(error, ConnectionError | asyncio.IncompleteReadError):
        fail(
            f"kv_client() raised {brief(error)} {what}; expected a ConnectionError (there, "
            f"{saw}: check for that and `raise ConnectionError(...)`)."
        )


@pytest.mark.task(3)
async def test_kv_client_lets_connection_refused_through():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net)
        port = peer.port
        for server in net.servers:
            server.close()
            await server.wait_closed()
        run = await run_client(net, port, ["GET a"], expect_error=True)
        if not isinstance(run.error, ConnectionRefusedError):
            fail(
                f"kv_client() with nothing listening at port {port} "
                + (
                    f"returned {short(repr(run.result))}"
                    if run.error is None
                    else f"raised {brief(run.error)}"
                )
                + ": let the ConnectionRefusedError from asyncio.open_connection reach the "
                "caller (do not catch it), so the caller knows no server was there."
            )


@pytest.mark.task(3)
@pytest.mark.loop_limit(400_000)
async def test_kv_client_waits_a_day_for_a_reply():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"}, delay=86_400)
        run = await run_client(net, peer.port, ["GET a"], limit=300_000)
        check_replies(run, ["VALUE 1"], "from a server that takes a day to answer each line")
        checks.took(
            run.ended,
            2 * 86_400,
            "kv_client() with 'GET a' and QUIT, a day each",
            {86_400: BYE_NOT_READ.format(at=2 * 86_400)},
        )
        check_closed(run)


@pytest.mark.task(3)
async def test_a_cancelled_kv_client_closes_its_connection():
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, {"a": "1"}, delay=10)
        before = set(map(id, net.transports))
        call = net.task(tcp_servers.kv_client(HOST, peer.port, ["GET a", "GET a"]))
        await asyncio.sleep(15)
        call.cancel()
        done, _ = await asyncio.wait([call], timeout=WAIT)
        where = "cancelled at 15 s, while it waited for its second reply"
        mine = [t for t in net.transports if id(t) not in before and id(t) not in net.mine]
        states = [state_of(t) for t in mine]
        if not done:
            fail(
                f"kv_client() was still running {WAIT:g} s after it was {where}: it caught "
                "the CancelledError and carried on. Let it reach the caller."
            )
        if not call.cancelled():
            error = call.exception()
            if isinstance(error, pytest.fail.Exception | NotImplementedError):
                raise error
            fail(
                f"kv_client() {'raised ' + brief(error) if error else 'returned'} after it was "
                f"{where}: it must end cancelled (close the connection in a `finally:` and let "
                "the CancelledError through)."
            )
        for state in states or ["open"]:
            if state != "closed":
                fail(f"When kv_client() was {where}, it {CLOSE_HOW[state]}.")


@pytest.mark.task(3)
async def test_two_kv_clients_at_once_keep_their_own_connections():
    async with Net("kv_client()") as net:
        one = await Peer.start(net, {"who": "one"}, delay=1)
        two = await Peer.start(net, {"who": "two"}, delay=2)
        got = await asyncio.gather(
            tcp_servers.kv_client(HOST, one.port, ["GET who", "SET x 1"]),
            tcp_servers.kv_client(HOST, two.port, ["GET who"]),
        )
        checks.equal(
            list(got),
            [["VALUE one", "OK"], ["VALUE two"]],
            "Two kv_client() calls at once, to two servers",
            "Each call has its own connection and its own replies: keep nothing at module "
            "level (no shared reader, writer or list).",
        )
        checks.equal(
            len(one.connections) + len(two.connections), 2, "Connections the two calls made"
        )
        check_seen(one, ["GET who", "SET x 1"], "from the first call")
        check_seen(two, ["GET who"], "from the second call")
        again = await run_client(net, one.port, ["GET x"])
        check_replies(again, ["VALUE 1"], "for ['GET x'], called again afterwards")
        for state in [state_of(t) for t in net.learner_transports()]:
            if state != "closed":
                fail(f"When the kv_client() calls returned, one {CLOSE_HOW[state]}.")


@pytest.mark.task(3)
@scenarios.given(commands=st.lists(COMMANDS, max_size=6), delay=st.sampled_from([0, 0.5, 2]))
async def test_kv_client_in_any_scenario(commands, delay):
    scene = f"with the commands {commands!r} and a server that answers after {delay:g} s"
    scenarios.describe(scene)
    before = {"a": "1"}
    store = dict(before)
    expected = [oracle(command, store) for command in commands]
    async with Net("kv_client()") as net:
        peer = await Peer.start(net, before, delay=delay)
        run = await run_client(net, peer.port, list(commands))
        check_replies(run, expected, scene)
        check_seen(peer, commands, scene)
        checks.equal(
            [at for at, _ in peer.connections[0].lines],
            [n * delay for n in range(len(commands) + 1)],
            f"Loop time at which the server got each line {scene}",
            "Send each command only once the reply to the one before has come.",
        )
        checks.took(
            run.ended,
            (len(commands) + 1) * delay,
            f"kv_client() {scene}",
            {len(commands) * delay: BYE_NOT_READ.format(at=(len(commands) + 1) * delay)}
            if delay
            else {},
        )
        check_closed(run)


# Task 4: serve_kv

SERVE_KV = "the server serve_kv() runs"
HOW_TO_SHUT_DOWN = (
    "close every client's connection (each handler's writer, which you keep in a set; on "
    "Python 3.13 server.close_clients() does it) and wait for the handlers to finish"
)


class Serving:
    """The learner's serve_kv(HOST, 0, ready), running as a task of the test's own."""

    def __init__(
        self, net: Net, task: asyncio.Task, port: int, end: dict, server: asyncio.AbstractServer
    ) -> None:
        self.net = net
        self.task = task
        self.port = port
        self.end = end  # what was still running or open at the very moment serve_kv() ended
        self.server = server  # the asyncio server serve_kv() listens with

    @classmethod
    async def start(cls, net: Net) -> "Serving":
        ready = net.loop.create_future()
        end: dict = {}
        net.slow_finish = True
        tag = ("serving", id(end))

        async def serve() -> None:
            try:
                await tcp_servers.serve_kv(HOST, 0, ready)
            finally:  # in the step serve_kv() ended in: nothing else has run since
                port = ready.result() if ready.done() and not ready.cancelled() else None
                ours = (None, tag, ("port", port))  # not another serve_kv()'s tasks
                end["running"] = [t for t in net.theirs() if net.tags.get(t) in ours]
                end["states"] = {id(t): state_of(t) for t in net.learner_transports()}
                end["waits"] = [dict(wait) for wait in net.waits]

        task = net.task(serve())
        net.tags[task] = tag
        await asyncio.wait([ready, task], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            if task.done():
                error = None if task.cancelled() else task.exception()
                if isinstance(error, pytest.fail.Exception | NotImplementedError):
                    raise error
                fail(
                    "serve_kv() "
                    + (f"raised {brief(error)}" if error else "ended")
                    + " without setting ready's result: start the server, then "
                    "`ready.set_result(port)`, then serve until cancelled."
                    + (f" {lesson(error, 'serve_kv()')}" if error else "")
                )
            ready.cancel()
            waiting = waiting_in(task, "serve_kv()")
            fail(
                f"serve_kv() had not set ready's result {WAIT:g} s (of loop time) after it "
                "started: once the server listens, `ready.set_result(port)`, then serve."
                + (f" {waiting}" if waiting else "")
            )
        port = ready.result()
        if type(port) is not int:
            fail(
                f"serve_kv() set ready's result to {port!r}, a {type(port).__name__}; the "
                "contract asks for the port, an int"
                + (
                    ": getsockname() gives (host, port), take its [1]."
                    if isinstance(port, tuple)
                    else "."
                )
            )
        listening = [s for s in net.servers if s.sockets]
        ports = {sock.getsockname()[1] for s in listening for sock in s.sockets}
        if port == 0 or port not in ports:
            fail(
                f"serve_kv() set ready's result to {port}, but its server listens on "
                f"{sorted(ports)!r}: port 0 asks the system for a free port; read the one it "
                "chose from `server.sockets[0].getsockname()[1]`."
            )
        if task.done():
            fail("serve_kv() ended right after setting ready's result: serve until cancelled.")
        server = next(s for s in listening if port in {sock.getsockname()[1] for sock in s.sockets})
        return cls(net, task, port, end, server)

    def connections(self) -> list[asyncio.Transport]:
        """The server side of every connection its server accepted."""
        return [
            t
            for t in self.net.learner_transports()
            if (t.get_extra_info("sockname") or (None, None))[1] == self.port
        ]

    async def stop(self, clients: list[Client], what: str, half: bytes = b"") -> None:
        """Cancel serve_kv() and check that it shut down at once and cleanly. `clients` are
        those still connected; `half`, a half line one of them had sent."""
        net = self.net
        cancelled_at = net.now()
        connected = [c for c in clients if c.ended is None]
        self.task.cancel()
        done, _ = await asyncio.wait([self.task], timeout=2 * WAIT)
        ended = net.now()
        if not done:
            waiting = waiting_in(self.task, "serve_kv()")
            early = self.early_wait(self.net.waits)
            fail(
                f"serve_kv() was still running {2 * WAIT:g} s (of loop time) after it was "
                f"cancelled {what}. {waiting + ' ' if waiting else ''}"
                + (f"{early} " if early else "")
                + "Shut down at once: stop "
                f"listening, {HOW_TO_SHUT_DOWN}; the clients are not waited for"
                + (
                    " (from Python 3.12, server.wait_closed() waits until every connection "
                    "is closed, and asyncio.Server.serve_forever() waits for it when it is "
                    "cancelled)."
                    if connected
                    else "."
                )
            )
        if not self.task.cancelled():
            error = self.task.exception()
            if isinstance(error, pytest.fail.Exception):
                raise error
            fail(
                f"serve_kv() {'raised ' + brief(error) if error else 'returned'} when it was "
                f"cancelled {what}: it must end cancelled. Shut down in a `finally:` and let "
                "the CancelledError reach the caller."
            )
        net.check_spins()
        errors = net.errors()
        if errors:
            fail(
                f"When serve_kv() was cancelled {what}, one of its tasks raised "
                f"{brief(errors[0])}"
                + (
                    ": a handler wrote to its connection after the shutdown had closed it. "
                    "Once readline() gives b'' or a line without its '\\n' (the end of the "
                    "stream), a handler answers nothing more"
                    + (
                        f" (a client had sent the half line {half!r}: that is no command)."
                        if half
                        else "."
                    )
                    if isinstance(errors[0], ConnectionError)
                    else f". {lesson(errors[0], 'It')}"
                )
            )
        running = self.end.get("running", [])
        at_end = self.end.get("states", {})
        states = [at_end.get(id(t), "closed") for t in self.connections()]
        if running and "open" not in states:
            cancelled = [t for t in running if t.cancelling()]
            fail(
                f"serve_kv() ended (cancelled {what}) while "
                f"{checks.count(len(running), 'task')} it had started "
                f"{'was' if len(running) == 1 else 'were'} still running "
                f"({describe_tasks(running)}), though every client connection was closed: "
                "it did not wait for its handler tasks themselves to finish. A handler may "
                "still have work to do after its connection has closed (here the test made "
                "each handler's writer.wait_closed() return a few steps of the loop later, as "
                "a busy machine might), so waiting on the writers is not enough"
                + (
                    f". It had cancelled {checks.count(len(cancelled), 'of them', 'of them')}, "
                    "then stopped waiting before they had ended: asyncio.gather(*tasks) "
                    "without return_exceptions=True gives up at the first one that ends "
                    "cancelled (or with an error)"
                    if cancelled
                    else ""
                )
                + ". Keep each handler's task and `await asyncio.gather(*tasks, "
                "return_exceptions=True)` (or asyncio.wait(tasks)) before serve_kv() ends."
            )
        if running:
            fail(
                f"serve_kv() ended (cancelled {what}) while {checks.count(len(running), 'task')} "
                f"it had started {'was' if len(running) == 1 else 'were'} still running "
                f"({describe_tasks(running)}): before it ends, {HOW_TO_SHUT_DOWN}. On Python "
                "3.11, server.close() and wait_closed() stop the listening only: the "
                "connections stay open and their handlers keep running."
            )
        if "open" in states:
            fail(
                f"serve_kv() ended (cancelled {what}) with "
                f"{checks.count(states.count('open'), 'client connection')} still open: "
                f"{HOW_TO_SHUT_DOWN}."
            )
        self.check_wait_closed(what)
        if ended > cancelled_at:
            fail(
                f"serve_kv() took {ended - cancelled_at:g} s of loop time to shut down after it "
                f"was cancelled {what}; expected 0 s. Shut down at once, with no sleep or grace "
                "period: the connections close and their handlers end within the same moment."
            )
        try:
            late = await Client.connect(net, self.port, "a client that came after shutdown")
        except ConnectionRefusedError:
            pass
        else:
            await late.close()
            fail(
                f"serve_kv() had ended (cancelled {what}), but a new client could still connect "
                f"to port {self.port}: stop listening with server.close()."
            )
        for client in connected:
            if not await client.end():
                fail(
                    f"serve_kv() had ended (cancelled {what}), but {client.name}'s stream did "
                    f"not end: {HOW_TO_SHUT_DOWN}."
                )

    def early_wait(self, waits: list[dict]) -> str:
        """Told when serve_kv() awaited its server's wait_closed() with connections still
        open ("" otherwise)."""
        mine = {id(t) for t in self.connections()}
        for wait in waits:
            still = [t for t in wait["open"] if id(t) in mine]
            if wait["server"] is self.server and still and not wait["returned"]:
                return (
                    "serve_kv() awaited server.wait_closed() while "
                    f"{checks.count(len(still), 'client connection')} of its server "
                    f"{'was' if len(still) == 1 else 'were'} still open: from Python 3.12 it "
                    "waits until every connection has closed, so close them first."
                )
        return ""

    def check_wait_closed(self, what: str) -> None:
        """serve_kv() awaited its server's wait_closed(), after close() and after the
        connections were closed, and it had returned when serve_kv() ended."""
        waits = [w for w in self.end.get("waits", []) if w["server"] is self.server]
        mine = {id(t) for t in self.connections()}
        last = (
            "Last, once the connections are closed and the handlers have finished, `await "
            "server.wait_closed()`: on Python 3.11 it returns at once, but from 3.12 it waits "
            "until every connection has closed, and only then is the server closed."
        )
        if not waits:
            fail(
                f"serve_kv() ended (cancelled {what}) without awaiting server.wait_closed(). {last}"
            )
        if any(
            w["after_close"] and w["returned"] and not [t for t in w["open"] if id(t) in mine]
            for w in waits
        ):
            return
        if all(not w["after_close"] for w in waits):
            fail(
                f"serve_kv() (cancelled {what}) awaited server.wait_closed() before it called "
                f"server.close(): wait_closed() waits for a close that has not begun. {last}"
            )
        for wait in waits:
            still = [t for t in wait["open"] if id(t) in mine]
            if still and wait["after_close"]:
                fail(
                    f"serve_kv() (cancelled {what}) awaited server.wait_closed() while "
                    f"{checks.count(len(still), 'client connection')} of its server "
                    f"{'was' if len(still) == 1 else 'were'} still open: on Python 3.11 "
                    "that returns at once, but from 3.12 it waits until every connection has "
                    "closed, and with clients connected that may be never. Stop listening, "
                    f"{HOW_TO_SHUT_DOWN}; then `await server.wait_closed()`, last."
                )
        fail(
            f"serve_kv() ended (cancelled {what}) before the server.wait_closed() it had "
            f"started had returned: await it. {last}"
        )


def describe_tasks(tasks: list[asyncio.Task]) -> str:
    names = []
    for task in tasks[:3]:
        coro = task.get_coro()
        names.append(getattr(coro, "__qualname__", None) or repr(coro))
    return ", ".join(names) + (", ..." if len(tasks) > 3 else "")


@pytest.mark.task(4)
async def test_serve_kv_reports_its_port_then_serves():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        checks.equal(len(net.servers), 1, "asyncio servers that serve_kv() started")
        one, two = await clients_of(net, serving.port, 2, SERVE_KV)
        await expect(one, "SET city Zürich", "OK")
        await expect(
            two,
            "GET city",
            "VALUE Zürich",
            "The clients of one server share its store.",
            waiting=ONE_AT_A_TIME,
        )
        await expect(two, "GET nowhere", "NOT_FOUND")
        await quit_all([one, two])
        await serving.stop([], "after its clients had left")


@pytest.mark.task(4)
async def test_serve_kv_serves_twenty_clients_at_once():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        clients = await clients_of(net, serving.port, 20, SERVE_KV)
        for n, client in enumerate(clients, 1):
            await expect(client, f"SET key{n} {n}", "OK", waiting=ONE_AT_A_TIME)
        for n, client in enumerate(reversed(clients)):
            await expect(client, f"GET key{n + 1}", f"VALUE {n + 1}", waiting=ONE_AT_A_TIME)
        await quit_all(clients)
        await serving.stop([], "after its clients had left")


@pytest.mark.task(4)
async def test_cancelling_serve_kv_with_clients_connected_shuts_it_down():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        idle, busy, halfway, gone = await clients_of(net, serving.port, 4, SERVE_KV)
        await expect(busy, "SET a 1", "OK")
        await expect(gone, "GET a", "VALUE 1")
        await quit_all([gone])
        await halfway.send(b"SET b hal")  # half a line, no newline yet
        await asyncio.sleep(1)
        await serving.stop(
            [idle, busy, halfway],
            "with three clients connected (one half-way through a line)",
            half=b"SET b hal",
        )


@pytest.mark.task(4)
async def test_serve_kv_without_any_client_shuts_down_at_once():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        await asyncio.sleep(10)
        await serving.stop([], "at 10 s, having never had a client")


@pytest.mark.task(4)
async def test_each_serve_kv_has_its_own_store():
    async with Net("serve_kv()") as net:
        first = await Serving.start(net)
        second = await Serving.start(net)
        one = await Client.connect(net, first.port, "a client of the first serve_kv()", SERVE_KV)
        two = await Client.connect(net, second.port, "a client of the second serve_kv()", SERVE_KV)
        await expect(one, "SET mine first", "OK")
        await expect(
            two,
            "GET mine",
            "NOT_FOUND",
            "Each serve_kv() has a store of its own: no module-level dict.",
        )
        await quit_all([one, two])
        await first.stop([], "after its client had left")
        await second.stop([], "after its client had left")
    async with Net("serve_kv()") as net:
        third = await Serving.start(net)
        three = await Client.connect(net, third.port, "a client of a later serve_kv()", SERVE_KV)
        await expect(three, "GET mine", "NOT_FOUND", "A new serve_kv() starts with an empty store.")
        await quit_all([three])
        await third.stop([], "after its client had left")


@pytest.mark.task(4)
@pytest.mark.loop_limit(200_000)
async def test_serve_kv_serves_for_a_day_and_more():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        quiet = await Client.connect(net, serving.port, "the quiet client", SERVE_KV)
        await expect(quiet, "SET a 1", "OK")
        await asyncio.sleep(90_000)
        if serving.task.done():
            fail(
                f"serve_kv() ended at {net.now():g} s though nobody had cancelled it: serve "
                "until cancelled, however long that is (set no time limit)."
            )
        if quiet.ended is not None:
            fail(
                f"The server closed the quiet client's connection at {quiet.ended:g} s, though "
                "a client may stay connected as long as it likes: set no time limit of your "
                "own. " + net.story()
            )
        late = await Client.connect(net, serving.port, "a client that came a day later", SERVE_KV)
        await expect(late, "GET a", "VALUE 1", waiting=ONE_AT_A_TIME)
        await expect(quiet, "GET a", "VALUE 1")
        await serving.stop([quiet, late], "after a day, with two clients connected")


@pytest.mark.task(4)
async def test_serve_kv_takes_long_lines_in_pieces():
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        client = await Client.connect(net, serving.port, who=SERVE_KV)
        value = "ß" * ((LIMIT - len("SET long \n")) // 2)  # the line: LINE_LIMIT bytes
        line = f"SET long {value}\n".encode()
        for piece in (line[:3], line[3:11], line[11:]):
            await client.send(piece)
            await asyncio.sleep(1)
        what = f"'SET long <{len(value):,} characters>', a line of {LIMIT:,} bytes sent in pieces"
        checks.equal(await client.reply(what), "OK", f"The reply to {what}", long_set_likely)
        await client.send("GET long")
        got = await client.reply("'GET long'")
        check_long_value(got, value)
        await serving.stop([client], "with one client connected")


STEPS = st.lists(st.tuples(st.integers(0, 2), COMMANDS), max_size=10)


async def clients_scenario(net: Net, port: int, steps, scene: str, who: str) -> list[Client]:
    """Clients 1 to 3 connect when they first speak, and send their commands in turn, 1/4 s
    apart; every reply is checked against the test's own store. Returns the clients."""
    clients: dict[int, Client] = {}
    store: dict[str, str] = {}
    for index, command in steps:
        if index not in clients:
            clients[index] = await Client.connect(net, port, f"client {index + 1}", who)
        client = clients[index]
        expected = oracle(command, store)
        asked = net.now()
        got = await client.ask(command, ONE_AT_A_TIME)
        checks.equal(
            got,
            expected,
            f"The reply to {client.name}'s {command!r} {scene}",
            reply_likely(command, expected),
        )
        checks.equal(
            client.lines[client.taken - 1][0],
            asked,
            f"Loop time at which {client.name} got its reply to {command!r} {scene}",
            "Each reply goes out the moment its command comes.",
        )
        await asyncio.sleep(0.25)
    return [clients[i] for i in sorted(clients)]


def steps_scene(steps) -> str:
    said = ", ".join(f"client {i + 1}: {command!r}" for i, command in steps)
    return f"with {said or 'no clients'}"


@pytest.mark.task(2)
@scenarios.given(steps=STEPS)
async def test_start_kv_server_in_any_scenario(steps):
    scene = steps_scene(steps)
    scenarios.describe(scene)
    async with Net("start_kv_server()") as net:
        _, port = await start_server_of(net)
        clients = await clients_scenario(net, port, steps, scene, THE_SERVER)
        await quit_all(clients)


@pytest.mark.task(4)
@scenarios.given(steps=STEPS, leaving=st.sets(st.integers(0, 2)))
async def test_serve_kv_in_any_scenario(steps, leaving):
    scene = steps_scene(steps)
    scenarios.describe(scene)
    async with Net("serve_kv()") as net:
        serving = await Serving.start(net)
        clients = await clients_scenario(net, serving.port, steps, scene, SERVE_KV)
        gone = [c for c in clients if int(c.name.split()[-1]) - 1 in leaving]
        await quit_all(gone)
        staying = [c for c in clients if c not in gone]
        await serving.stop(
            staying,
            f"{scene}, {checks.count(len(staying), 'client')} still connected",
        )
