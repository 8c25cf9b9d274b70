"""Exercise 08, right: a future set by done callbacks, gather then cancel on failure,
asyncio.timeout around asyncio.wait.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    loop = asyncio.get_running_loop()
    winner: asyncio.Future[str] = loop.create_future()

    def on_done(task: asyncio.Task) -> None:
        if not winner.done() and not task.cancelled():
            winner.set_result(task.result())

    tasks = []
    for service in services:
        task = asyncio.create_task(service())
        task.add_done_callback(on_done)
        tasks.append(task)
    try:
        answer = await winner
    finally:
        losers = [t for t in tasks if not t.done()]
        for t in losers:
            t.cancel()
        await asyncio.gather(*losers, return_exceptions=True)
    return answer


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        return await asyncio.gather(*tasks)
    except asyncio.CancelledError:  # this call was cancelled: gather cancelled the jobs
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    except Exception:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    tasks = {name: asyncio.create_task(ask()) for name, ask in services.items()}
    try:
        async with asyncio.timeout(timeout):
            await asyncio.wait(tasks.values())
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        for t in tasks.values():
            t.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    late = sorted(name for name, t in tasks.items() if not t.done())
    for name in late:
        tasks[name].cancel()
    for name in late:
        try:
            await tasks[name]
        except asyncio.CancelledError:
            pass
    answers = {}
    for name, t in tasks.items():
        if name in late:
            continue
        try:
            answers[name] = t.result()
        except Exception:
            pass
    return answers, late
