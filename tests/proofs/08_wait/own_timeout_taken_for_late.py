"""Exercise 08, a wrong answer kept for the kit's own tests: wraps each service in wait_for(ask(),
timeout) and counts any TimeoutError as late, the service's own too."""

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
    answers: dict[str, str] = {}
    late: list[str] = []

    async def ask_one(name: str, ask: Callable[[], Awaitable[str]]) -> None:
        try:
            answers[name] = await asyncio.wait_for(ask(), timeout)
        except TimeoutError:
            late.append(name)
        except Exception:
            pass  # broken: ignored

    await asyncio.gather(*(ask_one(name, ask) for name, ask in services.items()))
    return answers, sorted(late)
