"""The instructor's verbs: `aiokata grade` and `aiokata report` (the bundles are in
grading/bundle.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from aiokata.files import write_atomically
from aiokata.terminal import Problem, console, kit_exercises


@click.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--exercise", "-e", "keys", multiple=True, help="grade only this exercise (repeatable)"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "junit", "gradescope", "markdown", "html"]),
    default="table",
    show_default=True,
    help="how to write the grades (html: the class report, one self-contained page)",
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
@click.option(
    "--file-size",
    "file_size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="MiB: the largest file a submission's code may write",
)
@click.option("--sandbox", is_flag=True, help="run each submission under bubblewrap (bwrap)")
@click.option(
    "--results",
    type=click.Path(path_type=Path, file_okay=False),
    help="folder keeping each submission's grade, so a rerun skips what is graded "
    "(default: .aiokata-grades in the kit, wherever you run from)",
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
    file_size: int,
    sandbox: bool,
    results: Path | None,
    force: bool,
    kit: Path | None,
) -> None:
    """Grade SUBMISSION folders with the kit's tests.

    A submission is laid out like exercises/ (03_tasks/tasks.py ...) or is a repo root that
    holds one. Only its exercise files are used: its own tests, conftest.py and pytest
    settings are ignored. A task's points are earned when all its tests pass. Each grade is
    saved in --results (KIT/.aiokata-grades unless given) as soon as it is done; a rerun
    skips submissions already graded with the same files, kit and settings (use --force to
    grade again). Exit code 0 means every submission was graded, whatever the scores.

    \b
    Examples:
      aiokata grade submissions/*                        a table of everyone's scores
      aiokata grade submissions/* -j 2 --format csv --out grades.csv
      aiokata grade alice -e 03 -e 04                    one student, two exercises, in detail
      aiokata grade submissions/* --sandbox --format junit --out grades.xml
      aiokata grade /autograder/submission --format gradescope --out results.json
      aiokata grade submissions/* --format html --out report.html    the class report

    `aiokata report` writes the class report from grades already saved, grading nothing.
    """
    from aiokata.grading import formats
    from aiokata.grading.runner import RESULTS_FOLDER, Grader, Limits, Plan
    from aiokata.grading.sandbox import SandboxUnavailable

    hint = "run `aiokata grade` inside the kit (the folder you cloned, or below) or pass --kit PATH"
    kit, exercises = kit_exercises(kit, keys, hint=hint)
    for folder in submissions:
        if not folder.is_dir():
            raise Problem(f"{folder}: not a folder; a submission is a folder of exercises")
    if fmt == "gradescope" and len(submissions) != 1:
        raise Problem("--format gradescope writes one submission's results.json; give one")
    plan = Plan(
        kit=kit,
        exercises=exercises,
        limits=Limits(timeout=timeout, memory_mb=memory, file_mb=file_size),
        sandboxed=sandbox,
        results_dir=results.resolve() if results is not None else kit / RESULTS_FOLDER,
        force=force,
    )
    saved_in = str(results if results is not None else plan.results_dir)  # as given, or whole
    try:
        grader = Grader(plan)
    except SandboxUnavailable as exc:
        raise Problem(str(exc)) from None
    try:  # found out now, not after an hour of grading that could not be saved
        plan.results_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(plan.results_dir, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise Problem(
            f"cannot save grades in {saved_in} ({exc.strerror or exc}); choose another "
            "folder with --results DIR"
        ) from None
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
            f"stopped; the grades finished so far are saved in {saved_in}: run the same "
            "command again to grade the rest"
        ) from None
    progress_line.print(
        f"grades saved in {escape(saved_in)}: a rerun skips what is graded there "
        "(--force grades again)"
    )
    if out is not None:
        write_atomically(out, formats.render(fmt, grades))
        progress_line.print(f"wrote {escape(str(out))}")
    elif fmt == "table":
        formats.print_table(console, grades, detail=len(grades) == 1)
    else:
        click.echo(formats.render(fmt, grades), nl=False)


@click.command()
@click.argument("grades", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="write the page to this file (default: stdout)"
)
@click.option(
    "--title", default="aiokata class report", show_default=True, help="the page's heading"
)
def report(grades: tuple[Path, ...], out: Path | None, title: str) -> None:
    """Write the class report, one HTML page, from GRADES already made: nothing is graded.

    GRADES are files written by `aiokata grade --format json`, grades saved in its --results
    folder (a file per submission), or such folders (KIT/.aiokata-grades unless --results
    said otherwise). A submission met twice keeps its last grade. The page holds the score
    distribution, each task's pass rate, each task's failures grouped by mistake, timeouts,
    crashes and notes, and a section per submission; it loads nothing from the network.

    \b
    Examples:
      aiokata report .aiokata-grades --out report.html     every grade saved in the kit
      aiokata report grades.json --title "CS 101, week 3" --out week3.html
    """
    from aiokata.grading import report as class_report
    from aiokata.grading import saved

    try:
        graded = saved.load(list(grades))
    except saved.GradesFileError as exc:
        raise Problem(str(exc)) from None
    if not graded:
        raise Problem("no submissions in " + ", ".join(str(g) for g in grades))
    page = class_report.render_html(graded, title)
    if out is None:
        click.echo(page, nl=False)
        return
    try:
        write_atomically(out, page)
    except OSError as exc:
        raise Problem(f"cannot write {out} ({exc.strerror or exc})") from None
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"wrote {escape(str(out))}: the class report of {len(graded)} submissions"
    )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
