"""Exercise 19, right: as_completed with reordering, release() by hand, response.ok,
and a race whose tasks put their answers on a queue."""

import asyncio

import aiohttp


async def _indexed_text(session: aiohttp.ClientSession, index: int, url: str) -> tuple[int, str]:
    response = await session.get(url)
    try:
        return index, await response.text()
    finally:
        response.release()


async def download_all(urls: list[str]) -> list[str]:
    pages: list[str] = [""] * len(urls)
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(_indexed_text(session, i, url)) for i, url in enumerate(urls)]
        try:
            for finished in asyncio.as_completed(tasks):
                index, page = await finished
                pages[index] = page
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return pages


async def _report_one(session: aiohttp.ClientSession, url: str) -> tuple[str, bool, object]:
    response = await session.get(url)
    try:
        if not response.ok:
            return url, False, response.status
        return url, True, await response.json()
    finally:
        response.release()


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    data: dict[str, object] = {}
    errors: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(_report_one(session, url)) for url in urls]
        try:
            if tasks:
                await asyncio.wait(tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        url, ok, value = task.result()
        if ok:
            data[url] = value
        else:
            errors[url] = value  # type: ignore[assignment]
    return data, errors


_FAILED = object()


async def _ask_into(
    queue: asyncio.Queue, session: aiohttp.ClientSession, url: str, field: str
) -> None:
    result: object = _FAILED
    try:
        response = await session.get(url)
        try:
            if response.ok:
                result = (await response.json())[field]
        finally:
            response.release()
    except aiohttp.ClientError:
        pass
    queue.put_nowait(result)


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    if not services:
        raise LookupError("there are no services")
    queue: asyncio.Queue = asyncio.Queue()
    async with aiohttp.ClientSession() as session:
        tasks = [
            asyncio.create_task(_ask_into(queue, session, url, field)) for url, field in services
        ]
        try:
            for _ in range(len(tasks)):
                result = await queue.get()
                if result is not _FAILED:
                    return result  # type: ignore[return-value]
            raise LookupError("no service answered")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
