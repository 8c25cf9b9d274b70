"""Exercise 07, a wrong answer kept for the kit's own tests: looks up what as_completed yields in
the list of tasks (tasks.index), which fails on Python 3.11."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def report_downloads(download, names, report):
    tasks = [asyncio.create_task(download(n)) for n in names]
    try:
        for next_done in asyncio.as_completed(tasks):
            try:
                outcome = await next_done
            except Exception as exc:
                outcome = exc
            name = names[tasks.index(next_done)]
            report(name, outcome)
    finally:
        await _stop(tasks)


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
