"""Exercise 07, a wrong answer kept for the kit's own tests: finds the stragglers with not
task.done() after cancelling and awaiting them, when every task is done."""

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
    try:
        for next_done in asyncio.as_completed(tasks, timeout=timeout):
            report(*await next_done)
    except TimeoutError:
        pass
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [n for n, t in zip(names, tasks, strict=True) if not t.done()]
