"""Exercise 02, another right answer: nested awaits, ensure_future and asyncio.wait."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Phase = Callable[[Any], Awaitable[Any]]


async def pick_and_pack(
    pick: Callable[[str], Awaitable[str]],
    pack: Callable[[str], Awaitable[str]],
    order_id: str,
) -> str:
    return await pack(await pick(order_id))


async def process_order(
    reserve: Callable[[str], Awaitable[str]],
    charge: Callable[[str], Awaitable[str]],
    ship: Callable[[str], Awaitable[str]],
    order_id: str,
) -> tuple[str, str]:
    try:
        receipt = await charge(await reserve(order_id))
    except Exception:
        raise  # nothing is shipped; the caller sees the error
    return receipt, await ship(order_id)


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    for phase in list(phases):
        value = await phase(value)
    return value


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    chains = [asyncio.ensure_future(run_pipeline(phases, value)) for value in values]
    try:
        if chains:
            await asyncio.wait(chains)
    except asyncio.CancelledError:
        for chain in chains:
            chain.cancel()
        await asyncio.wait(chains)  # let them end before we do
        raise
    return [chain.result() for chain in chains]
