"""Exercise 19, wrong: download_all() requests url.strip(), so a URL that ends in a space
is requested without it."""

import asyncio

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url.strip()) as response:  # "cleaned up"
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
        pending = {asyncio.create_task(_ip(session, url, field)) for url, field in services}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                # .exception() of every finished task, so that no failure goes unretrieved
                answered = [t for t in done if not isinstance(t.exception(), aiohttp.ClientError)]
                if answered:
                    return answered[0].result()  # the first good answer
            raise LookupError("every service failed")
        finally:  # the losers, or every request if this call itself is cancelled
            for task in pending:
                task.cancel()
            if pending:  # asyncio.wait() refuses an empty set
                await asyncio.wait(pending)
