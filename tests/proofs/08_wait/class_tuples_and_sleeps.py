"""Exercise 08, right: a helper class, as_completed, a FIRST_COMPLETED loop, tuples, extra
sleep(0)s.
"""

import asyncio
from collections.abc import Awaitable, Callable


class _Race:
    def __init__(self, calls):
        self.tasks = [asyncio.create_task(call()) for call in calls]

    async def stop(self, tasks):
        tasks = [t for t in tasks if not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            await asyncio.wait([t])


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    await asyncio.sleep(0)
    race = _Race(services)
    for first in asyncio.as_completed(race.tasks):
        answer = await first
        break
    await race.stop(race.tasks)
    await asyncio.sleep(0)
    return answer


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> tuple[str, ...]:
    race = _Race(jobs)
    remaining = set(race.tasks)
    while remaining:
        done, remaining = await asyncio.wait(remaining, return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in race.tasks if t in done and t.exception() is not None]
        if failed:
            await race.stop(remaining)
            raise failed[0].exception()
    return tuple(t.result() for t in race.tasks)


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], tuple[str, ...]]:
    names = list(services)
    race = _Race(services.values())
    done, pending = await asyncio.wait(set(race.tasks), timeout=timeout)
    await race.stop(pending)
    by_task = dict(zip(race.tasks, names, strict=True))
    answers = {by_task[t]: t.result() for t in done if not t.exception()}
    return answers, tuple(sorted(by_task[t] for t in pending))
