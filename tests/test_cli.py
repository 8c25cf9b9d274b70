"""The `aiokata` command, driven as a learner would: in a subprocess, on a copy of the kit."""

import contextlib
import os
import pty
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiokata import catalog, cli, progress, state

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
FIRST, SECOND = EXERCISES[0], EXERCISES[1] if len(EXERCISES) > 1 else None
AIOKATA = [sys.executable, "-c", "from aiokata.cli import main; main()"]


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    copy = tmp_path / "kit"
    copy.mkdir()
    for name in ("exercises", "solutions"):
        shutil.copytree(KIT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "conftest.py"):
        shutil.copyfile(KIT / name, copy / name)
    return copy


def aiokata(kit: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*AIOKATA, *args],
        cwd=kit,
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=300,
    )


def solve(kit: Path, exercise: catalog.Exercise) -> Path:
    mine = kit / "exercises" / exercise.name / exercise.module_file
    shutil.copyfile(kit / "solutions" / exercise.name / exercise.module_file, mine)
    return mine


def test_a_fresh_clone_shows_no_progress_and_the_first_exercise(kit: Path):
    done = aiokata(kit)
    assert done.returncode == 0, done.stderr
    assert f"0/{len(EXERCISES)} exercises done" in done.stdout
    assert f"Next: {FIRST.number:02d} {FIRST.title}" in done.stdout
    assert f"pytest exercises/{FIRST.number:02d}" in done.stdout


def test_solving_an_exercise_changes_status_list_check_and_solution(kit: Path):
    refused = aiokata(kit, "solution", str(FIRST.number))
    assert refused.returncode == 1
    assert "does not pass yet" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    failing = aiokata(kit, "check", str(FIRST.number))
    assert failing.returncode == 1
    assert "not yet" in failing.stdout and "✗ task 1" in failing.stdout

    solve(kit, FIRST)
    passing = aiokata(kit, "check", f"{FIRST.number:02d}")
    assert passing.returncode == 0, passing.stdout
    assert "passes" in passing.stdout and "✗" not in passing.stdout
    listing = aiokata(kit, "list")
    rows = listing.stdout.splitlines()
    row = next(line for line in rows if line.startswith(f"{FIRST.number:02d}"))
    assert row.rstrip().endswith("done"), listing.stdout
    status = aiokata(kit)
    assert f"1/{len(EXERCISES)} exercises done" in status.stdout
    if SECOND is not None:
        assert f"Next: {SECOND.number:02d} {SECOND.title}" in status.stdout
    shown = aiokata(kit, "solution", str(FIRST.number))
    assert shown.returncode == 0
    assert f"solutions/{FIRST.name}/{FIRST.module_file}" in shown.stdout


def test_a_half_done_exercise_is_in_progress(kit: Path):
    mine = solve(kit, FIRST)
    stub = (KIT / "exercises" / FIRST.name / FIRST.module_file).read_text()
    # The stub's last function, appended, replaces the solution's: the last task fails.
    last = max(stub.rfind("\nasync def "), stub.rfind("\ndef "))
    mine.write_text(mine.read_text() + "\n\n" + stub[last:])
    listing = aiokata(kit, "list")
    assert "in progress, " in listing.stdout, listing.stdout


def test_check_with_a_broken_file_says_so_and_fails(kit: Path):
    mine = kit / "exercises" / FIRST.name / FIRST.module_file
    mine.write_text("def broken(:\n")
    done = aiokata(kit, "check", str(FIRST.number))
    assert done.returncode == 1
    assert "syntax error" in done.stdout


def test_hints_are_revealed_one_at_a_time_and_remembered(kit: Path):
    key = str(FIRST.number)
    first = aiokata(kit, "hint", key)
    assert f"Hint 1/{len(FIRST.hints)}" in first.stdout and "Hint 2/" not in first.stdout
    second = aiokata(kit, "hint", key)
    assert f"Hint 2/{len(FIRST.hints)}" in second.stdout and "Hint 1/" not in second.stdout
    everything = aiokata(kit, "hint", key, "--all")
    assert "Hint 1/" in everything.stdout and "Hint 2/" in everything.stdout
    assert "Hint 3/" not in everything.stdout
    for _ in FIRST.hints:
        last = aiokata(kit, "hint", key)
    assert "That was the last hint" in last.stdout


