"""The learner's command line: `aiokata`, `list`, `check`, `watch`, `hint`, `reset`,
`restore` and `solution`; and the instructor's `grade`."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from aiokata import catalog, progress, state, targets
from aiokata.results import write_atomically

console = Console(highlight=False)


class Problem(click.ClickException):
    """A one-line error for the learner; no traceback."""

    def show(self, file=None) -> None:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]error:[/red] {escape(self.message)}"
        )


def find_kit(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    raise Problem("not inside an aiokata kit: run aiokata from the folder you cloned (or below)")


def no_such_exercise(kit: Path, key: str) -> Problem:
    known = ", ".join(f"{e.number:02d}" for e in catalog.load_catalog(kit))
    return Problem(f"no exercise {key!r}; the exercises are {known}")


def kit_exercises(
    kit: Path | None = None, keys: tuple[str, ...] = ()
) -> tuple[Path, list[catalog.Exercise]]:
    """The kit (given, or around the current folder) and the exercises `keys` name, in number
    order; every exercise when `keys` is empty."""
    kit = (kit or find_kit()).resolve()
    try:
        exercises = list(catalog.load_catalog(kit))
    except catalog.CatalogError as exc:
        raise Problem(f"broken exercise metadata: {exc}") from None
    if keys:
        chosen = set()
        for key in keys:
            found = catalog.find(kit, key)
            if found is None:
                raise no_such_exercise(kit, key)
            chosen.add(found)
        exercises = [e for e in exercises if e in chosen]
    return kit, exercises


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
                f"could not write {targets.display(mine)} ({exc.strerror or exc}); "
                "your file is unchanged"
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


def show_next(standing: progress.Standing | None) -> None:
    if standing is None:
        console.print("[bold green]Every exercise passes. Well done![/bold green]")
        return
    e = standing.exercise
    console.print(f"Next: [bold]{e.number:02d} {escape(e.title)}[/bold] ({standing.label})")
    console.print(f"  {escape(e.concept)}")
    console.print(f"  Read  exercises/{e.name}/README.md")
    console.print(f"  Edit  exercises/{e.name}/{e.module_file}")
    console.print(
        f"  Run   [cyan]pytest exercises/{e.number:02d}[/cyan]   "
        f"or   [cyan]aiokata watch {e.number:02d}[/cyan]"
    )


@click.group(invoke_without_command=True)
@click.version_option(package_name="aiokata")
@click.pass_context
def main(ctx: click.Context) -> None:
    """aiokata: learn asyncio by making failing tests pass.

    With no command, shows where you stand and what to do next.

    \b
    Examples:
      aiokata                 your progress and the next exercise
      aiokata watch           rerun the next exercise's tests on every save
      aiokata hint 03         one more hint for exercise 03
      aiokata grade subs/*    (instructors) score every submission in subs/
    """
    if ctx.invoked_subcommand is None:
        status()


def status() -> None:
    session = Session()
    standings = session.standings()
    done = sum(s.done for s in standings)
    width = 40
    filled = round(width * done / len(standings)) if standings else 0
    bar = f"[green]{'━' * filled}[/green][dim]{'━' * (width - filled)}[/dim]"
    console.print(f"[bold]aiokata[/bold]  {bar}  {done}/{len(standings)} exercises done")
    show_next(session.next_unsolved(standings))


@main.command("list")
def list_command() -> None:
    """Every exercise with its status, from its latest test results.

    \b
    Example:
      aiokata list
    """
    session = Session()
    table = Table(box=None, pad_edge=False)
    for column in ("#", "exercise", "concept", "status"):
        table.add_column(column)
    for s in session.standings():
        colour = "green" if s.done else "yellow" if s.started else "dim"
        table.add_row(
            f"{s.exercise.number:02d}",
            escape(s.exercise.title),
            escape(s.exercise.concept),
            f"[{colour}]{s.label}[/{colour}]",
        )
    console.print(table)


def print_check(standing: progress.Standing) -> None:
    e, record = standing.exercise, standing.record
    verdict = "[green]passes[/green]" if standing.done else "[red]not yet[/red]"
    console.print(f"[bold]{e.number:02d} {escape(e.title)}[/bold]: {verdict}")
    passed = set(record.tasks_passed) if record else set()
    for task in e.tasks:
        mark = "[green]✓[/green]" if task.id in passed else "[red]✗[/red]"
        console.print(f"  {mark} task {task.id}: {escape(task.title)}")
    if record is None:
        console.print(f"  untouched: start with exercises/{e.name}/README.md")
    elif record.first_failure:
        test = record.first_failure_test.rsplit("::", 1)[-1]
        lines = record.first_failure.strip().splitlines()
        shown = "\n    ".join(escape(line) for line in lines[:12])
        more = (
            f"\n    ... ({len(lines) - 12} more lines: pytest exercises/{e.number:02d})"
            if len(lines) > 12
            else ""
        )
        console.print(f"  first failure, {escape(test)}:\n    {shown}{more}")


@main.command()
@click.argument("exercise", required=False)
def check(exercise: str | None) -> None:
    """Run one exercise's tests (or all) and show the result task by task.

    Exits with 0 only when everything checked passes.

    \b
    Examples:
      aiokata check 03
      aiokata check
    """
    session = Session()
    chosen = [session.exercise(exercise)] if exercise else session.exercises
    standings = session.standings(chosen, force=True)
    for standing in standings:
        print_check(standing)
    if not all(s.done for s in standings):
        sys.exit(1)


@main.command()
@click.argument("exercise")
@click.option("--all", "show_all", is_flag=True, help="show every hint revealed so far")
def hint(exercise: str, show_all: bool) -> None:
    """Reveal the next hint for EXERCISE, a nudge first, nearly the answer last.

    \b
    Examples:
      aiokata hint 03         the next hint
      aiokata hint 03 --all   every hint shown so far
    """
    session = Session()
    e = session.exercise(exercise)
    shown = session.state.hints_shown.get(e.name, 0)
    if not show_all:
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
    first = 0 if show_all else shown - 1
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


@main.command()
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


@main.command()
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


@main.command()
@click.argument("exercise")
@click.option("--force", is_flag=True, help="show it even though your exercise does not pass")
def solution(exercise: str, force: bool) -> None:
    """Show EXERCISE's reference solution, once your own passes.

    \b
    Examples:
      aiokata solution 03
      aiokata solution 03 --force
    """
    session = Session()
    e = session.exercise(exercise)
    file = progress.solution_file(session.kit, e)
    if not file.is_file():
        raise Problem(f"no reference solution for {e.number:02d} in solutions/")
    if not force:
        (standing,) = session.standings([e])
        if not standing.done:
            raise Problem(
                f"exercise {e.number:02d} does not pass yet ({standing.label}); seeing the "
                "answer first spoils the kata. Try `aiokata hint "
                f"{e.number:02d}`, or add --force if you really want it"
            )
    console.print(f"[bold]solutions/{e.name}/{e.module_file}[/bold]")
    console.print(Syntax(file.read_text(encoding="utf-8"), "python", line_numbers=True))


@main.command()
@click.argument("exercise", required=False)
def watch(exercise: str | None) -> None:
    """Rerun an exercise's tests every time you save its file.

    Starts with EXERCISE, or the next one that does not pass; moves on to the next exercise
    when it passes. Keys: h hint, n next exercise, l list, q quit (without a terminal that
    reads single keys, type the letter and press Enter).

    \b
    Examples:
      aiokata watch
      aiokata watch 04
    """
    from aiokata import watching

    session = Session()
    watching.run(session, session.exercise(exercise) if exercise else None)


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--exercise", "-e", "keys", multiple=True, help="grade only this exercise (repeatable)"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "junit", "gradescope"]),
    default="table",
    show_default=True,
    help="how to write the grades",
)
@click.option("--out", type=click.Path(path_type=Path), help="write the grades to this file")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, help="grade N at once")
@click.option(
    "--timeout",
    type=click.FloatRange(min=5),
    default=600,
    show_default=True,
    help="wall-clock seconds for one submission, all its exercises",
)
@click.option(
    "--memory",
    type=click.IntRange(min=256),
    default=2048,
    show_default=True,
    help="MiB of address space per process of a submission",
)
@click.option("--sandbox", is_flag=True, help="run each submission under bubblewrap (bwrap)")
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    default=".aiokata-grades",
    show_default=True,
    help="folder keeping each submission's grade, so a rerun skips what is graded",
)
@click.option("--force", is_flag=True, help="grade again even what --results already holds")
@click.option(
    "--kit",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="the kit whose tests grade (default: the kit around the current folder)",
)
def grade(
    submissions: tuple[Path, ...],
    keys: tuple[str, ...],
    fmt: str,
    out: Path | None,
    jobs: int,
    timeout: float,
    memory: int,
    sandbox: bool,
    results: Path,
    force: bool,
    kit: Path | None,
) -> None:
    """Grade SUBMISSION folders with the kit's tests.

    A submission is laid out like exercises/ (03_tasks/tasks.py ...) or is a repo root that
    holds one. Only its exercise files are used: its own tests, conftest.py and pytest
    settings are ignored. A task's points are earned when all its tests pass. Each grade is
    saved in --results as soon as it is done; a rerun skips submissions already graded with
    the same files, kit and settings (use --force to grade again). Exit code 0 means every
    submission was graded, whatever the scores.

    \b
    Examples:
      aiokata grade submissions/*                        a table of everyone's scores
      aiokata grade submissions/* -j 2 --format csv --out grades.csv
      aiokata grade alice -e 03 -e 04                    one student, two exercises, in detail
      aiokata grade submissions/* --sandbox --format junit --out grades.xml
      aiokata grade /autograder/submission --format gradescope --out results.json
    """
    from aiokata.grading import formats
    from aiokata.grading.runner import Grader, Limits, Plan
    from aiokata.grading.sandbox import SandboxUnavailable

    kit, exercises = kit_exercises(kit, keys)
    for folder in submissions:
        if not folder.is_dir():
            raise Problem(f"{folder}: not a folder; a submission is a folder of exercises")
    if fmt == "gradescope" and len(submissions) != 1:
        raise Problem("--format gradescope writes one submission's results.json; give one")
    plan = Plan(
        kit=kit,
        exercises=exercises,
        limits=Limits(timeout=timeout, memory_mb=memory),
        sandboxed=sandbox,
        results_dir=results.resolve(),
        force=force,
    )
    try:
        grader = Grader(plan)
    except SandboxUnavailable as exc:
        raise Problem(str(exc)) from None
    progress_line = Console(stderr=True, highlight=False, soft_wrap=True)
    if not sandbox and (kit / "solutions").is_dir():
        progress_line.print(
            "[yellow]note:[/yellow] without --sandbox, code in a submission can read this kit's "
            "solutions/ by absolute path (it cannot import them); docs/grading.md explains."
        )
    if not sandbox and hasattr(os, "geteuid") and os.geteuid() == 0:
        progress_line.print(
            "[yellow]note:[/yellow] grading as root without --sandbox: code in a submission "
            "can reach the grader's processes and forge its own results (docs/grading.md, "
            "threat model). Use --sandbox, or grade as an unprivileged user."
        )

    def done(result, reused: bool) -> None:
        how = "saved earlier, not regraded" if reused else f"{result.duration:.1f} s"
        progress_line.print(
            f"graded {escape(result.name)}: {result.score}/{result.max_score} ({how})"
        )

    signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job cleans up like Ctrl-C
    try:
        grades = grader.grade_all([Path(s) for s in submissions], jobs=jobs, on_done=done)
    except KeyboardInterrupt:
        raise Problem(
            f"stopped; the grades finished so far are saved in {results}: run the same "
            "command again to grade the rest"
        ) from None
    if out is not None:
        write_atomically(out, formats.render(fmt, grades))
        progress_line.print(f"wrote {escape(str(out))}")
    elif fmt == "table":
        formats.print_table(console, grades, detail=len(grades) == 1)
    else:
        click.echo(formats.render(fmt, grades), nl=False)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _register_instructor_commands() -> None:
    from aiokata.grading.bundle import bundle

    main.add_command(bundle)


_register_instructor_commands()
