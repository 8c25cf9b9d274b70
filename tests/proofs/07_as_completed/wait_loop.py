"""Exercise 07, a correct answer written differently: asyncio.wait(FIRST_COMPLETED) in a loop,
with the deadline computed from the loop's clock."""

import asyncio


async def _drain(download, names, report, deadline=None):
    loop = asyncio.get_running_loop()
    pending = {asyncio.ensure_future(download(name)): name for name in names}
    try:
        while pending:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                break
            done, _ = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                name = pending.pop(task)
                if task.exception() is not None:
                    report(name, task.exception())
                else:
                    report(name, task.result())
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    return [name for name in names if name in pending.values()]


async def report_downloads(download, names, report):
    await _drain(download, names, report)


async def report_within(download, names, report, timeout):
    deadline = asyncio.get_running_loop().time() + timeout
    return await _drain(download, names, report, deadline)
