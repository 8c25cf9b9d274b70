"""Exercise 18, a correct answer written differently: a Popen's blocking communicate() moved to
a worker thread (and the Popen killed if cancelled), a TaskGroup, output read in chunks, and
asyncio.wait with a timeout."""

import asyncio
import signal
import subprocess


async def run(args):
    proc = subprocess.Popen(list(args), stdout=subprocess.PIPE)
    try:
        out, _ = await asyncio.to_thread(proc.communicate)
    except asyncio.CancelledError:
        proc.kill()
        await asyncio.to_thread(proc.wait)
        raise
    return proc.returncode, out.decode()


async def run_all(commands):
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run(args)) for args in commands]
    return [task.result() for task in tasks]


async def stream_lines(args, on_line):
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        pending = b""
        while chunk := await proc.stdout.read(4096):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                on_line(raw.decode())
        if pending:
            on_line(pending.decode())
        return await proc.wait()
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def run_with_timeout(args, timeout):
    proc = await asyncio.create_subprocess_exec(*args)
    try:
        waiting = asyncio.create_task(proc.wait())
        try:
            done, _ = await asyncio.wait({waiting}, timeout=timeout)
            if not done:
                proc.send_signal(signal.SIGKILL)
            return await waiting
        finally:
            waiting.cancel()  # only matters when run_with_timeout() itself is cancelled
    except BaseException:  # cancelled (or failed): the child must not outlive the call
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
