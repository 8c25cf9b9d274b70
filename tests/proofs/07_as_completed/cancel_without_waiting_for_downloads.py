"""Exercise 07: as_completed."""

import asyncio
from collections.abc import Awaitable, Callable

# `await download(name)` returns the file's content, or raises if the download fails.
Download = Callable[[str], Awaitable[str]]
# `report(name, outcome)`: outcome is the content, or the exception the download raised.
Report = Callable[[str, object], None]


async def _labelled(download: Download, name: str) -> tuple[str, object]:
    """Download one name; return (name, content) or (name, the exception it raised)."""
    try:
        content = await download(name)
    except Exception as exc:
        return name, exc
    return name, content


async def _stop(tasks: list[asyncio.Task]) -> None:
    """Cancel every task still running and wait until all of them have stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def report_downloads(download: Download, names: list[str], report: Report) -> None:
    """Tasks 1 and 2: download everything at once, report each the moment it finishes."""
    tasks = [asyncio.create_task(_labelled(download, name)) for name in names]
    try:
        for next_done in asyncio.as_completed(tasks):
            name, outcome = await next_done
            report(name, outcome)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise


async def report_within(
    download: Download, names: list[str], report: Report, timeout: float
) -> list[str]:
    """Task 3: like report_downloads, with one deadline over the whole batch."""
    tasks = [asyncio.create_task(_labelled(download, name)) for name in names]
    reported: set[str] = set()
    try:
        for next_done in asyncio.as_completed(tasks, timeout=timeout):
            name, outcome = await next_done
            reported.add(name)
            report(name, outcome)
    except TimeoutError:
        pass
    finally:
        await _stop(tasks)
    return [name for name in names if name not in reported]
