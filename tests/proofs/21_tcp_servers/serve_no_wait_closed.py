"""Exercise 21, wrong: serve_kv never awaits server.wait_closed() (the blind review's w55)."""

import asyncio
import contextlib

LINE_LIMIT = 2**20  # the longest line a client may send or receive, its "\n" included


def reply_to(line: str, store: dict[str, str]) -> str:
    """The reply to one command (without its newline)."""
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


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):  # a client that reset the connection
        await writer.wait_closed()


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: dict[str, str]
) -> None:
    try:
        while (line := await reader.readline()).endswith(b"\n"):  # b"" or a half line: the end
            reply = reply_to(line[:-1].decode(), store)
            writer.write(reply.encode() + b"\n")
            await writer.drain()
            if reply == "BYE":
                break
    finally:
        await close(writer)


async def start_kv_server(host: str, port: int) -> asyncio.Server:
    store: dict[str, str] = {}

    async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await handle_client(reader, writer, store)

    return await asyncio.start_server(serve_one, host, port, limit=LINE_LIMIT)


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str) -> str:
    """Send one command and return its reply."""
    writer.write(command.encode() + b"\n")
    await writer.drain()
    line = await reader.readline()
    if not line.endswith(b"\n"):  # b"" or a half line: the server closed the connection
        raise ConnectionError(f"the connection closed before the reply to {command!r}")
    return line[:-1].decode()


async def kv_client(host: str, port: int, commands: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
    try:
        replies = [await ask(reader, writer, command) for command in commands]
        await ask(reader, writer, "QUIT")
        return replies
    finally:
        await close(writer)


async def serve_kv(host: str, port: int, ready: asyncio.Future) -> None:
    store: dict[str, str] = {}
    connections: dict[asyncio.Task, asyncio.StreamWriter] = {}  # each handler and its writer

    async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        connections[me] = writer
        try:
            await handle_client(reader, writer, store)
        finally:
            del connections[me]

    server = await asyncio.start_server(serve_one, host, port, limit=LINE_LIMIT)
    try:
        ready.set_result(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()  # until cancelled
    finally:
        server.close()  # no new connections
        for writer in connections.values():
            writer.close()  # its handler reads the end of the stream, and finishes
        await asyncio.gather(*connections, return_exceptions=True)
