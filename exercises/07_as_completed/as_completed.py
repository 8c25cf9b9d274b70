"""Exercise 07: as_completed. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable

# `await download(name)` returns the file's content, or raises if the download fails.
Download = Callable[[str], Awaitable[str]]
# `report(name, outcome)`: outcome is the content, or the exception the download raised.
Report = Callable[[str, object], None]


async def report_downloads(download: Download, names: list[str], report: Report) -> None:
    """Tasks 1 and 2. Download every name at the same time and report each as it finishes.

    Call `report(name, content)`, with the very content download(name) returned (an empty
    string too), the moment that download finishes, so the fastest is reported first, the
    slowest last. The names are all different (a name can key a dict). Download each name
    exactly once, and however long it takes: there is no deadline here. Does not change
    `names`.

    If report_downloads itself is cancelled while it waits, it cancels the downloads still
    running, waits until they have stopped, and ends cancelled (the CancelledError goes on
    to its caller); nothing more is reported.

    Task 2: a download that raises is reported too, as `report(name, exception)` at the
    moment it fails, whatever the exception's type; it is not retried. It must not stop, lose
    or delay the others, and report_downloads itself does not raise. It returns when every
    download has been reported.
    """
    raise NotImplementedError(
        "wrap each download so it returns (name, outcome), then loop over asyncio.as_completed"
    )


async def report_within(
    download: Download, names: list[str], report: Report, timeout: float
) -> list[str]:
    """Task 3. Like report_downloads, with a deadline over the whole batch.

    Report each download that finishes (or fails) within `timeout` seconds of the call, as
    it finishes; a download that raises TimeoutError itself has failed, like any other. At
    the deadline, cancel every download still running, wait until they have all stopped, and
    return their names as a new list, in the order of `names` (they are not reported). If
    everything finishes sooner, return [] as soon as the last one is reported. `timeout` may
    be 0 (return at once) or long (a day): only it sets the deadline. Does not change
    `names`.

    If report_within itself is cancelled, it cancels the downloads still running, waits until
    they have stopped, and ends cancelled, like report_downloads.
    """
    raise NotImplementedError(
        "start the downloads as tasks, use as_completed(..., timeout=timeout), then cancel "
        "and await the ones left"
    )
