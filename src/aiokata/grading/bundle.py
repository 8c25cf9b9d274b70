"""`aiokata bundle`: the kit packaged for a grading service.

- `gradescope`: the autograder zip Gradescope asks for: setup.sh and run_autograder at its root
  (from autograders/gradescope/), the settings run_autograder reads (aiokata.env), and under
  kit/ what grading needs: pyproject.toml, conftest.py, README.md, src/ and, for each exercise,
  its metadata, lesson, untouched stub and tests.
- `actions`: a starter repository that grades itself on every push: the same kit, with the
  GitHub Actions workflow of autograders/github-actions/ as .github/workflows/aiokata.yml.
- `classroom50`: the folder Classroom 50 runs for an assignment (CLASSROOM/autograders/
  ASSIGNMENT/ in its classroom50 repository): autograder.py from autograders/classroom50/, its
  aiokata.env and the kit under kit/; with --template, also the assignment's starter repository.
- `classroom`: GitHub Classroom shut down on 2026-08-28; the command only says so, naming the
  two above.

None ever holds solutions/, tests/ (its proofs contain correct answers), .git, state or caches:
files are picked one by one from the kit, never copied as a tree with exceptions.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from aiokata import catalog
from aiokata.terminal import Problem, kit_exercises

KIT_TOP_FILES = ("pyproject.toml", "conftest.py", "README.md")
GRADESCOPE_SOURCE = Path("autograders") / "gradescope"
GRADESCOPE_SCRIPTS = ("setup.sh", "run_autograder")
ACTIONS_SOURCE = Path("autograders") / "github-actions"
ACTIONS_TEMPLATE = "aiokata.yml"
ACTIONS_WORKFLOW = ".github/workflows/aiokata.yml"
CLASSROOM50_SOURCE = Path("autograders") / "classroom50"
CLASSROOM50_ENTRYPOINT = "autograder.py"
GITHUB_CLASSROOM_GONE = (
    "GitHub Classroom shut down on 2026-08-28, so there is nothing left to bundle for it; use "
    "`aiokata bundle actions --out DIR` (a GitHub Actions workflow for any repository) or "
    "`aiokata bundle classroom50 --out DIR` (Classroom 50); autograders/README.md explains both"
)
SETTINGS_FILE = "aiokata.env"
KIT_FOLDER = "kit"
# A fixed date makes the zip depend on the files alone (1980 is the earliest a zip can hold).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
GRADESCOPE_TIMEOUT = 600  # Gradescope's default limit for a whole run, in seconds


class BundleError(Exception):
    """The kit cannot be bundled; the message is one line for the user."""


def _env_text(
    reader: str, exercises: tuple[str, ...], timeout: float, memory: int, sandbox: str
) -> str:
    lines = [
        f"# Read by {reader}; an environment variable of the same name wins.",
        f"AIOKATA_EXERCISES={' '.join(exercises)}",
        f"AIOKATA_TIMEOUT={timeout:.10g}",  # never 1e+06: run_autograder does arithmetic
        f"AIOKATA_MEMORY={memory}",
        f"AIOKATA_SANDBOX={sandbox}",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GradescopeSettings:
    """What run_autograder reads from aiokata.env (an environment variable wins over it)."""

    exercises: tuple[str, ...] = ()  # exercise folder names; empty: every exercise
    timeout: float = 480.0  # for the whole submission: leaves room under Gradescope's 10 min
    memory: int = 512  # MiB of address space per process; Gradescope's default box is 768 MB
    sandbox: str = "auto"  # auto, on or off

    def env_text(self) -> str:
        return _env_text("run_autograder", self.exercises, self.timeout, self.memory, self.sandbox)


@dataclass(frozen=True)
class Classroom50Settings:
    """What autograders/classroom50/autograder.py reads from aiokata.env."""

    exercises: tuple[str, ...] = ()  # exercise folder names; empty: every exercise
    timeout: float = 480.0  # Classroom 50 stops the whole job (setup and install too) at 15 min
    memory: int = 2048  # MiB of address space per process; hosted runners have 7 GB or more
    sandbox: str = "auto"  # auto, on or off

    def env_text(self) -> str:
        return _env_text("autograder.py", self.exercises, self.timeout, self.memory, self.sandbox)


@dataclass
class KitFiles:
    """The kit's files a grading service needs: archive name (posix, kit-relative) -> file."""

    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _visible_files(folder: Path) -> Iterator[Path]:
    """Regular files under `folder`, sorted, without hidden names, caches or build leftovers."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.name.endswith(SKIPPED_SUFFIXES) or entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _visible_files(entry)
        elif entry.is_file():
            yield entry


def kit_files(kit: Path) -> KitFiles:
    """Pick the files grading needs, one by one (see the module docstring)."""
    kit = kit.resolve()
    found = KitFiles()
    for name in KIT_TOP_FILES:
        if not (kit / name).is_file():
            raise BundleError(f"{kit / name} is missing; is {kit} an aiokata kit?")
        found.files[name] = kit / name
    if not (kit / "src").is_dir():
        raise BundleError(f"{kit / 'src'} is missing; is {kit} an aiokata kit?")
    for path in _visible_files(kit / "src"):
        found.files[path.relative_to(kit).as_posix()] = path
    try:
        exercises = catalog.load_catalog(kit)
    except catalog.CatalogError as exc:
        raise BundleError(f"broken exercise metadata: {exc}") from None
    if not exercises:
        raise BundleError(f"{kit / 'exercises'} holds no exercises")
    for exercise in exercises:
        folder = f"exercises/{exercise.name}"
        for name in (catalog.METADATA, "README.md", exercise.test_file.name):
            found.files[f"{folder}/{name}"] = exercise.folder / name
        # The untouched stub from the package, not exercises/: an instructor who worked the
        # kata in this checkout would otherwise ship their answers.
        stub = kit / "src" / "aiokata" / "stubs" / exercise.name / exercise.module_file
        here = exercise.folder / exercise.module_file
        if stub.is_file():
            if here.read_bytes() != stub.read_bytes():
                found.notes.append(
                    f"{folder}/{exercise.module_file} is not the untouched stub; "
                    "the bundle holds the untouched one"
                )
            found.files[f"{folder}/{exercise.module_file}"] = stub
        else:
            found.files[f"{folder}/{exercise.module_file}"] = here
            found.notes.append(f"no packaged stub for {exercise.name}; shipping {here}")
    return found


def _script(kit: Path, folder: Path, name: str) -> Path:
    path = kit / folder / name
    if not path.is_file():
        raise BundleError(f"{path} is missing; it ships with the kit, in {folder.as_posix()}/")
    return path


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = (stat.S_IFREG | mode) << 16  # unix mode bits, kept by unzip
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_gradescope_bundle(
    kit: Path, out: Path, settings: GradescopeSettings | None = None
) -> list[str]:
    """Write Gradescope's autograder zip for `kit` to `out`; the names it holds, sorted."""
    kit = kit.resolve()
    settings = settings or GradescopeSettings()
    picked = kit_files(kit)
    entries: dict[str, tuple[bytes, int]] = {}
    for name in GRADESCOPE_SCRIPTS:
        entries[name] = (_script(kit, GRADESCOPE_SOURCE, name).read_bytes(), 0o755)
    entries[SETTINGS_FILE] = (settings.env_text().encode(), 0o644)
    for name, path in picked.files.items():
        entries[f"{KIT_FOLDER}/{name}"] = (path.read_bytes(), 0o644)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside `out`, then moved: an upload never picks up half a zip.
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    os.close(handle)
    try:
        with zipfile.ZipFile(temp, "w") as archive:
            for name in sorted(entries):
                data, mode = entries[name]
                _add(archive, name, data, mode)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return sorted(entries)


