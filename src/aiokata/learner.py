"""The learner's verbs: where you stand (`aiokata`), `list`, `check`, `hint`, `reset`,
`restore` and `solution`, and the printing that `watch` shares with them."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text

from aiokata import catalog, progress, state
from aiokata.files import display, write_atomically
from aiokata.terminal import Problem, console, kit_exercises, no_such_exercise, say


class Session:
    """The kit, its catalogue and the learner's saved state, for one command."""

    def __init__(self) -> None:
        self.kit, self.exercises = kit_exercises()
        self.state, warning = state.load(self.kit)
        if warning:
            console.print(f"[yellow]note:[/yellow] {escape(warning)}")

    def exercise(self, key: str) -> catalog.Exercise:
        found = catalog.find(self.kit, key)
        if found is None:
            raise no_such_exercise(self.kit, key)
        return found

    def standings(self, exercises=None, force: bool = False) -> list[progress.Standing]:
        try:
            result = progress.refresh(self.kit, exercises or self.exercises, self.state, force)
        except progress.ProgressError as exc:
            raise Problem(str(exc)) from None
        self.save()
        return result

    def replace_file(self, exercise: catalog.Exercise, text: str) -> None:
        """Write the learner's file for `exercise`; its cached result no longer holds."""
        mine = progress.learner_file(exercise)
        try:
            write_atomically(mine, text)
        except OSError as exc:
            raise Problem(
                f"could not write {display(mine)} ({exc.strerror or exc}); your file is unchanged"
            ) from None
        self.state.results.pop(exercise.name, None)
        self.save()

    def save(self) -> None:
        try:
            state.save(self.kit, self.state)
        except OSError as exc:
            console.print(f"[yellow]note:[/yellow] could not save progress: {escape(str(exc))}")

    def next_unsolved(self, standings: list[progress.Standing]) -> progress.Standing | None:
        return next((s for s in standings if not s.done), None)

    def current(self) -> catalog.Exercise | None:
        """The exercise the learner chose last, while it is still in the kit."""
        name = self.state.current
        return next((e for e in self.exercises if e.name == name), None) if name else None

    def choose(self, exercise: catalog.Exercise) -> None:
        if self.state.current != exercise.name:
            self.state.current = exercise.name
            self.save()


def show_next(standing: progress.Standing | None, heading: str = "Next") -> None:
    if standing is None:
        console.print("[bold green]Every exercise passes. Well done![/bold green]")
        return
    e = standing.exercise
    console.print(f"{heading}: [bold]{e.number:02d} {escape(e.title)}[/bold] ({standing.label})")
    say(e.concept, 2)
    say(f"Read  exercises/{e.name}/README.md", 2)
    say(f"Edit  exercises/{e.name}/{e.module_file}", 2)
    console.print(
        f"  Run   [cyan]pytest exercises/{e.number:02d}[/cyan]   "
        f"or   [cyan]aiokata watch {e.number:02d}[/cyan]"
    )


def status() -> None:
    session = Session()
    standings = session.standings()
    done = sum(s.done for s in standings)
    width = 40
    filled = round(width * done / len(standings)) if standings else 0
    bar = f"[green]{'━' * filled}[/green][dim]{'━' * (width - filled)}[/dim]"
    console.print(f"[bold]aiokata[/bold]  {bar}  {done}/{len(standings)} exercises pass")
    upcoming = session.next_unsolved(standings)
    chosen = session.current()
    if chosen is not None:
        show_next(next(s for s in standings if s.exercise == chosen), "Current")
        if upcoming is not None and upcoming.exercise != chosen:
            e = upcoming.exercise
            console.print(
                f"First one not passing yet: [bold]{e.number:02d} {escape(e.title)}[/bold] "
                f"([cyan]aiokata watch {e.number:02d}[/cyan])"
            )
        return
    show_next(upcoming)


@click.command("list")
def list_command() -> None:
    """Every exercise with its status, from its latest test results.

    \b
    Example:
      aiokata list
    """
    print_list(Session())


