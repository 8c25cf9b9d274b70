"""Exercise 07, a wrong answer kept for the kit's own tests: reports each straggler as
CancelledError at the deadline."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


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


async def report_downloads(download, names, report):
    running = [asyncio.create_task(_outcome(download, name)) for name in names]
    try:
        for next_done in asyncio.as_completed(running):
            name, outcome = await next_done
            report(name, outcome)
    finally:
        await _stop(running)  # only does something when this call is cancelled


async def report_within(download, names, report, timeout):
    tasks = [asyncio.create_task(_labelled(download, n)) for n in names]
    reported = set()
    try:
        for next_done in asyncio.as_completed(tasks, timeout=timeout):
            name, outcome = await next_done
            report(name, outcome)
            reported.add(name)
    except TimeoutError:
        pass
    for t, n in zip(tasks, names, strict=True):
        if n not in reported:
            t.cancel()
            report(n, asyncio.CancelledError())
    await asyncio.gather(*tasks, return_exceptions=True)
    return [n for n in names if n not in reported]