def actions_workflow(template: str, exercises: tuple[str, ...]) -> str:
    """The workflow template with the exercises to grade filled in."""
    line = re.compile(r'^(\s*AIOKATA_EXERCISES:\s*)"[^"\n]*"', re.MULTILINE)
    if not line.search(template):
        raise BundleError(f"{ACTIONS_TEMPLATE} has no AIOKATA_EXERCISES line to fill in")
    return line.sub(lambda m: f'{m.group(1)}"{" ".join(exercises)}"', template, count=1)


def _new_folder(kit: Path, out: Path) -> Path:
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} already exists and is not an empty folder")
    if out == kit or kit in out.parents:
        raise BundleError(f"{out} is inside the kit; choose a folder outside {kit}")
    return out


def _write_folder(out: Path, files: dict[str, bytes], executable: tuple[str, ...] = ()) -> None:
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if name in executable:
            target.chmod(0o755)


def _starter_files(
    kit: Path, picked: KitFiles, exercises: tuple[str, ...], workflow: bool
) -> dict[str, bytes]:
    files: dict[str, bytes] = {n: p.read_bytes() for n, p in picked.files.items()}
    if (kit / ".gitignore").is_file():
        files[".gitignore"] = (kit / ".gitignore").read_bytes()
    if workflow:
        template = _script(kit, ACTIONS_SOURCE, ACTIONS_TEMPLATE).read_text(encoding="utf-8")
        files[ACTIONS_WORKFLOW] = actions_workflow(template, exercises).encode()
    return files