def short_label(standing: progress.Standing) -> str:
    if standing.done:
        return "passes"
    if standing.missing:
        return "file missing"
    if not standing.started:
        return "not started"
    passed = len(standing.record.tasks_passed) if standing.record else 0
    return f"{passed} of {len(standing.exercise.tasks)} tasks"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def print_list(session: Session, marked: catalog.Exercise | None = None) -> None:
    """One line per exercise. On a terminal, long titles are cut short (with an ellipsis) and
    the concept shows only where there is room; in a pipe every line is whole."""
    standings = session.standings()
    labels = [short_label(s) for s in standings]
    status_width = max(map(len, labels), default=0)
    title_width = max((len(s.exercise.title) for s in standings), default=0)
    fixed = 3 + 2 + 2 + status_width  # ">NN", the gaps, the status
    concept_width = None
    if console.is_terminal:
        room = console.width - 1 - fixed
        title_width = min(title_width, max(room, 10))
        spare = room - title_width - 2
        concept_width = spare if spare >= 30 else 0
    for s, label in zip(standings, labels, strict=True):
        colour = "green" if s.done else "red" if s.missing else "yellow" if s.started else "dim"
        line = Text(f"{'>' if s.exercise == marked else ' '}{s.exercise.number:02d}  ")
        line.append(_cut(s.exercise.title, title_width).ljust(title_width) + "  ")
        line.append(label.ljust(status_width), style=colour)
        if concept_width is None:
            line.append(f"  {s.exercise.concept}", style="dim")
        elif concept_width:
            line.append(f"  {_cut(s.exercise.concept, concept_width)}", style="dim")
        if console.is_terminal:
            console.print(line, no_wrap=True, overflow="ellipsis")
        else:
            console.print(line)
    for s in standings:
        if s.missing:
            e = s.exercise
            say(
                f"exercises/{e.name}/{e.module_file} is missing: "
                f"`aiokata reset {e.number:02d}` puts the stub back."
            )


def print_check(standing: progress.Standing) -> None:
    e, record = standing.exercise, standing.record
    verdict = "[green]passes[/green]" if standing.done else "[red]not yet[/red]"
    console.print(f"[bold]{e.number:02d} {escape(e.title)}[/bold] — {verdict}")
    passed = set(record.tasks_passed) if record else set()
    for task in e.tasks:
        mark = "[green]✓[/green]" if task.id in passed else "[red]✗[/red]"
        say(f"{mark} task {task.id}: {escape(task.title)}", 2, markup=True)
    if record is None:
        say(f"untouched: start with exercises/{e.name}/README.md", 2)
    elif record.first_failure:
        test = record.first_failure_test.rsplit("::", 1)[-1]
        lines = record.first_failure.strip().splitlines()
        say(f"first failure, {test}:", 2)
        for line in lines[:12]:
            say(line, 4)
        if len(lines) > 12:
            say(f"... ({len(lines) - 12} more lines: pytest exercises/{e.number:02d})", 4)


@click.command()
@click.argument("exercises", nargs=-1)
def check(exercises: tuple[str, ...]) -> None:
    """Run some exercises' tests (or all) and show the result task by task.

    Exits with 0 only when everything checked passes.

    \b
    Examples:
      aiokata check 03
      aiokata check 01 02 exercises/03
      aiokata check
    """
    session = Session()
    picked = {session.exercise(key) for key in exercises}
    chosen = [e for e in session.exercises if e in picked] if exercises else session.exercises
    standings = session.standings(chosen, force=True)
    for standing in standings:
        print_check(standing)
    if not all(s.done for s in standings):
        sys.exit(1)


@click.command()
@click.argument("exercise")
@click.option("--all", "show_all", is_flag=True, help="reveal and show every hint at once")
@click.option("--again", is_flag=True, help="show the hints revealed so far, no new one")
def hint(exercise: str, show_all: bool, again: bool) -> None:
    """Reveal the next hint for EXERCISE, a nudge first, nearly the answer last.

    \b
    Examples:
      aiokata hint 03           the next hint
      aiokata hint 03 --again   the hints revealed so far
      aiokata hint 03 --all     every hint, the last ones nearly the answer
    """
    session = Session()
    e = session.exercise(exercise)
    shown = session.state.hints_shown.get(e.name, 0)
    if show_all:
        shown = len(e.hints)
        session.state.hints_shown[e.name] = shown
        session.save()
    elif not again:
        if shown >= len(e.hints):
            console.print(
                f"That was the last hint for {e.number:02d}. Once it passes, "
                f"`aiokata solution {e.number:02d}` shows the reference solution."
            )
        shown = min(shown + 1, len(e.hints))
        session.state.hints_shown[e.name] = shown
        session.save()
    if shown == 0:
        console.print(f"No hints shown yet for {e.number:02d}: `aiokata hint {e.number:02d}`.")
    first = 0 if show_all or again else shown - 1
    for index in range(first, shown):
        console.print(
            f"[bold]Hint {index + 1}/{len(e.hints)}[/bold] ({e.number:02d}): "
            f"{escape(e.hints[index])}"
        )


def _backup(kit: Path, exercise: catalog.Exercise) -> Path:
    try:
        return progress.backup(kit, exercise)
    except progress.BackupError as exc:
        raise Problem(str(exc)) from None


