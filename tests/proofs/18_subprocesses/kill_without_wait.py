"""Exercise 18, wrong: run_with_timeout() kills the child but never waits for it."""

import asyncio
from collections.abc import Callable, Sequence


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Kill a child that is still running and collect its exit (when we are cancelled)."""
    if proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass  # it exited a moment ago
        await asyncio.shield(proc.wait())


async def run(args: Sequence[str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    return proc.returncode, out.decode()


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    return list(await asyncio.gather(*(run(args) for args in commands)))


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        async for raw in proc.stdout:
            on_line(raw.decode().removesuffix("\n"))
        return await proc.wait()
    except asyncio.CancelledError:
        await _stop(proc)
        raise


async def run_with_timeout(args: Sequence[str], timeout: float) -> int:
    proc = await asyncio.create_subprocess_exec(*args)
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        return proc.returncode