def build_starter(
    kit: Path, out: Path, exercises: tuple[str, ...] = (), *, workflow: bool = True
) -> tuple[list[str], list[str]]:
    """Write a starter repository for `kit` into the new (or empty) folder `out`: the kit
    without solutions/ or tests/ and, with `workflow`, the grading workflow of GitHub Actions.

    Returns the paths written (relative to `out`, sorted) and notes for the user."""
    kit = kit.resolve()
    out = _new_folder(kit, out)
    picked = kit_files(kit)
    files = _starter_files(kit, picked, exercises, workflow)
    _write_folder(out, files)
    return sorted(files), picked.notes


def build_classroom50_bundle(
    kit: Path,
    out: Path,
    settings: Classroom50Settings | None = None,
    template: Path | None = None,
) -> tuple[list[str], list[str]]:
    """Write Classroom 50's per-assignment autograder folder for `kit` into the new (or empty)
    folder `out`: autograder.py, aiokata.env and the kit under kit/. With `template`, also write
    the assignment's starter repository there (the kit without solutions/, tests/ or a workflow:
    Classroom 50 adds its own).

    Returns the paths written in `out` (relative, sorted) and notes for the user."""
    kit = kit.resolve()
    settings = settings or Classroom50Settings()
    out = _new_folder(kit, out)
    if template is not None:
        template = _new_folder(kit, template)
        if template == out or out in template.parents or template in out.parents:
            raise BundleError("--out and --template must be two separate folders")
    picked = kit_files(kit)
    files = {
        CLASSROOM50_ENTRYPOINT: _script(
            kit, CLASSROOM50_SOURCE, CLASSROOM50_ENTRYPOINT
        ).read_bytes(),
        SETTINGS_FILE: settings.env_text().encode(),
    }
    for name, path in picked.files.items():
        files[f"{KIT_FOLDER}/{name}"] = path.read_bytes()
    starter = _starter_files(kit, picked, (), workflow=False) if template is not None else {}
    _write_folder(out, files, executable=(CLASSROOM50_ENTRYPOINT,))
    if template is not None:
        _write_folder(template, starter)
    return sorted(files), picked.notes


# --- the command -----------------------------------------------------------------------------


