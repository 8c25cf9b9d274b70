"""Exercise 18, a correct answer written differently: explicit readers, children started
before any is awaited, readline() in a loop, and an `async with asyncio.timeout()` block."""

import asyncio
from asyncio.subprocess import PIPE


async def run(args):
    proc = await asyncio.create_subprocess_exec(*args, stdout=PIPE)
    out, code = await asyncio.gather(proc.stdout.read(), proc.wait())
    return code, out.decode()


async def run_all(commands):
    procs = [await asyncio.create_subprocess_exec(*args, stdout=PIPE) for args in commands]
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        results.append((proc.returncode, out.decode()))
    return results


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=PIPE)
    while True:
        raw = await proc.stdout.readline()
        if not raw:
            break
        text = raw.decode()
        on_line(text[:-1] if text.endswith("\n") else text)
    await proc.wait()
    return proc.returncode


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args)
    try:
        async with asyncio.timeout(timeout):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
    return proc.returncode
