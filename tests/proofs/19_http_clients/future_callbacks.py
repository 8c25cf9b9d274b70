"""Exercise 19, right: a race whose winner is a future set by done-callbacks, with a
counter of the services still out."""

import asyncio

import aiohttp


async def download_all(urls: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as session:

        async def get(url: str) -> str:
            async with session.get(url) as response:
                text = await response.text()
            return text

        coros = [get(url) for url in urls]
        pages = await asyncio.gather(*coros) if coros else []
    return list(pages)


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    data: dict[str, object] = {}
    errors: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:

        async def get(url: str) -> None:
            try:
                async with session.get(url) as response:
                    response.raise_for_status()
                    data[url] = await response.json()
            except aiohttp.ClientResponseError as e:
                errors[url] = int(e.status)

        await asyncio.gather(*map(get, urls))
    return data, errors


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    loop = asyncio.get_running_loop()
    if not services:
        raise LookupError("no services")
    async with aiohttp.ClientSession() as session:

        async def ask(url: str, field: str) -> str:
            async with session.get(url) as response:
                if not response.ok:
                    raise aiohttp.ClientResponseError(
                        response.request_info, response.history, status=response.status
                    )
                return (await response.json())[field]

        first: asyncio.Future[str] = loop.create_future()
        remaining = len(services)

        def on_done(task: asyncio.Task[str]) -> None:
            nonlocal remaining
            remaining -= 1
            if task.cancelled():
                return
            error = task.exception()
            if first.done():
                return
            if error is None:
                first.set_result(task.result())
            elif not isinstance(error, aiohttp.ClientError):
                first.set_exception(error)
            elif remaining == 0:
                first.set_exception(LookupError("every service failed"))

        tasks = []
        for url, field in services:
            task = asyncio.create_task(ask(url, field))
            task.add_done_callback(on_done)
            tasks.append(task)
        try:
            return await first
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
