"""Exercise 02, a correct answer written differently: explicit tasks, a while loop, a closure
that binds its value, asyncio.wait."""

import asyncio


async def pick_and_pack(pick, pack, order_id):
    picking = asyncio.create_task(pick(order_id))
    parcel = await picking
    box = await pack(parcel)
    return box


async def process_order(reserve, charge, ship, order_id):
    steps = {}
    steps["reservation"] = await reserve(order_id)
    steps["receipt"] = await charge(steps["reservation"])
    steps["tracking"] = await ship(order_id)
    return steps["receipt"], steps["tracking"]


async def run_pipeline(phases, value):
    index = 0
    while index < len(phases):
        value = await phases[index](value)
        index += 1
    return value


async def run_pipelines(phases, values):
    chains = []
    for value in values:

        async def chain(start=value):
            result = start
            for phase in phases:
                result = await phase(result)
            return result

        chains.append(asyncio.ensure_future(chain()))
    try:
        if chains:
            await asyncio.wait(chains)
    finally:
        for task in chains:
            task.cancel()  # no-op for the finished ones
    return [task.result() for task in chains]
