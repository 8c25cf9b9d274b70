"""Exercise 08, right: cancel every task (the finished too), as_completed to find a failure,
wait_for around wait.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def _stop(tasks) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    tasks = [asyncio.create_task(service()) for service in services]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _stop(tasks)  # cancelling the finished winner does nothing
    (winner, *_) = done
    return winner.result()


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        for finished in asyncio.as_completed(tasks):
            await finished
    except BaseException:  # a failure, or this call cancelled
        await _stop(tasks)
        raise
    return [await task for task in tasks]


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    tasks = {asyncio.create_task(ask()): name for name, ask in services.items()}
    try:
        await asyncio.wait_for(asyncio.wait(tasks), timeout)
    except TimeoutError:
        pass
    finally:
        late = [task for task in tasks if not task.done()]
        if late:
            await _stop(late)
    answers = {}
    for task, name in tasks.items():
        if task not in late and not task.exception():
            answers[name] = task.result()
    return answers, sorted(tasks[task] for task in late)
