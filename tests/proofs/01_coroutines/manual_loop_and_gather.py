"""Exercise 01, a correct answer written differently: a hand-made loop, tasks and gather."""

import asyncio


async def _pause(seconds):
    await asyncio.sleep(seconds)


async def slow_square(x, delay):
    await _pause(delay)
    result = x
    result *= x
    return result


async def greet_user(fetch_name, user_id):
    lookup = asyncio.create_task(fetch_name(user_id))
    name = await lookup
    return "Hello, %s!" % name  # noqa: UP031


async def average_reading(read_sensor, count):
    readings = []
    while len(readings) < count:
        readings.append(await read_sensor())
    return sum(readings) / len(readings)


async def _everyone(fetch_name, user_ids):
    return list(await asyncio.gather(*(greet_user(fetch_name, u) for u in user_ids)))


def greet_everyone(fetch_name, user_ids):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_everyone(fetch_name, user_ids))
    finally:
        loop.close()
