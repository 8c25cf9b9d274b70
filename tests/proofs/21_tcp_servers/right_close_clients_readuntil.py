"""Exercise 21, right: readuntil() and IncompleteReadError in handle_client, a server started
with start_serving=False and then started, and a shutdown that uses Server.close_clients()
where Python has it (3.13) and closes the writers it kept otherwise."""

import asyncio
import contextlib

LINE_LIMIT = 2**20  # the longest line a client may send or receive, its "\n" included


def respond(line: str, store: dict[str, str]) -> str | None:
    """The reply, or None for QUIT."""
    if line == "QUIT":
        return None
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SET" and parts[1] != "":
        store[parts[1]] = parts[2]
        return "OK"
    if len(parts) >= 2 and parts[0] == "GET" and line[4:]:
        value = store.get(line[4:])
        return "NOT_FOUND" if value is None else "VALUE " + value
    return "ERROR"


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: dict[str, str]
) -> None:
    try:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                break  # the end of the stream, perhaps in the middle of a line
            reply = respond(line.decode().removesuffix("\n"), store)
            writer.write(f"{reply or 'BYE'}\n".encode())
            await writer.drain()
            if reply is None:
                break
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def make_handler(store: dict[str, str], writers: set | None = None):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if writers is not None:
            writers.add(writer)
        try:
            await handle_client(reader, writer, store)
        finally:
            if writers is not None:
                writers.discard(writer)

    return handler


async def start_kv_server(host: str, port: int) -> asyncio.Server:
    server = await asyncio.start_server(
        make_handler({}), host=host, port=port, limit=LINE_LIMIT, start_serving=False
    )
    await server.start_serving()
    return server


async def kv_client(host: str, port: int, commands: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection(host=host, port=port, limit=LINE_LIMIT)
    replies: list[str] = []
    try:
        for command in (*commands, "QUIT"):
            writer.write(command.encode() + b"\n")
            await writer.drain()
            reply = await reader.readline()
            if reply[-1:] != b"\n":
                raise ConnectionError(f"no whole reply to {command!r}")
            replies.append(reply.decode()[:-1])
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return replies[: len(commands)]


async def serve_kv(host: str, port: int, ready: asyncio.Future) -> None:
    writers: set[asyncio.StreamWriter] = set()
    server = await asyncio.start_server(make_handler({}, writers), host, port, limit=LINE_LIMIT)
    ready.set_result(server.sockets[0].getsockname()[1])
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        server.close()
        if hasattr(server, "close_clients"):
            server.close_clients()
        else:
            for writer in list(writers):
                writer.close()
        while writers:  # each handler drops its writer as it finishes
            await asyncio.sleep(0)
        await server.wait_closed()
