"""Exercise 21, right (a blind reviewer's c02): a class, `async for line in reader`,
and a TaskGroup in serve_kv whose children are the handlers; the server's
wait_closed() comes after the group, once the handlers have closed their connections."""

import asyncio

LINE_LIMIT = 2**20


class KV:
    def __init__(self, store):
        self.store = store

    def reply(self, text):
        if text == "QUIT":
            return "BYE"
        cmd, sep, rest = text.partition(" ")
        if sep and cmd == "SET":
            key, sep2, value = rest.partition(" ")
            if key and sep2:
                self.store[key] = value
                return "OK"
        elif sep and cmd == "GET" and rest:
            return f"VALUE {self.store[rest]}" if rest in self.store else "NOT_FOUND"
        return "ERROR"


async def handle_client(reader, writer, store):
    kv = KV(store)
    try:
        async for line in reader:
            if line[-1:] != b"\n":
                return
            r = kv.reply(line[:-1].decode("utf-8"))
            writer.write(f"{r}\n".encode())
            await writer.drain()
            if r == "BYE":
                return
    finally:
        writer.close()
        await writer.wait_closed()


async def start_kv_server(host, port):
    store = {}
    return await asyncio.start_server(
        lambda r, w: handle_client(r, w, store), host, port, limit=LINE_LIMIT
    )


async def kv_client(host, port, commands):
    reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
    try:

        async def ask(cmd):
            writer.write(f"{cmd}\n".encode())
            await writer.drain()
            line = await reader.readline()
            if not line.endswith(b"\n"):
                raise ConnectionError("server hung up")
            return line[:-1].decode()

        out = [await ask(c) for c in commands]
        await ask("QUIT")
        return out
    finally:
        writer.close()
        await writer.wait_closed()


async def serve_kv(host, port, ready):
    store = {}
    server = None
    try:
        async with asyncio.TaskGroup() as tg:

            def on_connect(reader, writer):
                tg.create_task(handle_client(reader, writer, store))

            server = await asyncio.start_server(on_connect, host, port, limit=LINE_LIMIT)
            try:
                ready.set_result(server.sockets[0].getsockname()[1])
                await asyncio.Future()
            finally:
                # Stop listening; leaving the group cancels the handlers, which close
                # their writers. Only then can wait_closed() return on Python 3.12+.
                server.close()
    finally:
        if server is not None:
            await server.wait_closed()
