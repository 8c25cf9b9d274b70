"""Exercise 18, a correct answer written differently: a shell with properly quoted arguments,
gather over a generator of coroutines, and wait_for around communicate()."""

import asyncio
import shlex


async def run(args):
    proc = await asyncio.create_subprocess_shell(shlex.join(args), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode()


async def run_all(commands):
    return [pair for pair in await asyncio.gather(*map(run, commands))]


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    async for raw in proc.stdout:
        on_line(raw.decode().rstrip("\n"))
    return await proc.wait()


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
    return proc.returncode
