"""Exercise 08, wrong: awaits the cancelled losers with plain gather, which re-raises
their CancelledError."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable


async def _cancel_and_wait(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel the tasks still running and wait until their cleanup has run."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:  # asyncio.wait() refuses an empty set
        await asyncio.wait(pending)


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    tasks = [asyncio.create_task(service()) for service in services]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending)
    return done.pop().result()


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    if not jobs:
        return []
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        await _cancel_and_wait(tasks)
    for task in tasks:
        if task in done and task.exception() is not None:
            raise task.exception()
    return [task.result() for task in tasks]


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    tasks = {name: asyncio.create_task(ask()) for name, ask in services.items()}
    try:
        done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
    finally:
        await _cancel_and_wait(tasks.values())
    answers = {
        name: task.result()
        for name, task in tasks.items()
        if task in done and task.exception() is None
    }
    late = sorted(name for name, task in tasks.items() if task in pending)
    return answers, late
