"""Exercise 07, a wrong answer kept for the kit's own tests."""

import asyncio
from collections.abc import Awaitable, Callable

Download = Callable[[str], Awaitable[str]]
Report = Callable[[str, object], None]


async def _outcome(download: Download, name: str) -> tuple[str, object]:
    """One download, labelled with its name; a failure becomes its exception object."""
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def _stop(tasks: list[asyncio.Task]) -> None:
    """Cancel the tasks still running and wait until every one has stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def report_downloads(download: Download, names: list[str], report: Report) -> None:
    running = [asyncio.create_task(_outcome(download, name)) for name in names]
    try:
        for next_done in asyncio.as_completed(running):
            name, outcome = await next_done
            report(name, outcome)
    finally:
        await _stop(running)  # only does something when this call is cancelled


async def report_within(
    download: Download, names: list[str], report: Report, timeout: float
) -> list[str]:
    running = {asyncio.create_task(_outcome(download, name)): name for name in names}
    if not running:
        return []
    done, pending = await asyncio.wait(running, timeout=timeout)
    for task in done:
        report(*task.result())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [running[task] for task in running if task in pending]
