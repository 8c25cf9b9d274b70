"""Exercise 19, right: sessions with ClientTimeout(total=None) (aiohttp's 300 s default
lifted), json.loads(await response.text()), raise_for_status=True per request."""

import asyncio
import json

import aiohttp

NO_LIMIT = aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None)


async def download_all(urls: list[str]) -> list[str]:
    async with aiohttp.ClientSession(timeout=NO_LIMIT) as session:

        async def text(u: str) -> str:
            async with session.get(u) as r:
                return await r.text()

        results = await asyncio.gather(*[text(u) for u in urls])
    return results


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    async with aiohttp.ClientSession(timeout=NO_LIMIT) as session:

        async def one(u: str):
            try:
                async with session.get(u, raise_for_status=True) as r:
                    return "ok", json.loads(await r.text())
            except aiohttp.ClientResponseError as e:
                return "error", e.status

        outcomes = await asyncio.gather(*[one(u) for u in urls])
    data = {}
    errors = {}
    for u, (kind, v) in zip(urls, outcomes, strict=True):
        if kind == "ok":
            data[u] = v
        else:
            errors[u] = v
    return data, errors


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    if not services:
        raise LookupError("no services were given")
    async with aiohttp.ClientSession(timeout=NO_LIMIT) as session:

        async def one(u: str, f: str) -> str:
            async with session.get(u, raise_for_status=True) as r:
                return json.loads(await r.text())[f]

        running = {asyncio.create_task(one(u, f)): (u, f) for u, f in services}
        pending = set(running)
        try:
            found: list[str] = []
            while pending and not found:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    exc = t.exception()
                    if exc is None:
                        found.append(t.result())
                    elif not isinstance(exc, aiohttp.ClientError):
                        raise exc
            if found:
                return found[0]
            raise LookupError(f"all {len(services)} services failed")
        finally:
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
