# correct?: Task 2 awaits coro directly (literal README 'Await coro'), no separate task
from __future__ import annotations

import asyncio
import logging


class InvalidChange(Exception):
    """What `apply` raises for a change it refuses."""


class ErrorCollector:
    def __init__(self) -> None:
        self.contexts: list[dict] = []

    def __enter__(self):
        self._loop = asyncio.get_running_loop()
        self._old = self._loop.get_exception_handler()
        self._loop.set_exception_handler(self._record)
        return self

    def _record(self, loop, context):
        self.contexts.append(context)

    def __exit__(self, *exc_info):
        self._loop.set_exception_handler(self._old)
        return None


_FMT = "Executing %s took %.3f seconds"


class _SlowHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.slow = []

    def emit(self, record):
        if (
            record.name == "asyncio"
            and record.msg == _FMT
            and isinstance(record.args, tuple)
            and len(record.args) == 2
        ):
            self.slow.append((str(record.args[0]), float(record.args[1])))


async def slow_callbacks(coro, threshold):
    loop = asyncio.get_running_loop()
    logger = logging.getLogger("asyncio")
    handler = _SlowHandler()
    was_debug = loop.get_debug()
    was_dur = loop.slow_callback_duration
    was_level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    loop.set_debug(True)
    loop.slow_callback_duration = threshold
    try:
        result = await coro
    finally:
        loop.set_debug(was_debug)
        loop.slow_callback_duration = was_dur
        logger.setLevel(was_level)
        logger.removeHandler(handler)
    return result, list(handler.slow)


async def load_all(keys, load):
    results = []
    for key in keys:
        results.append(await asyncio.to_thread(load, key))
    return results


async def notify_all(users, send):
    sent = 0
    for user in users:
        await send(user)
        sent += 1
    return sent


async def apply_all(changes, apply):
    refused = []
    for change in changes:
        try:
            await apply(change)
        except InvalidChange:
            refused.append(change)
    return refused
