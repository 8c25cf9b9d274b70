"""Exercise 06, a wrong answer kept for the kit's own tests."""

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

LegacyFetch = Callable[[str, Callable[[str], None], Callable[[Exception], None]], None]


def status(future: asyncio.Future) -> str:
    if not future.done():
        return "pending"
    if future.cancelled():
        return "cancelled"
    if future.exception() is not None:
        return "failed"
    return "succeeded"


def peek(future: asyncio.Future, default: Any = None) -> Any:
    if not future.done():
        return default
    return future.result()


async def fetch(legacy_fetch: LegacyFetch, url: str) -> str:
    outcome: dict[str, object] = {}
    legacy_fetch(
        url,
        lambda page: outcome.setdefault("page", page),
        lambda error: outcome.setdefault("error", error),
    )
    while not outcome:
        await asyncio.sleep(0.1)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["page"]


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
