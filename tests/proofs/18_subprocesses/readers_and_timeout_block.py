"""Exercise 18, a correct answer written differently: explicit readers, children started
before any is awaited, readline() in a loop, an `async with asyncio.timeout()` block, and
children killed in a `finally:` when the call is cancelled."""

import asyncio
from asyncio.subprocess import PIPE


async def _gone(*procs):
    for proc in procs:
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()


async def run(args):
    proc = await asyncio.create_subprocess_exec(*args, stdout=PIPE)
    try:
        out, code = await asyncio.gather(proc.stdout.read(), proc.wait())
    finally:
        await _gone(proc)
    return code, out.decode()


async def run_all(commands):
    procs = [await asyncio.create_subprocess_exec(*args, stdout=PIPE) for args in commands]
    try:
        results = []
        for proc in procs:
            out, _ = await proc.communicate()
            results.append((proc.returncode, out.decode()))
        return results
    finally:
        await _gone(*procs)


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=PIPE)
    try:
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                break
            text = raw.decode()
            on_line(text[:-1] if text.endswith("\n") else text)
        await proc.wait()
        return proc.returncode
    finally:
        await _gone(proc)


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args)
    try:
        async with asyncio.timeout(timeout):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
    finally:
        await _gone(proc)
    return proc.returncode