@click.command()
@click.argument("exercise")
@click.option("--yes", is_flag=True, help="do not ask before replacing your file")
def reset(exercise: str, yes: bool) -> None:
    """Put EXERCISE's untouched stub back, after saving your file as a backup.

    `aiokata restore EXERCISE` brings the backup back.

    \b
    Example:
      aiokata reset 03 --yes
    """
    session = Session()
    e = session.exercise(exercise)
    mine = progress.learner_file(e)
    pristine = progress.pristine_stub(e)
    if not pristine.is_file():
        raise Problem(f"the kit has no untouched copy of {e.module_file} to reset to")
    if progress.untouched(e):
        console.print(f"exercises/{e.name}/{e.module_file} is already the untouched stub.")
        return
    if not mine.exists() and not mine.is_symlink():
        session.replace_file(e, pristine.read_text(encoding="utf-8"))
        console.print(f"exercises/{e.name}/{e.module_file} was missing; the stub is back.")
        if progress.backups(session.kit, e):
            console.print(f"`aiokata restore {e.number:02d}` brings back your latest backup.")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise Problem("reset replaces your file: add --yes to confirm")
        click.confirm(
            f"Replace exercises/{e.name}/{e.module_file} with the untouched stub "
            "(your version is kept as a backup)?",
            abort=True,
        )
    saved = _backup(session.kit, e) if mine.exists() else None
    session.replace_file(e, pristine.read_text(encoding="utf-8"))
    if saved:
        console.print(f"Saved your version as {saved.relative_to(session.kit)}")
    console.print(
        f"exercises/{e.name}/{e.module_file} is the untouched stub again. "
        f"`aiokata restore {e.number:02d}` undoes this."
    )


@click.command()
@click.argument("exercise")
@click.option("--list", "list_only", is_flag=True, help="list the backups instead")
def restore(exercise: str, list_only: bool) -> None:
    """Bring back your latest backup of EXERCISE (made by `aiokata reset`).

    Your current file is backed up first, so nothing is lost.

    \b
    Examples:
      aiokata restore 03
      aiokata restore 03 --list
    """
    session = Session()
    e = session.exercise(exercise)
    saved = progress.backups(session.kit, e)
    if not saved:
        raise Problem(f"no backups of exercise {e.number:02d} yet")
    if list_only:
        for path in saved:
            console.print(str(path.relative_to(session.kit)))
        return
    latest, skipped = progress.usable_backup(session.kit, e)
    for path in skipped:
        console.print(f"Skipped {path.relative_to(session.kit)}: it is empty or unreadable.")
    if latest is None:
        raise Problem(f"no usable backup of exercise {e.number:02d}: every one is empty")
    text = latest.read_text(encoding="utf-8", errors="surrogateescape")
    mine = progress.learner_file(e)
    keep_current = mine.exists() and not progress.untouched(e)
    current = _backup(session.kit, e) if keep_current else None
    session.replace_file(e, text)
    console.print(f"Restored exercises/{e.name}/{e.module_file} from {latest.name}.")
    if current:
        console.print(f"The file it replaced is kept as {current.relative_to(session.kit)}.")


@click.command()
@click.argument("exercise")
@click.option("--force", is_flag=True, help="show it even though your exercise does not pass")
@click.option("--diff", "as_diff", is_flag=True, help="show how your file differs from it")
def solution(exercise: str, force: bool, as_diff: bool) -> None:
    """Show EXERCISE's reference solution, once your own passes (or once it has passed).

    On a terminal the code is highlighted, long lines wrapped; in a pipe or a file it is
    the plain source, so `aiokata solution 03 > theirs.py` is Python.

    \b
    Examples:
      aiokata solution 03
      aiokata solution 03 --diff      your file against the reference, as a unified diff
      aiokata solution 03 > theirs.py
      aiokata solution 03 --force
    """
    session = Session()
    e = session.exercise(exercise)
    file = progress.solution_file(session.kit, e)
    if not file.is_file():
        raise Problem(f"no reference solution for {e.number:02d} in solutions/")
    if not force and e.name not in session.state.solved:
        (standing,) = session.standings([e])
        if not standing.done:
            raise Problem(
                f"exercise {e.number:02d} does not pass yet ({standing.label}); seeing the "
                "answer first spoils the kata. Try `aiokata hint "
                f"{e.number:02d}`, or add --force if you really want it"
            )
    theirs = file.read_text(encoding="utf-8")
    shown = f"solutions/{e.name}/{e.module_file}"
    if as_diff:
        mine_path = progress.learner_file(e)
        try:
            mine = mine_path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise Problem(f"cannot read exercises/{e.name}/{e.module_file}: {exc}") from None
        lines = list(
            difflib.unified_diff(
                mine.splitlines(keepends=True),
                theirs.splitlines(keepends=True),
                f"exercises/{e.name}/{e.module_file} (yours)",
                f"{shown} (reference)",
            )
        )
        if not lines:
            console.print("Your file is the same as the reference solution.")
        elif console.is_terminal:
            console.print(Syntax("".join(lines), "diff", word_wrap=True))
        else:
            sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        return
    if not console.is_terminal:
        sys.stdout.write(theirs)
        return
    console.print(f"[bold]{shown}[/bold]")
    console.print(Syntax(theirs, "python", line_numbers=True, word_wrap=True))
