"""Exercise 10, a correct answer written differently: an index loop, cleanup in
`except BaseException: ... raise`, and asyncio.wait instead of catching CancelledError."""

import asyncio


async def spinner(terminal, interval=0.1):
    frames = "|/-\\"
    shown = 0
    try:
        while True:
            terminal.show(frames[shown % len(frames)])
            shown += 1
            await asyncio.sleep(interval)
    except BaseException:
        terminal.clear()
        raise


async def cancel_and_wait(task):
    task.cancel()
    await asyncio.wait([task])  # raises only if *we* are cancelled
    if task.cancelled():
        return True
    task.result()  # the task's own error, if it failed
    return False


async def run_with_spinner(job, spin):
    spinning = asyncio.create_task(spin())
    try:
        result = await job()
    finally:
        await cancel_and_wait(spinning)
    return result
