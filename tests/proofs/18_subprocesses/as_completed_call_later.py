"""Exercise 18, right: stdout.read() then wait(), as_completed filling an indexed list,
removesuffix after async for and returncode after wait(), a loop.call_later that kills."""

import asyncio
from collections.abc import Callable, Sequence


async def run(args: Sequence[str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    data = await proc.stdout.read()
    return (await proc.wait(), data.decode())


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    results: list = [None] * len(commands)

    async def one(index: int, args: Sequence[str]) -> None:
        results[index] = await run(args)

    for finished in asyncio.as_completed([one(i, args) for i, args in enumerate(commands)]):
        await finished
    return results


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    async for raw in proc.stdout:
        on_line(raw.decode().removesuffix("\n"))
        await asyncio.sleep(0)
    await proc.wait()
    return proc.returncode


async def run_with_timeout(args: Sequence[str], timeout: float) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    handle = asyncio.get_running_loop().call_later(timeout, proc.kill)
    try:
        return await proc.wait()
    finally:
        handle.cancel()
