"""Exercise 18, right: gather(read(), wait()), tasks awaited in order, readuntil with
IncompleteReadError for the last line, wait_for around communicate() with a read pipe."""

import asyncio
from collections.abc import Callable, Sequence


async def run(args: Sequence[str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        data, code = await asyncio.gather(proc.stdout.read(), proc.wait())
        return code, data.decode()
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    tasks = [asyncio.ensure_future(run(args)) for args in commands]
    try:
        return [await task for task in tasks]
    finally:
        for task in tasks:
            task.cancel()  # only matters when run_all() itself is cancelled


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        reader = proc.stdout
        while not reader.at_eof():
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    on_line(exc.partial.decode())
                break
            on_line(raw[:-1].decode())
        return await proc.wait()
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def run_with_timeout(args: Sequence[str], timeout: float) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        try:
            await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.communicate()
        return proc.returncode
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
