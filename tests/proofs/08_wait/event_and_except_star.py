"""Exercise 08, right: an Event for the winner, except* around a TaskGroup, a TaskGroup under a
timeout.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    first = asyncio.Event()
    answers: list[str] = []

    async def ask(service):
        answer = await service()
        answers.append(answer)
        first.set()

    tasks = [asyncio.create_task(ask(s)) for s in services]
    try:
        await first.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks)
    return answers[0]


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(job()) for job in jobs]
    except* Exception as group:
        raise group.exceptions[0] from None
    return [t.result() for t in tasks]


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    answers: dict[str, str] = {}
    finished: set[str] = set()

    async def ask(name, call):
        try:
            answers[name] = await call()
        except Exception:
            pass
        finished.add(name)

    try:
        async with asyncio.timeout(timeout):
            async with asyncio.TaskGroup() as tg:
                for name, call in services.items():
                    tg.create_task(ask(name, call))
    except TimeoutError:
        pass
    return answers, sorted(set(services) - finished)
