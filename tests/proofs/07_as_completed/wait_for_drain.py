"""Exercise 07, a correct answer written differently: report_downloads is report_within without a
deadline; a drain coroutine under asyncio.wait_for, a dict of tasks, a list of names left."""

import asyncio


async def report_downloads(download, names, report):
    await report_within(download, names, report, None)


async def report_within(download, names, report, timeout):
    async def labelled(name):
        try:
            return name, await download(name)
        except Exception as exc:
            return name, exc

    tasks = {asyncio.create_task(labelled(n)): n for n in names}
    left = list(names)

    async def drain():
        for next_done in asyncio.as_completed(list(tasks)):
            name, outcome = await next_done
            report(name, outcome)
            left.remove(name)
            await asyncio.sleep(0)

    try:
        await asyncio.wait_for(drain(), timeout)
    except TimeoutError:
        pass
    finally:  # at the deadline, or when this call is cancelled
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
    return left
