"""Assertions that exercise tests share, each failing with a message that teaches."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import NoReturn, TypeVar

import pytest

Number = int | float
T = TypeVar("T")


def _close(a: Number, b: Number) -> bool:
    return abs(float(a) - float(b)) < 1e-6


def took(actual: Number, expected: Number, what: str, likely: Mapping[Number, str] = {}) -> None:
    """Fail unless `what` took exactly `expected` seconds of loop time. `likely` maps a wrong
    duration to the mistake that usually produces it."""
    actual = float(actual)
    if _close(actual, expected):
        return
    message = f"{what} took {actual:g} s of loop time; expected {expected:g} s."
    for wrong, mistake in likely.items():
        if _close(actual, wrong):
            message += f" {mistake}"
            break
    else:
        if actual > expected:
            message += (
                " Something waited longer than it needed to: work that could overlap ran one "
                "piece after another, or the code waited (polled, slept) more than required."
            )
        else:
            message += " Something finished early: a job skipped, not awaited, or cut short."
    pytest.fail(message, pytrace=False)


def equal(
    actual: object,
    expected: object,
    what: str,
    likely: str | Callable[[object], str] = "",
) -> None:
    """Fail unless `actual == expected`, saying what was expected and what came back.
    `likely` names the probable mistake; as a function it gets `actual` and may return ""
    when no known mistake explains it."""
    if actual == expected:
        return
    message = f"{what}: expected {expected!r}, got {actual!r}."
    explanation = likely(actual) if callable(likely) else likely
    if explanation:
        message += f" {explanation}"
    pytest.fail(message, pytrace=False)


def same_items(actual: object, expected: list) -> bool:
    """True when `actual` holds the expected items in another order (a wrong-order answer)."""
    try:
        return sorted(map(repr, actual)) == sorted(map(repr, expected))  # type: ignore[arg-type]
    except TypeError:
        return False


def is_async(function: object, name: str) -> None:
    """Fail unless `function` is a coroutine function (`async def`)."""
    if inspect.iscoroutinefunction(function):
        return
    pytest.fail(
        f"{name} must be a coroutine function: write `async def {name}(...)`, not `def`.",
        pytrace=False,
    )


def not_coroutine(value: object, what: str) -> None:
    """Fail if a value that should be a result is an un-awaited coroutine or a task."""
    if inspect.iscoroutine(value):
        value.close()  # the test has reported it; no second "never awaited" warning
        pytest.fail(
            f"{what} is a coroutine object, not its result: a coroutine only runs when "
            "awaited. `await` it to get the value it returns.",
            pytrace=False,
        )
    if inspect.isawaitable(value):
        pytest.fail(
            f"{what} is an awaitable ({type(value).__name__}), not its result: await it.",
            pytrace=False,
        )


async def within(seconds: float, awaitable: Awaitable[T], message: str) -> T:
    """Await `awaitable`, failing with `message` if it takes over `seconds` of loop time
    (for waits that only end when the learner's code does something right)."""
    try:
        async with asyncio.timeout(seconds) as scope:
            return await awaitable
    except TimeoutError:
        if not scope.expired():
            raise  # the code under test raised it: not this limit
    pytest.fail(message, pytrace=False)


def count(number: int, one: str, many: str | None = None) -> str:
    """`number` and its noun, singular or plural: "1 time", "3 times", "2 children"."""
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def fail(message: str) -> NoReturn:
    """Fail the test with `message` alone: the kit shows no traceback for it."""
    pytest.fail(message, pytrace=False)


def now() -> float:
    """Loop time, rounded so that 0.1 + 0.2 compares equal to 0.3."""
    return round(asyncio.get_running_loop().time(), 6)


def raise_unexpected(*tasks: asyncio.Future, expected: Iterable[BaseException] = ()) -> None:
    """Raise the first error a task ended with that the test did not cause: the kit then
    says which of the learner's functions raised it and where (NotImplementedError too)."""
    expected = tuple(expected)
    for task in tasks:
        if task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None and not any(exc is e for e in expected):
                raise exc


async def settle(*tasks: asyncio.Future) -> None:
    """Test clean-up: end the tasks a test started, whatever state the learner left them in."""
    for _ in range(3):  # a cancel may only start a long clean-up: cancel that one too
        pending = [t for t in tasks if not t.done() and t is not asyncio.current_task()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise
