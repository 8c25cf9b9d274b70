"""Exercise 21, right: asyncio.Protocol servers (data_received splits the lines itself),
`async for line in reader` in handle_client, and readuntil() in the client."""

import asyncio

LINE_LIMIT = 2**20  # the longest line a client may send or receive, its "\n" included


def answer(line: str, store: dict[str, str]) -> str:
    words = line.split(" ", 2)
    if words[0] == "SET" and len(words) == 3 and words[1]:
        store[words[1]] = words[2]
        return "OK"
    if words[0] == "GET" and len(line) > 4 and line.startswith("GET "):
        key = line[4:]
        return "VALUE " + store[key] if key in store else "NOT_FOUND"
    return "BYE" if line == "QUIT" else "ERROR"


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: dict[str, str]
) -> None:
    try:
        async for line in reader:
            if not line.endswith(b"\n"):
                break  # the client hung up half-way through a line
            reply = answer(line[:-1].decode(), store)
            writer.write(f"{reply}\n".encode())
            await writer.drain()
            if reply == "BYE":
                break
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


class KVProtocol(asyncio.Protocol):
    """One connection, served by callbacks: no task at all."""

    def __init__(self, store: dict[str, str], connections: set) -> None:
        self.store = store
        self.connections = connections
        self.buffer = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            reply = answer(line.decode(), self.store)
            self.transport.write(reply.encode() + b"\n")
            if reply == "BYE":
                self.transport.close()
                return
        if len(self.buffer) > LINE_LIMIT:
            self.transport.close()

    def eof_received(self) -> bool:
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)


async def start_kv_server(host: str, port: int) -> asyncio.Server:
    store: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: KVProtocol(store, set()), host, port)


async def kv_client(host: str, port: int, commands: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
    try:
        replies = []
        for command in [*commands, "QUIT"]:
            writer.write(f"{command}\n".encode())
            await writer.drain()
            replies.append((await reader.readuntil(b"\n"))[:-1].decode())
        return replies[:-1]
    finally:
        writer.close()
        await writer.wait_closed()


async def serve_kv(host: str, port: int, ready: asyncio.Future) -> None:
    store: dict[str, str] = {}
    connections: set[KVProtocol] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: KVProtocol(store, connections), host, port)
    try:
        ready.set_result(server.sockets[0].getsockname()[1])
        await loop.create_future()  # never done: until cancelled
    finally:
        server.close()
        open_now = list(connections)
        for connection in open_now:
            connection.transport.close()
        await asyncio.gather(*(connection.closed for connection in open_now))
        await server.wait_closed()
