"""Exercise 08, a correct answer written differently: FIRST_COMPLETED in a loop, and the
cleanup shared in one helper."""

import asyncio


async def _stop(tasks):
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass


async def fastest_ip(services):
    pending = {asyncio.create_task(service()) for service in services}
    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    await _stop(pending)
    return next(iter(done)).result()


async def deploy_all(jobs):
    tasks = [asyncio.create_task(job()) for job in jobs]
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in tasks if t in done and t.exception() is not None]
        if failed:
            await _stop(pending)
            raise failed[0].exception()
    return [task.result() for task in tasks]


async def poll_services(services, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    by_task = {asyncio.create_task(ask()): name for name, ask in services.items()}
    pending = set(by_task)
    answers = {}
    while pending and loop.time() < deadline:
        done, pending = await asyncio.wait(
            pending, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task.exception() is None:
                answers[by_task[task]] = task.result()
    await _stop(pending)
    return answers, sorted(by_task[task] for task in pending)
