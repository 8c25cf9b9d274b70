"""Exercise 02, a correct answer written differently: nested awaits, recursion, TaskGroup."""

import asyncio


async def pick_and_pack(pick, pack, order_id):
    return await pack(await pick(order_id))


async def process_order(reserve, charge, ship, order_id):
    receipt = await charge(await reserve(order_id))
    return (receipt, await ship(order_id))


async def run_pipeline(phases, value):
    if not phases:
        return value
    first, *rest = phases
    return await run_pipeline(rest, await first(value))


async def run_pipelines(phases, values):
    async with asyncio.TaskGroup() as group:
        chains = [group.create_task(run_pipeline(phases, value)) for value in values]
    return [chain.result() for chain in chains]
