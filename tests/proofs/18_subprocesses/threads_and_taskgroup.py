"""Exercise 18, a correct answer written differently: the blocking subprocess.run moved to a
worker thread, a TaskGroup, output read in chunks, and asyncio.wait with a timeout."""

import asyncio
import signal
import subprocess


async def run(args):
    done = await asyncio.to_thread(subprocess.run, list(args), stdout=subprocess.PIPE)
    return done.returncode, done.stdout.decode()


async def run_all(commands):
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run(args)) for args in commands]
    return [task.result() for task in tasks]


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    pending = b""
    while chunk := await proc.stdout.read(4096):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            on_line(raw.decode())
    if pending:
        on_line(pending.decode())
    return await proc.wait()


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args)
    waiting = asyncio.create_task(proc.wait())
    done, _ = await asyncio.wait({waiting}, timeout=timeout)
    if not done:
        proc.send_signal(signal.SIGKILL)
    return await waiting
