"""Exercise 07, a correct answer written differently: each task reports itself, inside a
TaskGroup; asyncio.timeout puts the deadline over the group."""

import asyncio


async def _download_and_report(download, name, report, reported=None):
    try:
        outcome = await download(name)
    except Exception as exc:
        outcome = exc
    report(name, outcome)
    if reported is not None:
        reported.append(name)


async def report_downloads(download, names, report):
    async with asyncio.TaskGroup() as group:
        for name in names:
            group.create_task(_download_and_report(download, name, report))


async def report_within(download, names, report, timeout):
    reported: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            async with asyncio.TaskGroup() as group:
                for name in names:
                    group.create_task(_download_and_report(download, name, report, reported))
    except TimeoutError:
        pass
    return [name for name in names if name not in reported]
