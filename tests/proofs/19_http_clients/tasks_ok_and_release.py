"""Exercise 19, right: tasks of its own cancelled in a finally, responses read or released by
hand instead of `async with`, `response.ok`, and a race whose helper returns None on failure."""

import asyncio
import contextlib

import aiohttp


async def _text(session: aiohttp.ClientSession, url: str) -> str:
    response = await session.get(url)
    return await response.text()  # reading the body to its end releases the connection


async def download_all(urls: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(_text(session, url)) for url in urls]
        try:
            return [await task for task in tasks]
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    data: dict[str, object] = {}
    errors: dict[str, int] = {}

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        response = await session.get(url)
        try:
            if response.ok:
                data[url] = await response.json()
            else:
                errors[url] = response.status
        finally:
            response.release()

    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(one(session, url)) for url in urls]
        try:
            for task in tasks:
                await task
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return data, errors


async def _ip_or_none(session: aiohttp.ClientSession, url: str, field: str) -> str | None:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(url) as response:
            if response.status < 400:
                return (await response.json())[field]
    return None


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    if not services:
        raise LookupError("no services to ask")
    async with aiohttp.ClientSession() as session:
        pending = [asyncio.create_task(_ip_or_none(session, u, f)) for u, f in services]
        try:
            while pending:
                done, still = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                pending = [task for task in pending if task in still]
                for task in done:
                    if task.result() is not None:
                        return task.result()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
    raise LookupError("every service failed")
