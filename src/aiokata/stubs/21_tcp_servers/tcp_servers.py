"""Exercise 21: TCP servers and streams. Read README.md, then replace each NotImplementedError.

The protocol, one line of UTF-8 text per command and per reply, each ending in "\\n":

    SET <key> <value>   ->  OK            (stores the value, replacing an older one)
    GET <key>           ->  VALUE <value>   or   NOT_FOUND
    QUIT                ->  BYE           (then the server closes the connection)
    anything else       ->  ERROR         (and the connection stays open)
"""

import asyncio

LINE_LIMIT = 2**20  # the longest line a client may send or receive, its "\n" included


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: dict[str, str]
) -> None:
    """Task 1. Serve one client's connection, one line at a time, until it ends.

    Read each command with `await reader.readline()` and write its reply, a str encoded as
    UTF-8 with "\\n" at its end, then `await writer.drain()` before reading the next one.
    `SET key value` stores `store[key] = value` (both str) and replies OK; `GET key` replies
    `VALUE <value>` or NOT_FOUND and changes nothing; QUIT replies BYE and ends the
    connection; any other line (an unknown or lower-case command, an empty line, SET or GET
    without a key, SET without the space after its key) replies ERROR and the connection
    stays open. In `SET key value` the key runs from after the first space to the next one
    (one or more characters), and the value is everything after that second space, exactly
    as sent: it may be empty ("SET k " stores ""), hold spaces, even leading or trailing
    ones, and any Unicode. In `GET key` the key is the rest of the line. `store` is the
    caller's dict, shared with the server's other connections.

    A command may arrive split across several TCP packets, several commands in one, and a
    line may be up to LINE_LIMIT bytes long (the server gives you a reader that allows it).
    A client may wait as long as it likes between commands (set no time limit).

    The connection ends on QUIT, when the client hangs up (readline() returns b"", or the
    half line left at the end of the stream, without its "\\n": that is no command; answer
    nothing more and stop reading) or when the caller cancels handle_client(). Whichever it
    is, close the connection and wait until it is closed (`writer.close()`, then `await
    writer.wait_closed()`) before handle_client() returns or ends cancelled; a
    cancellation reaches the caller.
    """
    raise NotImplementedError(
        "loop: line = await reader.readline(), stop when it does not end in b'\\n' and after "
        "QUIT; write each reply with '\\n', await writer.drain(); close and await "
        "writer.wait_closed() in a finally"
    )


async def start_kv_server(host: str, port: int) -> asyncio.Server:
    """Task 2. Start a key-value server on `host`, `port` and return it, serving.

    Listen with `asyncio.start_server` on exactly the host and port given: port 0 asks the
    system for a free port (the caller reads it from `server.sockets[0].getsockname()`).
    Serve every client with handle_client() at the same time as the others: a client that
    stays connected, even for a day, must never hold up another. All the connections of
    one server share one store, a dict that starts empty; two servers never share theirs.
    Lines up to LINE_LIMIT bytes must work (asyncio's StreamReader refuses lines longer
    than 64 KiB unless you give start_server a `limit`).

    Return the asyncio.Server itself as soon as it listens; the caller closes it.
    """
    raise NotImplementedError(
        "return await asyncio.start_server(a handler calling handle_client with this "
        "server's own store, host, port, limit=LINE_LIMIT)"
    )


async def kv_client(host: str, port: int, commands: list[str]) -> list[str]:
    """Task 3. Connect to the server at `host`, `port`, send `commands`, return the replies.

    Open one connection (`asyncio.open_connection`, with `limit=LINE_LIMIT`: a reply may be
    that long). Send each command exactly as given, as UTF-8 with "\\n" at its end, and wait
    for its reply before you send the next one. Then send QUIT and wait for its BYE. Return
    a new list of the replies to `commands` (not QUIT's BYE), each a str without its "\\n"
    and otherwise exactly as received (do not strip it). Every command counts, empty and
    repeated ones too; no commands give [] (after QUIT and BYE). `commands` is not changed.
    A server may take as long as it likes to reply (set no time limit).

    If the connection ends before a whole reply has come (readline() returns b"", or a
    reply cut short without its "\\n"), raise ConnectionError (the IncompleteReadError that
    readuntil() raises then is accepted too). If nothing listens at the port, let the
    ConnectionRefusedError from open_connection reach the caller.

    However it ends (returning, raising, or cancelled by the caller while it waits), close
    the connection and wait until it is closed (`writer.close()`, then `await
    writer.wait_closed()`) before kv_client() is over; a cancellation reaches the caller.
    """
    raise NotImplementedError(
        "reader, writer = await asyncio.open_connection(...); for each command write it with "
        "'\\n', drain, then readline() its reply; QUIT; close and wait_closed in a finally"
    )


async def serve_kv(host: str, port: int, ready: asyncio.Future) -> None:
    """Task 4. Run a key-value server until the caller cancels serve_kv(); then shut down.

    Start a server on `host`, `port` as in start_kv_server() (port 0 is a free port, every
    client served at once, one store for this server, lines up to LINE_LIMIT bytes), then
    `ready.set_result(port)` with the port it listens on, an int. Serve for as long as
    nobody cancels serve_kv(), a day or more if need be.

    When it is cancelled, shut down cleanly, even with clients still connected: stop
    listening (new connections are refused), close every client's connection (each client
    reads the end of its stream), and wait until every handler has finished and every
    connection is closed; then let the CancelledError reach the caller. Do it at once: the
    clients are not waited for. Nothing serve_kv() started may still run when it ends.
    (On Python 3.11, Server.close() plus wait_closed() leaves the connections open and
    their handlers running; from 3.12 wait_closed() waits for the clients to leave, which
    may be never: keep track of the handlers yourself.)
    """
    raise NotImplementedError(
        "start the server and set ready's result; wait until cancelled; then close the "
        "server, end every handler (track them in a set) and wait for them all"
    )
