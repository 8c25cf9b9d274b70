"""Exercise 18, right: stdout.read() then wait(), as_completed filling an indexed list,
removesuffix after async for and returncode after wait(), a loop.call_later that kills."""

import asyncio
from collections.abc import Callable, Sequence


async def run(args: Sequence[str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        data = await proc.stdout.read()
        return (await proc.wait(), data.decode())
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    results: list = [None] * len(commands)

    async def one(index: int, args: Sequence[str]) -> None:
        results[index] = await run(args)

    tasks = [asyncio.ensure_future(one(i, args)) for i, args in enumerate(commands)]
    try:
        for finished in asyncio.as_completed(tasks):
            await finished
    finally:
        for task in tasks:
            task.cancel()  # only matters when run_all() itself is cancelled
    return results


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        async for raw in proc.stdout:
            on_line(raw.decode().removesuffix("\n"))
            await asyncio.sleep(0)
        await proc.wait()
        return proc.returncode
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def run_with_timeout(args: Sequence[str], timeout: float) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    try:
        handle = asyncio.get_running_loop().call_later(timeout, proc.kill)
        try:
            return await proc.wait()
        finally:
            handle.cancel()
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
