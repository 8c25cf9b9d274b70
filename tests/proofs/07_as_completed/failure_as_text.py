"""Exercise 07, a wrong answer kept for the kit's own tests: a failed download is reported as the
text of its exception."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def report_downloads(download, names, report):
    running = [asyncio.create_task(_labelled(download, n)) for n in names]
    try:
        for next_done in asyncio.as_completed(running):
            name, outcome = await next_done
            report(name, outcome if not isinstance(outcome, Exception) else repr(outcome))
    finally:
        await _stop(running)


async def _outcome(download, name):
    """One download, labelled with its name; a failure becomes its exception object."""
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def _stop(tasks):
    """Cancel the tasks still running and wait until every one has stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def report_within(download, names, report, timeout: float) -> list[str]:
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
