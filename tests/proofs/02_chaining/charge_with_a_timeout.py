"""Exercise 02, wrong: the charge gets 60 s at most."""

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
    receipt = await asyncio.wait_for(charge(reservation), timeout=60)
    tracking = await ship(order_id)
    return receipt, tracking


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    for phase in phases:
        value = await phase(value)
    return value


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(run_pipeline(phases, value) for value in values)))
