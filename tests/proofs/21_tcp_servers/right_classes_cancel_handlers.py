"""Exercise 21, right: classes (a Session per connection, a KVClient context manager), and a
serve_kv that cancels its handlers' tasks and waits for them."""

import asyncio

LINE_LIMIT = 2**20  # the longest line a client may send or receive, its "\n" included


class Session:
    """One client's connection to the store."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store):
        self.reader = reader
        self.writer = writer
        self.store = store

    def reply(self, line: str) -> str:
        command, _, rest = line.partition(" ")
        if command == "SET" and " " in rest and not rest.startswith(" "):
            key, value = rest.split(" ", 1)
            self.store[key] = value
            return "OK"
        if command == "GET" and rest:
            return f"VALUE {self.store[rest]}" if rest in self.store else "NOT_FOUND"
        return "BYE" if line == "QUIT" else "ERROR"

    async def run(self) -> None:
        try:
            while True:
                line = await self.reader.readline()
                if not line or line[-1:] != b"\n":
                    return
                reply = self.reply(line.decode()[:-1])
                self.writer.write(reply.encode("utf-8") + b"\n")
                await self.writer.drain()
                if reply == "BYE":
                    return
        finally:
            self.writer.close()
            await asyncio.shield(self.writer.wait_closed())


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: dict[str, str]
) -> None:
    await Session(reader, writer, store).run()


class KVServer:
    def __init__(self) -> None:
        self.store: dict[str, str] = {}
        self.handlers: set[asyncio.Task] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.handlers.add(task)
        try:
            await handle_client(reader, writer, self.store)
        finally:
            self.handlers.discard(task)

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self.handle, host, port, limit=LINE_LIMIT)

    async def stop(self, server: asyncio.Server) -> None:
        server.close()
        handlers = list(self.handlers)
        for task in handlers:
            task.cancel()  # each one closes its connection in its finally
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def start_kv_server(host: str, port: int) -> asyncio.Server:
    return await KVServer().start(host, port)


class KVClient:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def __aenter__(self) -> "KVClient":
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=LINE_LIMIT
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def ask(self, command: str) -> str:
        self.writer.write(command.encode("utf-8") + b"\n")
        await self.writer.drain()
        line = await self.reader.readline()
        if line[-1:] != b"\n":
            raise ConnectionResetError("the server hung up")
        return line[:-1].decode("utf-8")


async def kv_client(host: str, port: int, commands: list[str]) -> list[str]:
    async with KVClient(host, port) as client:
        replies = []
        for command in commands:
            replies.append(await client.ask(command))
        await client.ask("QUIT")
        return replies


async def serve_kv(host: str, port: int, ready: asyncio.Future) -> None:
    kv = KVServer()
    server = await kv.start(host, port)
    try:
        ready.set_result(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()
    finally:
        await kv.stop(server)