def _chosen(kit: Path | None, keys: tuple[str, ...]) -> tuple[Path, list[catalog.Exercise]]:
    hint = "run `aiokata bundle` inside the kit (the folder you cloned, or below) or pass "
    hint += "--kit PATH"
    return kit_exercises(kit, keys, hint=hint)


KIT_OPTION = click.option(
    "--kit",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="the kit to package (default: the kit around the current folder)",
)
EXERCISE_OPTION = click.option(
    "--exercise",
    "-e",
    "keys",
    multiple=True,
    help="grade only this exercise (repeatable; default: all)",
)


@click.group()
def bundle() -> None:
    """Package the kit for grading: Gradescope, GitHub Actions or Classroom 50.

    Only what grading needs goes in; never solutions/, tests/, .git or your own work in
    exercises/ (each exercise's untouched stub is used). autograders/README.md walks through
    setting each one up.

    \b
    Examples:
      aiokata bundle gradescope                      aiokata-gradescope.zip, every exercise
      aiokata bundle gradescope -e 01 -e 02 --out week1.zip
      aiokata bundle actions --out ../aiokata-starter
      aiokata bundle classroom50 --out ../c50/cs101/autograders/week1 -e 01 -e 02
    """


@bundle.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default="aiokata-gradescope.zip",
    show_default=True,
    help="where to write the zip",
)
@EXERCISE_OPTION
@click.option(
    "--timeout",
    type=click.FloatRange(min=5),
    default=GradescopeSettings.timeout,
    show_default=True,
    help="seconds to grade one submission; keep it under Gradescope's own limit",
)
@click.option(
    "--memory",
    type=click.IntRange(min=256),
    default=GradescopeSettings.memory,
    show_default=True,
    help="MiB of address space per process; keep it under Gradescope's memory setting",
)
@click.option(
    "--sandbox",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="bwrap: when the container allows it (auto), always (on: else score 0), never",
)
@KIT_OPTION
def gradescope(
    out: Path, keys: tuple[str, ...], timeout: float, memory: int, sandbox: str, kit: Path | None
) -> None:
    """Write the autograder zip to upload on Gradescope.

    The zip holds setup.sh and run_autograder at its root and the kit under kit/. Upload it
    in the assignment's Configure Autograder page; students then submit their exercise files
    (a zip of their exercises/ folder, the NN_slug folders, the bare files) or their GitHub
    repository. Each task becomes one Gradescope test worth its points.

    \b
    Examples:
      aiokata bundle gradescope
      aiokata bundle gradescope -e 01 -e 02 -e 03 --out week1.zip
      aiokata bundle gradescope --timeout 900 --memory 1024 --sandbox off
    """
    kit_path, chosen = _chosen(kit, keys)
    named = tuple(e.name for e in chosen) if keys else ()  # none named: every exercise
    settings = GradescopeSettings(exercises=named, timeout=timeout, memory=memory, sandbox=sandbox)
    try:
        names = build_gradescope_bundle(kit_path, out, settings)
        notes = kit_files(kit_path).notes
    except BundleError as exc:
        raise Problem(str(exc)) from None
    for note in notes:
        click.echo(f"note: {note}", err=True)
    graded = " ".join(settings.exercises) or "every exercise"
    points = sum(e.points for e in chosen)
    click.echo(f"wrote {out}: {len(names)} files; grades {graded}, {points} points in all")
    if timeout + 60 > GRADESCOPE_TIMEOUT:
        click.echo(
            f"note: raise the assignment's autograder timeout on Gradescope above "
            f"{int(timeout) + 120} s (its default is {GRADESCOPE_TIMEOUT} s)",
            err=True,
        )
    click.echo("Upload it under Configure Autograder; autograders/README.md has the steps.")


OUT_FOLDER = click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="a new (or empty) folder to write",
)


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