def test_reset_keeps_a_backup_that_restore_brings_back(kit: Path):
    mine = solve(kit, FIRST)
    work = mine.read_text()
    asked = aiokata(kit, "reset", str(FIRST.number))  # no terminal to ask on
    assert asked.returncode == 1 and "--yes" in asked.stderr
    assert mine.read_text() == work
    done = aiokata(kit, "reset", str(FIRST.number), "--yes")
    assert done.returncode == 0, done.stderr
    assert mine.read_text() == (KIT / "exercises" / FIRST.name / FIRST.module_file).read_text()
    assert "Saved your version as .aiokata/backups/" in done.stdout
    mine.write_text("# a second attempt\n")
    back = aiokata(kit, "restore", str(FIRST.number))
    assert back.returncode == 0, back.stderr
    assert mine.read_text() == work
    listed = aiokata(kit, "restore", str(FIRST.number), "--list")
    assert len(listed.stdout.split()) == 2  # the reset's backup and the second attempt


def test_a_corrupt_state_file_is_kept_aside_and_never_fatal(kit: Path):
    aiokata(kit, "hint", str(FIRST.number))
    state = kit / ".aiokata" / "state.json"
    state.write_text("{ not json")
    done = aiokata(kit, "list")
    assert done.returncode == 0, done.stderr
    assert "unreadable" in done.stdout
    assert list((kit / ".aiokata").glob("state.json.corrupt-*"))
    again = aiokata(kit, "hint", str(FIRST.number))
    assert "Hint 1/" in again.stdout


@pytest.mark.parametrize("args", [["hint", "99"], ["check", "nope"], ["reset", "99", "--yes"]])
def test_an_unknown_exercise_is_a_one_line_error(kit: Path, args: list[str]):
    done = aiokata(kit, *args)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no exercise")
    assert len(done.stderr.strip().splitlines()) <= 2 and "Traceback" not in done.stderr


def test_outside_a_kit_is_a_one_line_error(tmp_path: Path):
    done = aiokata(tmp_path)
    assert done.returncode == 1
    assert "not inside an aiokata kit" in done.stderr


