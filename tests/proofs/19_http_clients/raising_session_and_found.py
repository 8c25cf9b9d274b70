"""Exercise 19, right: a session that raises for every error status, gather with
return_exceptions, and a race whose winner stops its TaskGroup by raising."""

import asyncio

import aiohttp


async def download_all(urls: list[str]) -> list[str]:
    async def text(session: aiohttp.ClientSession, url: str) -> str:
        async with session.get(url) as response:
            return await response.text()

    if not urls:
        return []
    async with aiohttp.ClientSession() as session:
        pages = await asyncio.gather(*[text(session, url) for url in urls])
    return [*pages]


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    async def decoded(session: aiohttp.ClientSession, url: str) -> object:
        async with session.get(url) as response:
            return await response.json()

    async with aiohttp.ClientSession(raise_for_status=True) as session:
        results = await asyncio.gather(
            *(decoded(session, url) for url in urls), return_exceptions=True
        )
    data = {}
    errors = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, aiohttp.ClientResponseError):
            errors[url] = result.status
        elif isinstance(result, BaseException):
            raise result
        else:
            data[url] = result
    return data, errors


class _Found(Exception):
    """Raised by the first service to answer: it stops the TaskGroup, which cancels and awaits
    every other request."""

    def __init__(self, ip: str) -> None:
        super().__init__(ip)
        self.ip = ip


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    async def ask(session: aiohttp.ClientSession, url: str, field: str) -> None:
        try:
            async with session.get(url) as response:
                if response.status >= 400:
                    return
                ip = (await response.json())[field]
        except aiohttp.ClientError:
            return
        raise _Found(ip)

    found: list[str] = []
    async with aiohttp.ClientSession() as session:
        try:
            async with asyncio.TaskGroup() as group:
                for url, field in services:
                    group.create_task(ask(session, url, field))
        except* _Found as winners:
            found = [winner.ip for winner in winners.exceptions]
    if not found:
        raise LookupError("every service failed")
    return found[0]
