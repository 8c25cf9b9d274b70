"""Exercise 02, another right answer: as_completed with indices, an index loop, extra sleep(0)s."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Phase = Callable[[Any], Awaitable[Any]]


async def pick_and_pack(
    pick: Callable[[str], Awaitable[str]],
    pack: Callable[[str], Awaitable[str]],
    order_id: str,
) -> str:
    parcel = await asyncio.create_task(pick(order_id))
    await asyncio.sleep(0)
    return await pack(parcel)


async def process_order(
    reserve: Callable[[str], Awaitable[str]],
    charge: Callable[[str], Awaitable[str]],
    ship: Callable[[str], Awaitable[str]],
    order_id: str,
) -> tuple[str, str]:
    receipt = await charge(await reserve(order_id))
    await asyncio.sleep(0)
    return tuple([receipt, await ship(order_id)])  # type: ignore[return-value]


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    index = 0
    while index < len(phases):
        value = await phases[index](value)
        await asyncio.sleep(0)
        index += 1
    return value


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    async def numbered(index: int, value: Any) -> tuple[int, Any]:
        return index, await run_pipeline(phases, value)

    results: list[Any] = [None] * len(values)
    chains = [asyncio.ensure_future(numbered(i, v)) for i, v in enumerate(values)]
    try:
        for next_done in asyncio.as_completed(chains):
            index, result = await next_done
            results[index] = result
    finally:
        for chain in chains:
            chain.cancel()  # cancelled or failed: stop the others (no need to wait for them)
    return results
