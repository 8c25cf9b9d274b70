"""Exercise 07, a correct answer written differently: gather is fine when each wrapper reports
the moment its own download ends; wait_for puts the deadline over the gather (and, timing
out, cancels and waits for what is left)."""

import asyncio


async def report_downloads(download, names, report, done=None):
    async def one(name):
        try:
            outcome = await download(name)
        except Exception as exc:
            outcome = exc
        report(name, outcome)
        if done is not None:
            done.add(name)

    await asyncio.gather(*map(one, names))


async def report_within(download, names, report, timeout):
    done: set[str] = set()
    try:
        await asyncio.wait_for(report_downloads(download, names, report, done), timeout)
    except TimeoutError:
        pass
    return [name for name in names if name not in done]
