"""Exercise 08, a correct answer written differently: as_completed, a TaskGroup, and a
timeout around gather (which cancels and awaits the children itself)."""

import asyncio


async def fastest_ip(services):
    tasks = [asyncio.ensure_future(service()) for service in services]
    try:
        for first in asyncio.as_completed(tasks):
            ip = await first
            break
    finally:  # also when this call is cancelled
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return ip


async def deploy_all(jobs):
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job()) for job in jobs]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


async def poll_services(services, timeout):
    tasks = {name: asyncio.create_task(ask()) for name, ask in services.items()}
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*tasks.values(), return_exceptions=True)
    except TimeoutError:
        pass  # gather was cancelled, and it cancelled and awaited the tasks still running
    answers, late = {}, []
    for name, task in tasks.items():
        if task.cancelled():
            late.append(name)
        elif task.exception() is None:
            answers[name] = task.result()
    return answers, sorted(late)
