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
    (64 KiB), even a single line of it. While the child runs, the event loop must stay free
    for other tasks.
    """
    raise NotImplementedError(
        "start the child with asyncio.create_subprocess_exec(*args, stdout=PIPE) and await "
        "proc.communicate()"
    )


async def run_all(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    """Task 2. Run every command at the same time; return their `(return_code, output)` pairs.

    Each command is an `args` list as in `run()`. All the children run at once, so the whole
    call takes as long as the slowest child, not the sum. The results follow the order of
    `commands`, not the order the children finished. No commands give an empty list.
    """
    raise NotImplementedError("run every command at once (asyncio.gather over run(args))")


async def stream_lines(args: Sequence[str], on_line: Callable[[str], None]) -> int:
    """Task 3. Run one program and hand each line of its output to `on_line` as it arrives.

    Call `on_line(text)` once per line the child writes to standard output, in order, as soon
    as that line arrives (while the child may still be running), with the line decoded to
    text and without its trailing newline (keep every other character). Only a newline ends
    a line; an empty line is a line too (`on_line("")`), and a last line without a newline
    counts. When the output ends, return the child's return code.
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
    since a child that fills an unread pipe stops until someone reads.
    """
    raise NotImplementedError(
        "await asyncio.wait_for(proc.wait(), timeout); on TimeoutError proc.kill() and "
        "return await proc.wait()"
    )
