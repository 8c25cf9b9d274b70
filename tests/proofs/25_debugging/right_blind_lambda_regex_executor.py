# correct: lambda handler, greedy regex on getMessage, run_in_executor, while-index loop
from __future__ import annotations

import asyncio
import logging
import re


class InvalidChange(Exception):
    """What `apply` raises for a change it refuses."""


class ErrorCollector:
    def __init__(self) -> None:
        self.contexts = []
        self._saved = None

    def __enter__(self):
        loop = asyncio.get_running_loop()
        self._saved = (loop, loop.get_exception_handler())
        loop.set_exception_handler(lambda _loop, ctx: self.contexts.append(ctx))
        return self

    def __exit__(self, exc_type, exc, tb):
        loop, old = self._saved
        try:
            pass
        finally:
            loop.set_exception_handler(old)


_RE = re.compile(r"^Executing (.*) took (\d+(?:\.\d+)?) seconds$", re.S)


class _H(logging.Handler):
    def __init__(self, out):
        super().__init__()
        self.out = out

    def emit(self, record):
        if record.name != "asyncio" or record.levelno != logging.WARNING:
            return
        m = _RE.match(record.getMessage())
        if m:
            self.out.append((m.group(1), float(m.group(2))))


async def slow_callbacks(coro, threshold):
    loop = asyncio.get_running_loop()
    logger = logging.getLogger("asyncio")
    slow = []
    h = _H(slow)
    old = (loop.get_debug(), loop.slow_callback_duration)
    logger.addHandler(h)
    try:
        loop.set_debug(True)
        loop.slow_callback_duration = threshold
        task = asyncio.create_task(coro)
        result = await task
        return result, slow
    finally:
        loop.set_debug(old[0])
        loop.slow_callback_duration = old[1]
        logger.removeHandler(h)


async def load_all(keys, load):
    loop = asyncio.get_running_loop()
    out = []
    for key in keys:
        value = await loop.run_in_executor(None, load, key)
        out.append(value)
    return out


async def notify_all(users, send):
    i = 0
    while i < len(users):
        await send(users[i])
        i += 1
    return i


async def apply_all(changes, apply):
    refused = []
    for change in changes:
        try:
            await apply(change)
        except InvalidChange:
            refused.append(change)
        else:
            continue
    return refused