@pytest.mark.parametrize("verb", ["list", "check", "watch", "hint", "reset", "restore", "solution"])
def test_every_verb_has_help_with_examples(kit: Path, verb: str):
    done = aiokata(kit, verb, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout or "Example:" in done.stdout


def _read_until(fd: int, text: str, seen: bytearray, limit: float = 30) -> None:
    end = time.monotonic() + limit
    while text.encode() not in seen:
        if time.monotonic() > end:
            raise AssertionError(f"never saw {text!r}; the screen had:\n{seen[-1500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break


def test_watch_reruns_on_save_moves_on_and_answers_keys(kit: Path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: aiokata watch on a pseudo-terminal
        os.chdir(kit)
        os.execv(sys.executable, [*AIOKATA, "watch", str(FIRST.number)])
    seen = bytearray()
    try:
        _read_until(fd, "not yet", seen)
        _read_until(fd, "q quit", seen)
        os.write(fd, b"h")
        _read_until(fd, "Hint 1/", seen)
        solve(kit, FIRST)
        _read_until(fd, f"{FIRST.number:02d} passes!", seen)
        if SECOND is not None:
            _read_until(fd, f"exercises/{SECOND.name}/{SECOND.module_file}", seen)
            _read_until(fd, "q quit", seen)
            os.write(fd, b"q")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_watch_without_a_terminal_takes_keys_as_lines(kit: Path):
    watcher = subprocess.Popen(
        [*AIOKATA, "watch", str(FIRST.number)],
        cwd=kit,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = watcher.communicate("l\nq\n", timeout=120)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, out
    assert "(+Enter)" in out and "not yet" in out
    assert f"{FIRST.number:02d}  {FIRST.title}" in out  # the list, printed by the l key


# -- nothing the kit does may lose a learner's work: a full disk, an empty backup, a corrupt
# -- state file that cannot be moved aside, a folder that cannot be written


def small_files(limit: int):
    """A file-size limit for a child process, as `ulimit -f` or a full disk would give."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def limited(kit: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*AIOKATA, *args],
        cwd=kit,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=120,
        preexec_fn=small_files(limit) if limit is not None else None,
    )


def exercise_in(kit: Path) -> catalog.Exercise:
    found = catalog.find(kit, FIRST.name)
    assert found is not None
    return found


def test_a_reset_that_cannot_back_up_changes_nothing(kit: Path) -> None:
    mine = solve(kit, FIRST)
    work = mine.read_bytes()
    done = limited(kit, "reset", FIRST.name, "--yes", limit=64)  # smaller than the learner's file
    assert done.returncode == 1
    assert "could not back up" in done.stderr and "nothing was changed" in done.stderr
    assert "Traceback" not in done.stderr
    assert mine.read_bytes() == work
    folder = progress.backup_folder(kit, exercise_in(kit))
    assert not list(folder.glob("*.py")), "an incomplete backup exists under a backup's name"
    assert not list(folder.glob(".*.partial"))
    again = limited(kit, "restore", FIRST.name)
    assert again.returncode == 1 and "no backups" in again.stderr
    assert mine.read_bytes() == work


def test_restore_skips_empty_backups_and_says_which_it_restores(kit: Path) -> None:
    mine = solve(kit, FIRST)
    work = mine.read_bytes()
    assert limited(kit, "reset", FIRST.name, "--yes").returncode == 0
    folder = progress.backup_folder(kit, exercise_in(kit))
    (good,) = folder.glob("*.py")
    # Newer by name, and (as copy2 would make them) older by modification time: an empty
    # backup left by an earlier version of the kit must never win.
    for name in ("-20991231T235959.py", "-20991231T235959-2.py"):
        empty = folder / f"{Path(FIRST.module_file).stem}{name}"
        empty.write_bytes(b"")
        os.utime(empty, (0, 0))
    done = limited(kit, "restore", FIRST.name)
    assert done.returncode == 0, done.stderr
    assert f"from {good.name}" in done.stdout
    assert done.stdout.count("Skipped") == 2
    assert mine.read_bytes() == work


def test_backups_are_ordered_by_their_names_not_their_modification_times(kit: Path) -> None:
    exercise = exercise_in(kit)
    folder = progress.backup_folder(kit, exercise)
    folder.mkdir(parents=True)
    stem = Path(exercise.module_file).stem
    names = [f"{stem}-20260101T000000.py", f"{stem}-20260101T000000-2.py"]
    names += [f"{stem}-20260101T000000-10.py", f"{stem}-20270101T000000.py"]
    for age, name in enumerate(names):
        (folder / name).write_text(f"# {name}\n")
        os.utime(folder / name, (10_000 - age, 10_000 - age))
    assert [p.name for p in progress.backups(kit, exercise)] == names


def test_reset_and_restore_keep_the_files_permissions(kit: Path) -> None:
    mine = solve(kit, FIRST)
    mine.chmod(0o644)
    assert limited(kit, "reset", FIRST.name, "--yes").returncode == 0
    assert stat.S_IMODE(mine.stat().st_mode) == 0o644
    mine.chmod(0o664)
    assert limited(kit, "restore", FIRST.name).returncode == 0
    assert stat.S_IMODE(mine.stat().st_mode) == 0o664


def test_a_corrupt_state_that_cannot_be_moved_aside_is_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = state.path(tmp_path)
    file.parent.mkdir()
    file.write_text("{ not json")

    def refuse(self, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", refuse)  # (root ignores a read-only folder's mode)
    loaded, warning = state.load(tmp_path)
    assert loaded == state.State()
    assert warning and "could not be moved aside" in warning
    assert file.read_text() == "{ not json"


def test_a_folder_that_cannot_be_written_gives_one_line_and_keeps_the_file(
    kit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = solve(kit, FIRST)
    work = mine.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.chdir(kit)
    session = cli.Session()
    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(cli.Problem, match="your file is unchanged"):
        session.replace_file(exercise_in(kit), "# replaced\n")
    assert mine.read_bytes() == work
