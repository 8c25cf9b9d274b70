"""Exercise 19, wrong: as_completed, and a finally that cancels only the unfinished tasks."""

import asyncio

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:  # released on the way out, whatever happens
        return await response.text()


async def download_all(urls: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as session:
        return list(await asyncio.gather(*(_page(session, url) for url in urls)))


async def _answer(session: aiohttp.ClientSession, url: str) -> tuple[bool, object]:
    """(True, the decoded JSON body) for a success, (False, the status) for an error."""
    async with session.get(url) as response:
        if response.status >= 400:
            return False, response.status
        return True, await response.json()


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(_answer(session, url) for url in urls))
    data: dict[str, object] = {}
    errors: dict[str, int] = {}
    for url, (ok, value) in zip(urls, answers, strict=True):
        if ok:
            data[url] = value
        else:
            errors[url] = value  # type: ignore[assignment]
    return data, errors


async def _ip(session: aiohttp.ClientSession, url: str, field: str) -> str:
    async with session.get(url) as response:
        response.raise_for_status()  # a status of 400 or more: ClientResponseError
        body = await response.json()
    return body[field]


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(_ip(session, url, field)) for url, field in services]
        try:
            for next_done in asyncio.as_completed(tasks):
                try:
                    return await next_done
                except aiohttp.ClientError:
                    continue  # a failed service: wait for the next
            raise LookupError("every service failed")
        finally:  # only the unfinished ones: the finished ones "are fine"
            unfinished = [task for task in tasks if not task.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.wait(unfinished)
