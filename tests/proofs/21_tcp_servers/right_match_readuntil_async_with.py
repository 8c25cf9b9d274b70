"""Exercise 21, right (a blind reviewer's c03): a match statement, readuntil() in
kv_client (IncompleteReadError), `async with server`, a dict task->writer. (Its reviewer
awaited serve_forever(), which from Python 3.12 waits for every client to leave when it is
cancelled, before this finally can close them: it waits on a plain future instead.)"""

import asyncio

LINE_LIMIT = 2**20


def _reply(text, store):
    match text.split(" ", 2):
        case ["SET", key, value] if key:
            store[key] = value
            return "OK"
        case ["GET", _, *_] if text[4:]:
            key = text[4:]
            return "VALUE " + store[key] if key in store else "NOT_FOUND"
        case _:
            return "ERROR"


async def handle_client(reader, writer, store):
    try:
        while (line := await reader.readline()).endswith(b"\n"):
            text = line.decode()[:-1]
            reply = "BYE" if text == "QUIT" else _reply(text, store)
            writer.write(reply.encode() + b"\n")
            await writer.drain()
            if reply == "BYE":
                break
    finally:
        writer.close()
        await writer.wait_closed()


async def start_kv_server(host, port):
    store = {}

    async def cb(r, w):
        await handle_client(r, w, store)

    return await asyncio.start_server(cb, host=host, port=port, limit=LINE_LIMIT)


async def kv_client(host, port, commands):
    reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
    try:
        replies = []
        for c in commands:
            writer.write(c.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readuntil(b"\n"))[:-1].decode())
        writer.write(b"QUIT\n")
        await writer.drain()
        await reader.readuntil(b"\n")
        return replies
    finally:
        writer.close()
        await writer.wait_closed()


async def serve_kv(host, port, ready):
    store = {}
    conns: dict[asyncio.Task, asyncio.StreamWriter] = {}

    async def cb(r, w):
        conns[asyncio.current_task()] = w
        try:
            await handle_client(r, w, store)
        finally:
            del conns[asyncio.current_task()]

    server = await asyncio.start_server(cb, host, port, limit=LINE_LIMIT)
    async with server:
        try:
            ready.set_result(server.sockets[0].getsockname()[1])
            await asyncio.Future()
        finally:
            server.close()
            tasks = list(conns)
            for w in list(conns.values()):
                w.close()
            await asyncio.gather(*tasks, return_exceptions=True)
