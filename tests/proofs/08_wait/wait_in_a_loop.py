"""Exercise 08, a correct answer written differently: FIRST_COMPLETED in a loop, and the
cleanup shared in one helper, awaiting each cancelled task in turn."""

import asyncio


async def _stop(tasks):
    tasks = [task for task in tasks if not task.done()]
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass


async def fastest_ip(services):
    pending = {asyncio.create_task(service()) for service in services}
    try:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _stop(pending)
    return next(iter(done)).result()


async def deploy_all(jobs):
    tasks = [asyncio.create_task(job()) for job in jobs]
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in tasks if t in done and t.exception() is not None]
            if failed:
                raise failed[0].exception()
    finally:
        await _stop(pending)
    return [task.result() for task in tasks]


async def poll_services(services, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    by_task = {asyncio.create_task(ask()): name for name, ask in services.items()}
    pending = set(by_task)
    answers = {}
    try:
        while pending and loop.time() < deadline:
            done, pending = await asyncio.wait(
                pending, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task.exception() is None:
                    answers[by_task[task]] = task.result()
    finally:
        late = sorted(by_task[task] for task in pending)
        await _stop(pending)
    return answers, late
