"""`aiokata watch`: rerun the current exercise on every save, with single-key commands."""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Iterator

import click
import watchfiles

from aiokata import catalog, progress
from aiokata.learner import Session, hint, print_check, print_list, show_next
from aiokata.terminal import console

KEYS = "h hint · n next exercise · l list · q quit"
LIST_KEYS = "type an exercise's number to watch it · any other key: back"


class Keys:
    """Single keys from a terminal in cbreak mode, or whole lines when there is no terminal
    (piped input, some IDE consoles): a line is one key, or a number typed in the list."""

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
                        self.pressed.put(line.strip().lower())

    def poll(self) -> str | None:
        try:
            return self.pressed.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self._restore is not None:
            self._restore()


def _stamp(path) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


def _changes(folder, stop: threading.Event) -> Iterator[set]:
    # Short debounce: the result should follow a save within about a second.
    yield from watchfiles.watch(
        folder, stop_event=stop, yield_on_timeout=True, rust_timeout=100, debounce=50, step=20
    )


class Watch:
    """What the watch screen shows: one exercise (rerun on every save of its file), or the
    list of exercises to pick another from."""

    def __init__(self, session, keys: Keys, current: catalog.Exercise) -> None:
        self.session, self.keys, self.current = session, keys, current
        self.listing = False
        self.typed = ""  # digits typed so far in the list, single-key mode

    def keys_line(self, text: str) -> str:
        return f"[dim]{text if self.keys.single else text + ' (then Enter)'}[/dim]"

    def clear(self) -> None:
        if console.is_terminal:
            console.clear()

    def show(self, force: bool = False) -> None:
        """Draw the exercise screen; `force` reruns its tests."""
        e = self.current
        (standing,) = self.session.standings([e], force=force)
        self.listing = False
        self.clear()
        console.print(
            f"[bold]aiokata watch[/bold]: exercises/{e.name}/{e.module_file} "
            "(save it to rerun the tests)"
        )
        print_check(standing)
        if standing.done:
            following = self.following()
            console.print()
            console.print(f"[bold green]{e.number:02d} passes![/bold green]")
            console.print(
                f"  Compare yours with the reference: [cyan]aiokata solution {e.number:02d}"
                f"[/cyan] (or [cyan]--diff[/cyan])"
            )
            if following is None:
                console.print("  [green]Every exercise passes. Well done![/green]")
            else:
                console.print(
                    f"  Press n for {following.number:02d} {following.title}, or keep "
                    "editing: every save reruns the tests."
                )
        console.print(self.keys_line(KEYS))

    def show_list(self) -> None:
        self.listing, self.typed = True, ""
        self.clear()
        console.print("[bold]aiokata watch[/bold]: every exercise (> is the one watched)")
        print_list(self.session, marked=self.current)
        console.print(self.keys_line(LIST_KEYS))

    def following(self) -> catalog.Exercise | None:
        """The next exercise that does not pass: after this one, else from the start."""
        others = [e for e in self.session.exercises if e != self.current]
        later = [e for e in others if e.number > self.current.number]
        order = later + [e for e in others if e.number < self.current.number]
        found = self.session.next_unsolved(self.session.standings(order)) if order else None
        return found.exercise if found else None

    def pick(self, number: str) -> catalog.Exercise | None:
        found = catalog.find(self.session.kit, number)
        if found is None:
            console.print(f"No exercise {number}; type one of the numbers in the list.")
        return found

    def press(self, key: str) -> catalog.Exercise | str | None:
        """What a key asks for: an exercise to watch, "quit", "redraw", or nothing."""
        if self.listing:
            if key.isdigit():
                self.typed += key
                if self.keys.single and len(self.typed) < 2:
                    return None
                chosen, self.typed = self.pick(self.typed), ""
                return chosen
            return "quit" if key == "q" else "redraw"
        match key[0]:
            case "q":
                return "quit"
            case "h":
                hint.callback(str(self.current.number), False, False)
            case "l":
                self.show_list()
            case "n":
                following = self.following()
                if following is not None:
                    return following
                console.print("Every other exercise passes already.")
        return None


def run(session, start: catalog.Exercise | None) -> None:
    current = start or session.current()
    if current is None:
        upcoming = session.next_unsolved(session.standings())
        current = upcoming.exercise if upcoming else None
    if current is None:
        show_next(None)
        return
    keys = Keys()
    keys.start()
    stop = threading.Event()
    watch = Watch(session, keys, current)
    try:
        while True:
            session.choose(watch.current)
            target = progress.learner_file(watch.current)
            seen = _stamp(target)
            watch.show(force=True)
            # Compared by name: the file may be deleted, or replaced by an editor's save.
            target_name = os.path.realpath(target)
            for changes in _changes(watch.current.folder, stop):
                if _stamp(target) != seen:
                    break  # saved while the tests ran, before the watcher started
                wanted = None
                while wanted is None and (key := keys.poll()) is not None:
                    wanted = watch.press(key)
                    if wanted == "redraw":
                        watch.show()
                        wanted = None
                if wanted == "quit":
                    return
                if isinstance(wanted, catalog.Exercise):
                    watch.current = wanted
                    break
                if target_name in {os.path.realpath(path) for _, path in changes}:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        keys.stop()


@click.command()
@click.argument("exercise", required=False)
def watch(exercise: str | None) -> None:
    """Rerun an exercise's tests every time you save its file.

    Starts with EXERCISE, else the exercise you were on, else the first that does not pass.
    When it passes, it says so and stays: n moves on. Keys: h hint, n next exercise, l list
    (then type an exercise's number to watch that one), q quit. Without a terminal that
    reads single keys, type the letter (or the number) and press Enter.

    \b
    Examples:
      aiokata watch
      aiokata watch 04
    """
    session = Session()
    run(session, session.exercise(exercise) if exercise else None)
