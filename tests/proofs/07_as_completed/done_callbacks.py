"""Exercise 07, a correct answer written differently: each task reports from its own done callback;
gather, under asyncio.timeout for the deadline; stragglers listed with list(filter(...))."""

import asyncio


def _start(download, names, report, reported):
    def on_finish(name):
        def callback(task):
            if task.cancelled():
                return
            report(name, task.exception() if task.exception() is not None else task.result())
            reported.append(name)

        return callback

    tasks = []
    for name in names:
        task = asyncio.create_task(download(name))
        task.add_done_callback(on_finish(name))
        tasks.append(task)
    return tasks


async def report_downloads(download, names, report):
    tasks = _start(download, names, report, [])
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)


async def report_within(download, names, report, timeout):
    reported = []
    tasks = _start(download, names, report, reported)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*tasks, return_exceptions=True)
    except TimeoutError:
        pass
    await asyncio.sleep(0)
    left = [t for t in tasks if not t.done()]
    for t in left:
        t.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    return list(filter(lambda n: n not in reported, names))
