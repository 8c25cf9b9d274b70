"""Exercise 01, a correct answer written differently: asyncio.Runner, comprehensions."""

import asyncio
import statistics


async def slow_square(x, delay):
    return await asyncio.sleep(delay, result=x * x)


async def greet_user(fetch_name, user_id):
    return "Hello, " + await fetch_name(user_id) + "!"


async def average_reading(read_sensor, count):
    return statistics.fmean([await read_sensor() for _ in range(count)])


def greet_everyone(fetch_name, user_ids):
    # One Runner is one event loop: every run() below shares it, and `with` closes it.
    with asyncio.Runner() as runner:
        return [runner.run(greet_user(fetch_name, user_id)) for user_id in user_ids]
