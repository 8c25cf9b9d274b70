"""What every command prints with and how it fails: the console, indented lines that keep
their indent when wrapped, one-line errors, and finding the kit and its exercises."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from aiokata import catalog

console = Console(highlight=False)
# In a pipe or a file, lines stay whole (nothing is wrapped at rich's default 80 columns).
console.soft_wrap = not console.is_terminal
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def say(text: str, indent: int = 0, markup: bool = False) -> None:
    """Print `text` (plain unless `markup`), indented; wrapped lines keep the indent."""
    body = Text.from_markup(text) if markup else Text(text)
    if indent and console.is_terminal:
        console.print(Padding(body, (0, 0, 0, indent)))
    else:
        console.print(Text(" " * indent) + body)


class Problem(click.ClickException):
    """A one-line error for the learner; no traceback."""

    def show(self, file=None) -> None:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]error:[/red] {escape(self.message)}"
        )


def find_kit(start: Path | None = None, hint: str | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    hint = hint or "run aiokata from the folder you cloned (or below)"
    raise Problem(f"not inside an aiokata kit: {hint}")


def no_such_exercise(kit: Path, key: str) -> Problem:
    known = ", ".join(f"{e.number:02d}" for e in catalog.load_catalog(kit))
    return Problem(f"no exercise {key!r}; the exercises are {known}")


def kit_exercises(
    kit: Path | None = None, keys: tuple[str, ...] = (), hint: str | None = None
) -> tuple[Path, list[catalog.Exercise]]:
    """The kit (given, or around the current folder) and the exercises `keys` name, in number
    order; every exercise when `keys` is empty. `hint`: what to do when there is no kit."""
    kit = (kit or find_kit(hint=hint)).resolve()
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