@bundle.command()
@OUT_FOLDER
@EXERCISE_OPTION
@KIT_OPTION
def actions(out: Path, keys: tuple[str, ...], kit: Path | None) -> None:
    """Write a starter repository that grades every push with GitHub Actions.

    The folder gets the kit without solutions/ or tests/, and the grading workflow as
    .github/workflows/aiokata.yml: on each push it runs `aiokata grade`, writes a table of
    every task to the run's summary, uploads the grades (JSON and JUnit) and fails the check
    until every task passes. Push it as the course's template repository; each student's copy
    then grades itself. No other service is involved.

    \b
    Examples:
      aiokata bundle actions --out ../aiokata-starter
      aiokata bundle actions --out ../week1 -e 01 -e 02
    """
    kit_path, chosen = _chosen(kit, keys)
    named = tuple(e.name for e in chosen) if keys else ()
    try:
        names, notes = build_starter(kit_path, out, named)
    except BundleError as exc:
        raise Problem(str(exc)) from None
    _notes(notes)
    graded = " ".join(named) or "every exercise"
    points = sum(e.points for e in chosen)
    click.echo(f"wrote {out}: {len(names)} files, with {ACTIONS_WORKFLOW}")
    click.echo(f"the workflow grades {graded}, {points} points in all")
    click.echo("Make it a git repository, push it, and mark it as a template repository.")


@bundle.command()
@OUT_FOLDER
@EXERCISE_OPTION
@click.option(
    "--template",
    type=click.Path(path_type=Path, file_okay=False),
    help="also write the assignment's starter repository in this new (or empty) folder",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=5),
    default=Classroom50Settings.timeout,
    show_default=True,
    help="seconds to grade one submission; Classroom 50 stops the whole job at 15 minutes",
)
@click.option(
    "--memory",
    type=click.IntRange(min=256),
    default=Classroom50Settings.memory,
    show_default=True,
    help="MiB of address space per process of the submission",
)
@click.option(
    "--sandbox",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="bwrap: when the runner allows it (auto), always (on: else an error), never",
)
@KIT_OPTION
def classroom50(
    out: Path,
    keys: tuple[str, ...],
    template: Path | None,
    timeout: float,
    memory: int,
    sandbox: str,
    kit: Path | None,
) -> None:
    """Write the autograder folder of a Classroom 50 assignment.

    The folder holds autograder.py (which Classroom 50 runs on each submission: it grades with
    `aiokata grade` and writes the result.json Classroom 50 reads, a test per task), its
    settings (aiokata.env) and the kit under kit/. Put it in your classroom50 repository as
    CLASSROOM/autograders/ASSIGNMENT/. --template DIR also writes the assignment's starter
    repository (the kit without solutions/ or tests/) to push as its template.

    \b
    Examples:
      aiokata bundle classroom50 --out ../classroom50/cs101/autograders/week1 -e 01 -e 02
      aiokata bundle classroom50 --out ag --template ../aiokata-template
    """
    kit_path, chosen = _chosen(kit, keys)
    named = tuple(e.name for e in chosen) if keys else ()
    settings = Classroom50Settings(named, timeout=timeout, memory=memory, sandbox=sandbox)
    try:
        names, notes = build_classroom50_bundle(kit_path, out, settings, template)
    except BundleError as exc:
        raise Problem(str(exc)) from None
    _notes(notes)
    graded = " ".join(named) or "every exercise"
    points = sum(e.points for e in chosen)
    click.echo(f"wrote {out}: {len(names)} files; grades {graded}, {points} points in all")
    if template is not None:
        click.echo(f"wrote the starter repository in {template}")
    click.echo(
        "Copy it to CLASSROOM/autograders/ASSIGNMENT/ in your classroom50 repository; "
        "autograders/README.md has the steps."
    )


@bundle.command(
    hidden=True,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("anything", nargs=-1, type=click.UNPROCESSED)
def classroom(anything: tuple[str, ...]) -> None:
    """GitHub Classroom shut down; this only says what replaces it."""
    raise Problem(GITHUB_CLASSROOM_GONE)
