"""Exercise 02: chaining coroutines. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable
from typing import Any

Phase = Callable[[Any], Awaitable[Any]]


async def pick_and_pack(
    pick: Callable[[str], Awaitable[str]],
    pack: Callable[[str], Awaitable[str]],
    order_id: str,
) -> str:
    """Task 1. Two phases, the second needing the first one's result.

    `await pick(order_id)` fetches the order's parcel from the shelves; `await pack(parcel)`
    puts that parcel in a box and returns the box. Return the box. Each phase is called
    once, with the value exactly as it came (even ""), and waited for however long it takes;
    the whole call takes as long as the two phases added up. If pick() raises, nothing is
    packed and the error reaches the caller. If the caller cancels pick_and_pack, the phase
    in progress is cancelled and nothing more starts.
    """
    raise NotImplementedError("await pick(order_id), then pass its parcel to pack() and await it")


async def process_order(
    reserve: Callable[[str], Awaitable[str]],
    charge: Callable[[str], Awaitable[str]],
    ship: Callable[[str], Awaitable[str]],
    order_id: str,
) -> tuple[str, str]:
    """Task 2. Three phases, strictly one after another.

    1. `await reserve(order_id)` holds the stock and returns a reservation.
    2. `await charge(reservation)` takes the payment for that reservation; returns a receipt.
    3. `await ship(order_id)` sends the goods and returns a tracking number. It needs only the
       order id, but it must not start before the payment has gone through: an order whose
       charge fails (raises) is never shipped, and the error reaches the caller.

    Return the tuple `(receipt, tracking)`. Each phase is called once and waited for however
    long it takes; a failed phase is not retried (a declined charge is never charged again)
    and the phases after it are not called. Values are passed on exactly as they came: a
    charge that returns "" has gone through (only raising means it failed). If the caller
    cancels process_order, the phase in progress is cancelled and nothing more starts.
    """
    raise NotImplementedError(
        "await reserve, then charge with the reservation, then ship; return (receipt, tracking)"
    )


async def run_pipeline(phases: list[Phase], value: Any) -> Any:
    """Task 3. Feed `value` through every phase in turn and return what the last one returns.

    The first phase gets `value`; each later phase gets the result of the phase before it
    (`await phase(previous_result)`), and starts only when that phase has finished. Values
    of any kind are passed on exactly as they are (0, "", None, lists, ...), and you return
    the last phase's result itself; with no phases, return `value` unchanged. The same phase
    may appear twice in the list: it then runs twice. Does not change `phases`: the caller
    may use it again. If a phase raises, the error reaches the caller and no later phase is
    called; if the caller cancels run_pipeline, the phase in progress is cancelled and
    nothing more starts.
    """
    raise NotImplementedError("loop over phases: value = await phase(value); then return value")


async def run_pipelines(phases: list[Phase], values: list[Any]) -> list[Any]:
    """Task 4. Run one pipeline per value, all pipelines at the same time.

    Each value goes through `phases` in turn exactly as in run_pipeline() (a chain: one phase
    after another), but the chains are independent of each other, so they run concurrently:
    the whole call takes as long as the longest chain. Return a list of the results in the
    order of `values`: one per entry, so a value listed twice gets two chains (values may be
    anything, equal to each other, falsy or unhashable). No values gives an empty list. Does
    not change `phases` or `values`. If a chain raises, the error reaches the caller and that
    chain goes no further. If the caller cancels run_pipelines, every chain it started is
    cancelled too (gather() and a TaskGroup do this for you).
    """
    raise NotImplementedError(
        "gather one run_pipeline(phases, value) per value, so the chains run concurrently"
    )
