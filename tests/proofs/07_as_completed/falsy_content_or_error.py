"""Exercise 07, a wrong answer kept for the kit's own tests: the wrapper returns (name, content,
error) and reports `content or error`, so an empty content is reported as None."""

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
    async def attempt(name: str) -> tuple[str, object, Exception | None]:
        try:
            return name, await download(name), None
        except Exception as exc:
            return name, None, exc

    running = [asyncio.create_task(attempt(name)) for name in names]
    try:
        for next_done in asyncio.as_completed(running):
            name, content, error = await next_done
            report(name, content or error)
    finally:
        await _stop(running)


async def report_within(
    download: Download, names: list[str], report: Report, timeout: float
) -> list[str]:
    running = [asyncio.create_task(_outcome(download, name)) for name in names]
    reported: set[str] = set()
    try:
        for next_done in asyncio.as_completed(running, timeout=timeout):
            name, outcome = await next_done
            report(name, outcome)
            reported.add(name)
    except TimeoutError:
        pass
    finally:
        await _stop(running)
    return [name for name in names if name not in reported]
