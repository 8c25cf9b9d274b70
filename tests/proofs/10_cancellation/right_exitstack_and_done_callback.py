"""Exercise 10, a correct answer written differently: cleanup registered on an ExitStack,
a deadline-based loop, asyncio.wait for the spinner, a future set by a done-callback."""

import asyncio
import contextlib
import itertools


async def spinner(terminal, interval=0.1):
    loop = asyncio.get_running_loop()
    with contextlib.ExitStack() as stack:
        stack.callback(terminal.clear)
        start = loop.time()
        for count in itertools.count():
            terminal.show("|/-\\"[count % 4])
            await asyncio.sleep(start + (count + 1) * interval - loop.time())


async def run_with_spinner(job, spin):
    spinning = asyncio.ensure_future(spin())
    try:
        return await job()
    finally:
        spinning.cancel()
        await asyncio.wait({spinning})


async def cancel_and_wait(task):
    ended = asyncio.get_running_loop().create_future()

    def on_done(_):
        if not ended.done():
            ended.set_result(None)

    task.add_done_callback(on_done)
    task.cancel()
    await ended
    if task.cancelled():
        return True
    if task.exception() is not None:
        raise task.exception()
    return False
