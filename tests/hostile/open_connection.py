# Right pages, but opens a connection to a server of its own and never closes it (the
# server itself is closed properly).
async def fetch_all(fetch, urls):
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.read()
    server.close()
    await server.wait_closed()
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
