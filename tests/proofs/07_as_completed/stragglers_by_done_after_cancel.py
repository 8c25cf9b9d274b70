"""Exercise 07, a wrong answer kept for the kit's own tests: finds the stragglers with not
task.done() after cancelling and awaiting them, when every task is done."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def report_downloads(download, names, report):
    for next_done in asyncio.as_completed([_labelled(download, n) for n in names]):
        report(*await next_done)


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
