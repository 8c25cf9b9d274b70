"""Exercise 02, another right answer: tasks awaited at once, an explicit iterator, chains
started in reverse order inside a TaskGroup and put back in the order of values."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Phase = Callable[[Any], Awaitable[Any]]


async def pick_and_pack(
    pick: Callable[[str], Awaitable[str]],
    pack: Callable[[str], Awaitable[str]],
    order_id: str,
) -> str:
    async with asyncio.timeout(None):  # no deadline at all
        parcel = await asyncio.create_task(pick(order_id))
        box = await asyncio.create_task(pack(parcel))
    return box


async def process_order(
    reserve: Callable[[str], Awaitable[str]],
    charge: Callable[[str], Awaitable[str]],
    ship: Callable[[str], Awaitable[str]],
    order_id: str,
) -> tuple[str, str]:
    held = {"reservation": await reserve(order_id)}
    receipt = await charge(held["reservation"])
    return receipt, await asyncio.ensure_future(ship(order_id))


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    steps = iter(phases)
    while (phase := next(steps, None)) is not None:
        value = await phase(value)
    return value


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    slots: list[asyncio.Task] = [None] * len(values)  # type: ignore[list-item]
    async with asyncio.TaskGroup() as group:
        for index in reversed(range(len(values))):
            slots[index] = group.create_task(run_pipeline(phases, values[index]))
    return [slot.result() for slot in slots]
