"""Exercise 21, right (a blind reviewer's c05): serve_kv cancels the handler tasks
rather than closing their writers, then waits for them."""

import asyncio

LINE_LIMIT = 2**20


async def handle_client(reader, writer, store):
    try:
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                return
            text = line.decode()[:-1]
            if text == "QUIT":
                writer.write(b"BYE\n")
                await writer.drain()
                return
            head, _, rest = text.partition(" ")
            if head == "SET" and " " in rest and not rest.startswith(" "):
                k, _, v = rest.partition(" ")
                store[k] = v
                reply = "OK"
            elif head == "GET" and text.startswith("GET ") and rest:
                reply = f"VALUE {store[rest]}" if rest in store else "NOT_FOUND"
            else:
                reply = "ERROR"
            writer.write(f"{reply}\n".encode())
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def start_kv_server(host, port):
    store = {}

    async def handler(r, w):
        await handle_client(r, w, store)

    return await asyncio.start_server(handler, host, port, limit=LINE_LIMIT)


async def kv_client(host, port, commands):
    reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
    try:
        out = []
        for cmd in commands:
            writer.write(f"{cmd}\n".encode())
            await writer.drain()
            line = await reader.readline()
            if line[-1:] != b"\n":
                raise ConnectionError
            out.append(line.decode()[:-1])
        writer.write(b"QUIT\n")
        await writer.drain()
        if not (await reader.readline()).endswith(b"\n"):
            raise ConnectionError
        return out
    finally:
        writer.close()
        await writer.wait_closed()


async def serve_kv(host, port, ready):
    store = {}
    tasks = set()

    async def handler(r, w):
        t = asyncio.current_task()
        tasks.add(t)
        try:
            await handle_client(r, w, store)
        finally:
            tasks.discard(t)

    server = await asyncio.start_server(handler, host, port, limit=LINE_LIMIT)
    try:
        ready.set_result(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()
    finally:
        server.close()
        pending = list(tasks)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await server.wait_closed()
