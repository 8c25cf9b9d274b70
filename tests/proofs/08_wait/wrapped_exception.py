"""Exercise 08, wrong: raises a new RuntimeError instead of the failed job's own exception."""

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
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:  # the losers, or everything if this call itself is cancelled
        await _cancel_and_wait(tasks)
    return done.pop().result()


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    tasks = [asyncio.create_task(job()) for job in jobs]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if task in done and task.exception() is not None:
            raise RuntimeError(f"deployment failed: {task.exception()}")
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
