"""Exercise 17: threads and the loop. Read README.md, then replace each NotImplementedError."""

import asyncio
import threading  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"  # the spinner's frames, shown in this order, over and over


def spin_in_thread(job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1) -> T:
    """Task 1. Run job() here while a spinner thread shows frames; stop it with an Event.

    A plain function (no asyncio). Start a threading.Thread, the spinner, that calls
    show(frame) with the FRAMES in turn, "|" first, over and over, and waits `interval`
    seconds after each frame (any interval: 0 means no wait at all, and it may be a day).
    Meanwhile call job() once, in the calling thread. As soon as job() returns or raises,
    tell the spinner to stop (set a threading.Event) and wait until its thread has ended
    (join it, with no timeout: however long the spinner takes to end). As its last act the
    spinner calls show("") once, to clear the line. Then return what job() returned,
    whatever it is (None and 0 too), or let job()'s exception through.

    The spinner stops at once when told, even in the middle of a day-long interval: it waits
    with `done.wait(interval)`, never time.sleep(interval). show is only ever called from the
    spinner thread, and never after spin_in_thread() has returned: by then the spinner thread
    has ended. Each call has a spinner and an Event of its own (nothing at module level).
    """
    raise NotImplementedError(
        "start a threading.Thread that shows frames until a threading.Event is set, call "
        "job(), then set the event and join the thread (in a finally)"
    )


async def spin_in_task(
    job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1
) -> T:
    """Task 2. Run the blocking job() in a worker thread while a spinner task shows frames.

    job is a plain blocking function: it must not run on the event loop's thread (hand it to
    asyncio.to_thread). Meanwhile a task on the loop, the spinner, calls show(frame) with the
    FRAMES in turn, "|" first, waiting `await asyncio.sleep(interval)` after each frame (any
    interval: 0 too, and it may be a day). When job() returns or raises, cancel the spinner
    task and wait until it has ended; in a finally the spinner calls show("") once, to clear
    the line. Then return what job() returned (None and 0 too), or raise its exception. The
    job may take as long as it takes (a day): no timeout of your own around it.

    show is only ever called on the event loop's thread, and never after spin_in_task() has
    ended: leave no task running. If spin_in_task() is cancelled while the job runs, cancel
    and wait for the spinner too, then let the CancelledError through (the job's thread
    cannot be stopped: it finishes by itself). Each call has a spinner of its own.
    """
    raise NotImplementedError(
        "start the spinner with asyncio.create_task, await asyncio.to_thread(job), then "
        "cancel the spinner and wait for it (in a finally)"
    )


async def run_with_progress(
    work: Callable[[Callable[[object], None]], T], on_progress: Callable[[object], None]
) -> T:
    """Task 3. Run the blocking work(report) in a worker thread; hand its progress to the loop.

    work is a plain blocking function that takes one argument, a function report(value), and
    calls it from its own thread as it goes. Run work in a worker thread (never on the event
    loop's thread), and give it a report that hands each value over to the loop with
    loop.call_soon_threadsafe, so that on_progress(value) runs on the loop's thread: once per
    report(value), in order, with that very value (None, 0, "" and repeats too), as soon as the
    loop gets to it, while the work goes on (not saved up for the end).

    From the worker thread, reach the loop only through its two doors, call_soon_threadsafe
    (or run_coroutine_threadsafe, of a coroutine that calls on_progress): not on_progress
    itself, not loop.call_soon, not a future's set_result, not an asyncio.Queue. While the
    work runs the loop stays free for other tasks: await it (no join(), no direct call). The
    work may take as long as it takes (a day): no timeout of your own around it.
    Return what work returned, after every on_progress call has run, or raise work's
    exception (after the progress it reported). If run_with_progress() is cancelled, let the
    CancelledError through at once: the work runs on in its thread to its end, but
    on_progress is never called after run_with_progress() has ended.
    """
    raise NotImplementedError(
        "await asyncio.to_thread(work, report), where report(value) calls "
        "loop.call_soon_threadsafe(on_progress, value)"
    )


def fetch_all_from_thread(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[str], Awaitable[str]],
    urls: Sequence[str],
) -> list[str]:
    """Task 4. From plain code in another thread, run fetches on the loop and wait for them.

    A plain function, called from a thread that is not the event loop's: `loop` is running
    in a thread of its own. Run the coroutine fetch(url) on `loop` for every url, all at
    once, with asyncio.run_coroutine_threadsafe, and block this thread until they are done
    (each gives you a concurrent.futures.Future), however long they take: no timeout of your
    own (no wait(..., timeout=), no result(timeout=)). Return a new list of the pages in the
    order of urls: one fetch per entry (a URL listed twice is fetched twice; an empty page
    is a page), each URL passed exactly as given; no URLs give [] at once. urls is not
    changed.

    If a fetch raises, raise its exception at once, without waiting for the fetches still
    running, and cancel those (a concurrent.futures.Future's cancel() cancels its coroutine
    on the loop). Touch the loop from this thread only through run_coroutine_threadsafe (or
    call_soon_threadsafe); never start a loop of your own (no asyncio.run here).
    """
    raise NotImplementedError(
        "submit every fetch(url) with asyncio.run_coroutine_threadsafe(..., loop), then wait "
        "on the futures (concurrent.futures.wait) and return their results"
    )
