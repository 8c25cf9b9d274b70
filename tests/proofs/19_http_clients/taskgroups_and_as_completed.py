"""Exercise 19, right: TaskGroups, raise_for_status caught per request, as_completed for the
race with a session that raises for every error status itself."""

import asyncio

import aiohttp


async def _text(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return await response.text()


async def download_all(urls: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as group:
        tasks = [group.create_task(_text(session, url)) for url in urls]
    return [task.result() for task in tasks]


async def _json(session: aiohttp.ClientSession, url: str) -> object:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    data: dict[str, object] = {}
    errors: dict[str, int] = {}

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        try:
            value = await _json(session, url)
        except aiohttp.ClientResponseError as error:
            errors[url] = error.status
        else:
            data[url] = value

    async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as group:
        for url in urls:
            group.create_task(one(session, url))
    return data, errors


async def _ip(session: aiohttp.ClientSession, url: str, field: str) -> str:
    async with session.get(url) as response:  # the session raises for 400 and more
        return (await response.json())[field]


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        tasks = [asyncio.create_task(_ip(session, url, field)) for url, field in services]
        try:
            for next_done in asyncio.as_completed(tasks):
                try:
                    return await next_done
                except aiohttp.ClientError:
                    continue  # this service failed: wait for the next
            raise LookupError("no service gave an answer")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
