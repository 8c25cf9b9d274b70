"""`aiokata watch`: rerun the current exercise on every save, with single-key commands."""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Iterator

import watchfiles

from aiokata import catalog, progress

HELP = "[dim]h hint · n next exercise · l list · q quit[/dim]"


class Keys:
    """Single keys from a terminal in cbreak mode, or whole lines when there is no terminal
    (piped input, some IDE consoles): the first letter of each line counts."""

    def __init__(self) -> None:
        self.pressed: queue.Queue[str] = queue.Queue()
        self.single = False
        self._restore = None

    def start(self) -> None:
        stream = sys.stdin
        if stream is None or stream.closed:
            return
        try:
            import termios
            import tty

            if stream.isatty():
                fd = stream.fileno()
                saved = termios.tcgetattr(fd)
                tty.setcbreak(fd)
                self._restore = lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)
                self.single = True
        except (ImportError, OSError, ValueError):
            self.single = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                if self.single:
                    char = os.read(sys.stdin.fileno(), 1).decode(errors="ignore")
                    if not char:
                        return
                    self.pressed.put(char.lower())
                else:
                    line = sys.stdin.readline()
                    if not line:
                        return  # no input at all: keep watching, Ctrl-C stops
                    if line.strip():
                        self.pressed.put(line.strip()[0].lower())

    def poll(self) -> str | None:
        try:
            return self.pressed.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self._restore is not None:
            self._restore()


def _changes(folder, stop: threading.Event) -> Iterator[set]:
    # Short debounce: the result should follow a save within about a second.
    yield from watchfiles.watch(
        folder, stop_event=stop, yield_on_timeout=True, rust_timeout=100, debounce=50, step=20
    )


def run(session, start: catalog.Exercise | None) -> None:
    from aiokata.cli import console, list_command, print_check, show_next

    standings = session.standings()
    current = start or (
        next_standing.exercise if (next_standing := session.next_unsolved(standings)) else None
    )
    if current is None:
        show_next(None)
        return
    keys = Keys()
    keys.start()
    stop = threading.Event()

    def rerun(exercise: catalog.Exercise) -> bool:
        if console.is_terminal:
            console.clear()
        console.print(
            f"[bold]aiokata watch[/bold]: exercises/{exercise.name}/"
            f"{exercise.module_file} (save it to rerun the tests)"
        )
        (standing,) = session.standings([exercise], force=True)
        print_check(standing)
        console.print(HELP if keys.single else HELP.replace("·", "(+Enter) ·", 1))
        return standing.done

    def following(exercise: catalog.Exercise) -> catalog.Exercise | None:
        later = [e for e in session.exercises if e.number > exercise.number]
        standings = session.standings(later) if later else []
        found = session.next_unsolved(standings)
        return found.exercise if found else None

    try:
        while current is not None:
            switch_to: catalog.Exercise | None = None
            if rerun(current):
                switch_to = following(current)
                console.print(f"[bold green]{current.number:02d} passes![/bold green]")
                if switch_to is None:
                    show_next(None)
                    return
                console.print(f"Moving on to {switch_to.number:02d} {switch_to.title}.")
                current = switch_to
                continue
            target = progress.learner_file(current)
            for changes in _changes(current.folder, stop):
                key = keys.poll()
                if key == "q":
                    return
                if key == "h":
                    from aiokata.cli import hint

                    hint.callback(str(current.number), False)
                elif key == "l":
                    list_command.callback()
                elif key == "n":
                    switch_to = following(current)
                    if switch_to is None:
                        console.print("There is no later exercise left to do.")
                    else:
                        break
                if any(
                    os.path.samefile(path, target) for _, path in changes if os.path.exists(path)
                ):
                    break
            current = switch_to or current
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        keys.stop()
