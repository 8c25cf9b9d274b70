"""Exercise 18, a correct answer written differently: a shell with properly quoted arguments
that execs the program (so killing the child kills the program), gather over a generator of
coroutines, wait_for around communicate(), and a kill on cancellation."""

import asyncio
import shlex


async def _kill(proc):
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def run(args):
    proc = await asyncio.create_subprocess_shell(
        "exec " + shlex.join(args), stdout=asyncio.subprocess.PIPE
    )
    try:
        out, _ = await proc.communicate()
    except BaseException:
        await _kill(proc)
        raise
    return proc.returncode, out.decode()


async def run_all(commands):
    return [pair for pair in await asyncio.gather(*map(run, commands))]


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        async for raw in proc.stdout:
            on_line(raw.decode().rstrip("\n"))
        return await proc.wait()
    except BaseException:
        await _kill(proc)
        raise


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
    except BaseException:
        await _kill(proc)
        raise
    return proc.returncode
