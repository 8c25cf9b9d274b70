"""Exercise 02, wrong: results are collected in a dict keyed by value."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Phase = Callable[[Any], Awaitable[Any]]


async def pick_and_pack(
    pick: Callable[[str], Awaitable[str]],
    pack: Callable[[str], Awaitable[str]],
    order_id: str,
) -> str:
    parcel = await pick(order_id)
    return await pack(parcel)


async def process_order(
    reserve: Callable[[str], Awaitable[str]],
    charge: Callable[[str], Awaitable[str]],
    ship: Callable[[str], Awaitable[str]],
    order_id: str,
) -> tuple[str, str]:
    reservation = await reserve(order_id)
    receipt = await charge(reservation)
    tracking = await ship(order_id)
    return receipt, tracking


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    for phase in phases:
        value = await phase(value)
    return value


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    results = {}

    async def chain(value: Any) -> None:
        results[value] = await run_pipeline(phases, value)

    await asyncio.gather(*(chain(value) for value in values))
    return [results[value] for value in values]
