"""Exercise 07, a wrong answer kept for the kit's own tests: a failed download is reported as the
text of its exception."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def report_downloads(download, names, report):
    for next_done in asyncio.as_completed([_labelled(download, n) for n in names]):
        name, outcome = await next_done
        report(name, outcome if not isinstance(outcome, Exception) else repr(outcome))


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
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [n for n in names if n not in reported]
