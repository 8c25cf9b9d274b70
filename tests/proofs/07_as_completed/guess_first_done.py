"""Exercise 07, a wrong answer kept for the kit's own tests: after each as_completed result, names
it after the first finished task (in the order of names) not reported yet; two downloads
finishing together swap names."""

import asyncio


async def _labelled(download, name):
    try:
        return name, await download(name)
    except Exception as exc:
        return name, exc


async def report_downloads(download, names, report):
    tasks = [asyncio.create_task(download(n)) for n in names]
    unreported = dict(zip(tasks, names, strict=True))
    for next_done in asyncio.as_completed(tasks):
        try:
            outcome = await next_done
        except Exception as exc:
            outcome = exc
        # as_completed does not say which task this was: take the first finished one left
        task = next(t for t in tasks if t.done() and t in unreported)
        report(unreported.pop(task), outcome)


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
