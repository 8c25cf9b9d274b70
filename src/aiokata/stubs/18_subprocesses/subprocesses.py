"""Exercise 18: subprocesses. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Callable, Sequence


async def run(args: Sequence[str]) -> tuple[int, str]:
    """Task 1. Run one program and return `(return_code, output)`.

    `args` is the program and its arguments, e.g. `["python", "-c", "print('hi')"]`; pass each
    one to the program exactly as given (no shell). Capture what the child writes to its
    standard output (only that: its standard error is not part of the result) and return it
    decoded to text, with the child's return code. A child that fails (non-zero return code)
    is not an error: return its code and output. The output may be larger than a pipe holds
    (64 KiB), even a single line of it, and is returned exactly as written ("\r\n" stays),
    decoded once as a whole (UTF-8 characters may be split between reads). Return a tuple
    (an int, a str); no output is "". Every call runs the child anew (no cache), and `args`
    is not changed. While the child runs, the event loop must stay free for other tasks.
    Return as soon as the child has exited (await the exit; do not poll). If run() is
    cancelled while the child runs, kill the child and wait for it, then let the
    CancelledError through; leave no task of yours running.
    """
    raise NotImplementedError(
        "start the child with asyncio.create_subprocess_exec(*args, stdout=PIPE) and await "
        "proc.communicate()"
    )


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    """Task 2. Run every command at the same time; return their `(return_code, output)` pairs.

    Each command is an `args` list as in `run()`. All the children run at once, so the whole
    call takes as long as the slowest child, not the sum. The results follow the order of
    `commands`, not the order the children finished. No commands give an empty list. The
    result is a new list with one (int, str) tuple per command: a command that appears twice
    runs twice and gives two results. `commands` is not changed. If run_all() is cancelled,
    no child of it may go on running (killed and waited for), none of its tasks either
    (asyncio.gather and TaskGroup cancel theirs for you), and the CancelledError goes through.
    """
    raise NotImplementedError("run every command at once (asyncio.gather over run(args))")


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    """Task 3. Run one program and hand each line of its output to `on_line` as it arrives.

    Call `on_line(text)` once per line the child writes to standard output, in order, as soon
    as that line arrives (while the child may still be running), with the line decoded to
    text and without its trailing newline (keep every other character). Only a newline ends
    a line; an empty line is a line too (`on_line("")`), a repeated line is handed over each
    time, and a last line without a newline counts. A "\r" is part of the line (only the
    "\n" is removed), and a line's UTF-8 characters may arrive split between reads. Call
    on_line from the event loop's thread (not from a worker thread). When the output ends,
    return the child's return code as soon as the child has exited (await it; do not poll).
    `args` is not changed. If stream_lines() is cancelled, kill the child and wait for it,
    then let the CancelledError through; nothing of yours may go on reading or call on_line
    afterwards.
    """
    raise NotImplementedError(
        "read proc.stdout line by line (async for line in proc.stdout), call on_line for each, "
        "then return await proc.wait()"
    )


async def run_with_timeout(args: Sequence[str], timeout: float) -> int:
    """Task 4. Run one program, but give it at most `timeout` seconds.

    If the child exits within `timeout` seconds, return its return code as soon as it does.
    Otherwise kill it at once (SIGKILL, which it cannot ignore; no SIGTERM first), wait until
    it is gone, and return its return code, which is then -9. Either way, no child is left
    running or unreaped (a zombie) when you return. The event loop stays free while you wait.
    The child's output is not needed: let it go where yours goes, or if you pipe it, read it,
    since a child that fills an unread pipe stops until someone reads. A timeout of 0 means
    kill at once; a timeout may also be a day long (86400), and the call still returns as
    soon as the child exits (await it; do not poll). Return an int. Leave nothing running or
    scheduled when you return (no task, no loop.call_later still waiting to kill), and do not
    change `args`. If run_with_timeout() is cancelled, kill the child and wait for it (no
    child left running or unreaped), then let the CancelledError through, leaving no task of
    yours running.
    """
    raise NotImplementedError(
        "await asyncio.wait_for(proc.wait(), timeout); on TimeoutError proc.kill() and "
        "return await proc.wait()"
    )
