"""The author's verbs: `aiokata new` lays out an exercise, `aiokata prove` runs its proofs."""

from __future__ import annotations

import re
import string
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from aiokata import catalog, proofs
from aiokata.terminal import Problem, find_kit, say

TEMPLATES = Path(__file__).resolve().parent / "templates" / "exercise"
# The marker every template file carries where the author has writing to do; the kit's own
# tests (tests/test_authoring.py) fail while any exercise still holds one.
PLACEHOLDER = "FILL IN"
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")

console = Console(highlight=False)


class AuthoringError(click.ClickException):
    def show(self, file=None) -> None:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]error:[/red] {escape(self.message)}"
        )


def _kit(kit: Path | None) -> Path:
    try:
        return (kit or find_kit()).resolve()
    except Problem as exc:
        raise AuthoringError(exc.message) from None


def layout(kit: Path, number: int, slug: str, title: str) -> list[Path]:
    """Write a new exercise's files from the templates; the paths written, in order."""
    name = f"{number:02d}_{slug}"
    values = {"number": str(number), "NN": f"{number:02d}", "slug": slug, "title": title}
    values["name"] = name

    def fill(template: str) -> str:
        return string.Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(
            values
        )

    stub = fill("stub.py")
    files = {
        kit / "exercises" / name / catalog.METADATA: fill("exercise.toml"),
        kit / "exercises" / name / "README.md": fill("README.md"),
        kit / "exercises" / name / f"{slug}.py": stub,
        kit / "exercises" / name / f"test_{slug}.py": fill("test.py"),
        kit / "solutions" / name / f"{slug}.py": fill("solution.py"),
        kit / "src" / "aiokata" / "stubs" / name / f"{slug}.py": stub,
        kit / "tests" / "proofs" / name / "proofs.toml": fill("proofs.toml"),
    }
    for proof in sorted((TEMPLATES / "proofs").glob("*.py")):
        files[kit / "tests" / "proofs" / name / proof.name] = fill(f"proofs/{proof.name}")
    taken = [path for path in files if path.exists()]
    if taken:
        raise AuthoringError(f"{taken[0].relative_to(kit)} exists already; nothing was written")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


@click.command("new")
@click.argument("number", type=click.IntRange(1, 99))
@click.argument("slug")
@click.option("--title", help="the exercise's title (default: the slug, capitalised)")
@click.option(
    "--kit",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="the kit to add it to (default: the kit around the current folder)",
)
def new(number: int, slug: str, title: str | None, kit: Path | None) -> None:
    """(authors) Lay out exercise NUMBER_SLUG: lesson, stub, tests, metadata, solution, the
    package's copy of the stub, and a proof catalogue.

    Every file is a small working example marked FILL IN where the writing is yours; the
    kit's own tests fail until no FILL IN is left. `aiokata prove NUMBER` checks the proofs.

    \b
    Example:
      aiokata new 11 task_groups --title "Task groups"
    """
    root = _kit(kit)
    if not SLUG.match(slug):
        raise AuthoringError(
            f"slug {slug!r}: lower-case letters, digits and _, starting with a letter"
        )
    try:
        existing = catalog.load_catalog(root)
    except catalog.CatalogError as exc:
        raise AuthoringError(f"broken exercise metadata: {exc}") from None
    clash = next((e for e in existing if e.number == number), None)
    if clash is not None:
        raise AuthoringError(f"exercise {number:02d} exists already: {clash.name}")
    if '"' in (title or "") or "\\" in (title or ""):
        raise AuthoringError("the title may not hold quotes or backslashes")
    written = layout(root, number, slug, title or slug.replace("_", " ").capitalize())
    catalog.load_catalog.cache_clear()
    for path in written:
        console.print(f"wrote {path.relative_to(root)}")
    console.print(
        f"\nNext: write the lesson and the tests (CONTRIBUTING.md), replace every "
        f"{PLACEHOLDER}, then run [cyan]aiokata prove {number:02d}[/cyan] and "
        f"[cyan]pytest tests[/cyan]."
    )


def _report(verdicts: list[proofs.Verdict], verbose: bool, quiet: bool = False) -> None:
    current = None
    for verdict in verdicts:
        if verdict.exercise != current:
            current = verdict.exercise
            held = [v for v in verdicts if v.exercise == current]
            good = sum(v.held for v in held)
            console.print(f"\n[bold]{escape(current)}[/bold]: {good} of {len(held)} proofs hold")
        if quiet and verdict.held:
            continue
        mark = "[green]✓[/green]" if verdict.held else "[red]✗ does not hold:[/red]"
        label = verdict.kind if verdict.kind in ("stub", "solution") else verdict.name
        lines = verdict.detail.splitlines() or [""]
        say(f"{mark} {escape(label)}: {escape(lines[0])}", 2, markup=True)
        if verbose and verdict.why:
            say(f"({verdict.kind}: {verdict.why})", 6)
        if not verdict.held:
            for text in lines[1:]:
                say(text, 6)


@click.command("prove")
@click.argument("exercises", nargs=-1)
@click.option("--verbose", "-v", is_flag=True, help="also say what each proof stands for")
@click.option("--quiet", "-q", is_flag=True, help="show only the proofs that do not hold")
@click.option(
    "--kit",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="the kit whose proofs to run (default: the kit around the current folder)",
)
def prove(exercises: tuple[str, ...], verbose: bool, quiet: bool, kit: Path | None) -> None:
    """(authors) Run the proofs of EXERCISES (or all): the stub fails every test saying what
    to write, the solution passes, each wrong answer in tests/proofs fails exactly the tasks
    it names with the message it names, and each other right answer passes.

    Exits 0 only when every proof holds.

    \b
    Examples:
      aiokata prove 03
      aiokata prove 03 07 -v
      aiokata prove -q          every exercise, only what does not hold
      aiokata prove
    """
    root = _kit(kit)
    try:
        known = catalog.load_catalog(root)
    except catalog.CatalogError as exc:
        raise AuthoringError(f"broken exercise metadata: {exc}") from None
    chosen = set()
    for key in exercises:
        found = catalog.find(root, key)
        if found is None:
            names = ", ".join(f"{e.number:02d}" for e in known)
            raise AuthoringError(f"no exercise {key!r}; the exercises are {names}")
        chosen.add(found.name)
    only = chosen or None
    with tempfile.TemporaryDirectory(prefix="aiokata-prove-") as scratch:
        results = proofs.run_all(root, Path(scratch), only=only)
    verdicts = proofs.verdicts(root, results, only=only)
    _report(verdicts, verbose, quiet)
    failed = [v for v in verdicts if not v.held]
    console.print()
    if failed:
        console.print(f"[red]{len(failed)} of {len(verdicts)} proofs do not hold.[/red]")
        sys.exit(1)
    console.print(f"[green]All {len(verdicts)} proofs hold.[/green]")
