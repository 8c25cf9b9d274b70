"""Exercise 16: executors. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
import functools  # noqa: F401 - and this
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor  # noqa: F401 - for task 3

Timeout = float | tuple[float, float] | None  # what requests.get takes: yours to pass on


async def download(get: Callable[..., bytes], url: str, *, timeout: Timeout) -> bytes:
    """Task 1. Download one page with a blocking `get`, without blocking the event loop.

    `get(url, *, timeout)` works like requests.get: it blocks the thread that calls it until
    the page has arrived, then returns the page's bytes (or raises, e.g. ConnectionError).
    `timeout` is get's own option, and keyword-only: pass it on by name, exactly as given:
    the very object (0 and None are values; no `or` default, no float()). Call get exactly
    once, in a worker thread (asyncio.to_thread, or loop.run_in_executor with
    functools.partial for the keyword, for example), never on the loop's own thread, and
    await it, so the loop goes on running other tasks while get blocks. Return what get
    returned, unchanged; if get raises, let that same exception reach the caller (no retry).
    Keep nothing between calls. Hand the result to the loop only through asyncio (no future
    set from a thread of your own). If you make an executor, shut it down before you return,
    without making the loop wait for a thread. If download() is cancelled while get blocks,
    end at once, cancelled (a thread cannot be stopped: do not wait for it).
    """
    raise NotImplementedError(
        "run get(url, timeout=timeout) in a worker thread: await asyncio.to_thread(...)"
    )


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: Timeout
) -> list[bytes]:
    """Task 2. Download every URL at the same time, each with the blocking `get`.

    Call get(url, timeout=timeout) once per entry of `urls`, each in a worker thread, all at
    once: every download is in flight before any has answered. Add no cap of your own (no
    max_workers smaller than the list, no Semaphore); the cap the loop's own executor has,
    or a ThreadPoolExecutor() with the default max_workers, is fine. Return a new list of
    the pages in the order of `urls`, not the order the downloads finished. A URL listed
    twice is downloaded twice and its page appears twice; an empty page b"" is a page; no
    URLs give []. Pass each URL and the timeout on exactly as given; leave `urls` unchanged;
    keep nothing between calls. The loop stays free while the downloads run. If you make an
    executor, shut it down before you return. If a download fails, raise its exception (the
    very one get raised, or an ExceptionGroup of just it, as a TaskGroup raises): not in the
    list (no return_exceptions=True), not replaced by a page; the other downloads may run
    on. If download_all() is cancelled, end cancelled and leave no task of yours running
    (asyncio.gather cancels its jobs when it is cancelled).
    """
    raise NotImplementedError(
        "start a worker-thread call of get for every url, then await them all with gather"
    )


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    """Task 3. Hash every blob in a pool of processes, keeping the loop free.

    `work(blob, *, rounds)` is CPU-bound: it hashes `blob` `rounds` times and returns a hex
    digest (a str). Run it once per entry of `blobs` in a ProcessPoolExecutor that you make
    (the default start method: no mp_context, no max_tasks_per_child), shut down and wait
    for before you return (a `with` block around the awaits, or shutdown() in a finally:),
    so that no worker process outlives the call. Hand every job to the pool before you await
    any, and await them (loop.run_in_executor gives you an asyncio future per job): the loop
    never waits for the pool without awaiting. A job is sent to another process by pickling
    it, so send `work` itself with its arguments (functools.partial(work, blob,
    rounds=rounds), say, or pool.submit(work, blob, rounds=rounds)): a lambda or a function
    defined inside another cannot be pickled. Return a new list of the digests in the order
    of `blobs` (a repeated blob is hashed twice; b"" and rounds=0 are values; no blobs give
    []). Leave `blobs` unchanged; keep nothing between calls. If work raises, raise its
    exception (or an ExceptionGroup of just it): not in the list, not wrapped. If
    checksums() is cancelled, the pool must still be shut down (the `with` block does that)
    and the CancelledError must reach the caller.
    """
    raise NotImplementedError(
        "make a ProcessPoolExecutor, run_in_executor(pool, partial(work, blob, rounds=rounds)) "
        "for every blob, then gather"
    )
