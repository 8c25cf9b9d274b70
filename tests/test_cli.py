"""The `aiokata` command, driven as a learner would: in a subprocess, on a copy of the kit."""

import contextlib
import fcntl
import os
import pty
import re
import resource
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiokata import catalog, learner, progress, state, terminal

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
FIRST, SECOND = EXERCISES[0], EXERCISES[1] if len(EXERCISES) > 1 else None
AIOKATA = [sys.executable, "-c", "from aiokata.cli import main; main()"]


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
    assert f"0/{len(EXERCISES)} exercises pass" in done.stdout
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
    row = next(line for line in rows if line.lstrip(" >").startswith(f"{FIRST.number:02d}"))
    assert "passes" in row, listing.stdout
    status = aiokata(kit)
    assert f"1/{len(EXERCISES)} exercises pass" in status.stdout
    if SECOND is not None:
        assert f"Next: {SECOND.number:02d} {SECOND.title}" in status.stdout
    shown = aiokata(kit, "solution", str(FIRST.number))
    assert shown.returncode == 0
    assert shown.stdout == (kit / "solutions" / FIRST.name / FIRST.module_file).read_text()


def test_a_half_done_exercise_is_in_progress(kit: Path):
    mine = solve(kit, FIRST)
    stub = (KIT / "exercises" / FIRST.name / FIRST.module_file).read_text()
    # The stub's last function, appended, replaces the solution's: the last task fails.
    last = max(stub.rfind("\nasync def "), stub.rfind("\ndef "))
    mine.write_text(mine.read_text() + "\n\n" + stub[last:])
    listing = aiokata(kit, "list")
    total = len(FIRST.tasks)
    assert f"{total - 1} of {total} tasks" in listing.stdout, listing.stdout


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
    again = aiokata(kit, "hint", key, "--again")
    assert "Hint 1/" in again.stdout and "Hint 2/" in again.stdout
    assert "Hint 3/" not in again.stdout
    everything = aiokata(kit, "hint", key, "--all")
    for number in range(1, len(FIRST.hints) + 1):
        assert f"Hint {number}/{len(FIRST.hints)}" in everything.stdout, everything.stdout
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


def _read_until(fd: int, text: str, seen: bytearray, limit: float = 30, start: int = 0) -> int:
    """Read the terminal until `text` shows at or after `start`; where it ends."""
    end = time.monotonic() + limit
    while seen.find(text.encode(), start) < 0:
        if time.monotonic() > end:
            raise AssertionError(f"never saw {text!r}; the screen had:\n{seen[-1500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen.find(text.encode(), start) + len(text.encode())


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
        _read_until(fd, f"aiokata solution {FIRST.number:02d}", seen)
        _read_until(fd, "q quit", seen)
        if SECOND is not None:
            os.write(fd, b"n")
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
    assert "(then Enter)" in out and "not yet" in out
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
    session = learner.Session()
    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(terminal.Problem, match="your file is unchanged"):
        session.replace_file(exercise_in(kit), "# replaced\n")
    assert mine.read_bytes() == work


# -- the learner's day (issue 11): a deleted file, the solution in a pipe and on a terminal,
# -- several exercises at once, every hint, help, one backup per version, a one-line list


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
CLEAR = "\x1b[2J"


def on_terminal(kit: Path, *args: str, columns: int = 80) -> tuple[int, int]:
    """`aiokata ARGS` on a pseudo-terminal `columns` wide: (pid, the terminal's fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        os.chdir(kit)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        os.execve(sys.executable, [*AIOKATA, *args], env)
    return pid, fd


def finish(pid: int, fd: int, seen: bytearray) -> int:
    """Read the terminal to the end; the exit code."""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                raise AssertionError(f"no end; the screen had:\n{seen[-1500:]!r}")
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def screen(seen: bytearray) -> str:
    return ANSI.sub("", seen.decode(errors="replace"))


def on_terminal_to_the_end(kit: Path, *args: str, columns: int = 80) -> tuple[int, str]:
    seen = bytearray()
    code = finish(*on_terminal(kit, *args, columns=columns), seen)
    return code, screen(seen)


def test_a_deleted_stub_breaks_only_its_own_exercise_and_reset_puts_it_back(kit: Path):
    gone = exercise_in(kit)
    mine = kit / "exercises" / gone.name / gone.module_file
    mine.unlink()
    for args in ([], ["list"], ["hint", str(gone.number)], ["check", str(FIRST.number)]):
        done = aiokata(kit, *args)
        assert "broken exercise metadata" not in done.stdout + done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 1) and not done.stderr, (args, done.stderr)
    listing = aiokata(kit, "list").stdout
    assert f"exercises/{gone.name}/{gone.module_file} is missing" in listing, listing
    others = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", f"exercises/{FIRST.name}"],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert others.returncode == 1 and "failed" in others.stdout, others.stdout[-2000:]
    own = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-x", f"exercises/{gone.name}"],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=300,
    )
    expected = f"exercises/{gone.name}/{gone.module_file} is missing: `aiokata reset"
    assert expected in own.stdout, own.stdout[-3000:]
    assert "Traceback" not in own.stdout
    nothing = aiokata(kit, "restore", str(gone.number))
    assert nothing.returncode == 1 and "no backups" in nothing.stderr
    back = aiokata(kit, "reset", str(gone.number))  # nothing to lose: no --yes needed
    assert back.returncode == 0, back.stderr
    assert "the stub is back" in back.stdout
    assert mine.read_bytes() == progress.pristine_stub(gone).read_bytes()


def test_the_solution_in_a_pipe_is_plain_python_and_diff_compares(kit: Path):
    mine = solve(kit, FIRST)
    reference = (kit / "solutions" / FIRST.name / FIRST.module_file).read_text()
    done = aiokata(kit, "solution", str(FIRST.number))
    assert done.returncode == 0, done.stderr
    assert done.stdout == reference
    compile(done.stdout, "theirs.py", "exec")
    same = aiokata(kit, "solution", str(FIRST.number), "--diff")
    assert "same as the reference" in same.stdout
    mine.write_text(reference + "\n# my own note\n")
    diff = aiokata(kit, "solution", str(FIRST.number), "--diff")
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    assert lines[0].startswith("--- exercises/") and "(yours)" in lines[0], diff.stdout
    assert lines[1].startswith("+++ solutions/") and "(reference)" in lines[1], diff.stdout
    assert "-# my own note" in lines, diff.stdout


def test_the_solution_on_a_narrow_terminal_wraps_and_never_cuts(kit: Path):
    solve(kit, FIRST)
    assert aiokata(kit, "check", str(FIRST.number)).returncode == 0
    code, shown = on_terminal_to_the_end(kit, "solution", str(FIRST.number), columns=50)
    assert code == 0, shown
    reference = (kit / "solutions" / FIRST.name / FIRST.module_file).read_text()
    longest = max(reference.splitlines(), key=len)
    assert len(longest) > 45, "pick a wider example: this one fits"
    words = " ".join(shown.split())
    for word in longest.split():
        if len(word) < 40:  # a longer word is split by the wrap itself
            assert word in words, (word, shown)


def test_a_passed_exercise_keeps_its_solution_open_after_a_reset(kit: Path):
    solve(kit, FIRST)
    assert aiokata(kit, "check", str(FIRST.number)).returncode == 0
    assert aiokata(kit, "reset", str(FIRST.number), "--yes").returncode == 0
    shown = aiokata(kit, "solution", str(FIRST.number))
    assert shown.returncode == 0, shown.stderr
    assert "def " in shown.stdout


def test_restoring_twice_keeps_one_backup_of_the_same_file(kit: Path):
    mine = kit / "exercises" / FIRST.name / FIRST.module_file
    mine.write_text(mine.read_text() + "\n# attempt one\n")
    assert aiokata(kit, "reset", str(FIRST.number), "--yes").returncode == 0
    for _ in range(2):
        done = aiokata(kit, "restore", str(FIRST.number))
        assert done.returncode == 0, done.stderr
        assert "# attempt one" in mine.read_text()
    listed = aiokata(kit, "restore", str(FIRST.number), "--list").stdout.split()
    assert len(listed) == 1, listed


def test_check_takes_several_exercises_by_number_or_path(kit: Path):
    assert SECOND is not None
    done = aiokata(kit, "check", f"{FIRST.number:02d}", f"exercises/{SECOND.name}/")
    assert done.returncode == 1, done.stderr
    assert f"{FIRST.number:02d} {FIRST.title} — not yet" in done.stdout, done.stdout
    assert f"{SECOND.number:02d} {SECOND.title} — not yet" in done.stdout, done.stdout
    again = aiokata(kit, "check", f"exercises/{FIRST.number:02d}")
    assert again.returncode == 1 and not again.stderr, again.stderr


@pytest.mark.parametrize("args", [["-h"], ["help"], ["help", "watch"], ["hint", "-h"]])
def test_help_is_there_however_it_is_asked_for(kit: Path, args: list[str]):
    done = aiokata(kit, *args)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    if args[-1] == "watch":
        assert "Rerun an exercise's tests" in done.stdout


def test_help_for_an_unknown_command_lists_the_commands(kit: Path):
    done = aiokata(kit, "help", "wach")
    assert done.returncode == 1 and "the commands are" in done.stderr and "watch" in done.stderr


def test_the_list_is_one_line_per_exercise_at_80_columns_and_whole_in_a_pipe(kit: Path):
    code, shown = on_terminal_to_the_end(kit, "list", columns=80)
    assert code == 0, shown
    rows = [line for line in shown.splitlines() if line.strip()]
    assert len(rows) == len(EXERCISES), shown
    assert all(len(row) <= 80 for row in rows), shown
    for row, exercise in zip(rows, EXERCISES, strict=True):
        assert row.lstrip(" >").startswith(f"{exercise.number:02d}  "), row
        assert "not started" in row, row
    piped = aiokata(kit, "list").stdout.splitlines()
    assert len(piped) == len(EXERCISES), piped
    assert all(e.concept in line for e, line in zip(EXERCISES, piped, strict=True)), piped


def test_status_lines_keep_their_indent_when_wrapped(kit: Path):
    code, shown = on_terminal_to_the_end(kit, columns=60)
    assert code == 0, shown
    lines = shown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Next:"))
    concept = lines[start + 1 : next(i for i, line in enumerate(lines) if "Read" in line)]
    assert len(concept) > 1, shown  # the concept is long: it wraps at 60 columns
    assert all(line.startswith("  ") for line in concept), shown


@contextlib.contextmanager
def watching(kit: Path, *args: str) -> Iterator[tuple[int, bytearray]]:
    """`aiokata watch ARGS` on a terminal: (its fd, what it has shown so far); it must end
    with exit code 0 once the block is over (send q in it)."""
    pid, fd = on_terminal(kit, "watch", *args)
    seen = bytearray()
    try:
        yield fd, seen
    except BaseException:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
        raise
    assert finish(pid, fd, seen) == 0, screen(seen)[-1500:]


def test_watch_pauses_on_a_pass_and_remembers_the_exercise_chosen(kit: Path):
    assert SECOND is not None
    with watching(kit, str(FIRST.number)) as (fd, seen):
        _read_until(fd, "q quit", seen)
        solve(kit, FIRST)
        passed = _read_until(fd, f"{FIRST.number:02d} passes!", seen)
        shown = _read_until(fd, "q quit", seen, start=passed)
        assert f"Press n for {SECOND.number:02d}" in screen(seen[passed:]), screen(seen)
        os.write(fd, b"h")  # answered by 01's hint: still on 01 after a round trip
        hinted = _read_until(fd, f"({FIRST.number:02d}):", seen, start=shown)
        assert f"exercises/{SECOND.name}" not in screen(seen[passed:hinted]), screen(seen)
        os.write(fd, b"n")
        moved = _read_until(fd, f"exercises/{SECOND.name}/{SECOND.module_file}", seen)
        _read_until(fd, "q quit", seen, start=moved)
        os.write(fd, b"q")
    status = aiokata(kit)
    assert f"Current: {SECOND.number:02d} {SECOND.title}" in status.stdout, status.stdout


def test_watch_stays_on_a_passing_exercise_it_was_asked_for(kit: Path):
    solve(kit, FIRST)
    with watching(kit, str(FIRST.number)) as (fd, seen):
        passed = _read_until(fd, f"{FIRST.number:02d} passes!", seen)
        _read_until(fd, "q quit", seen, start=passed)
        mine = kit / "exercises" / FIRST.name / FIRST.module_file
        mine.write_text(mine.read_text() + "\nraise RuntimeError('refactoring')\n")
        _read_until(fd, "not yet", seen, start=passed)  # still 01: the save reran its tests
        os.write(fd, b"q")
    status = aiokata(kit)
    assert f"Current: {FIRST.number:02d} {FIRST.title}" in status.stdout, status.stdout


def test_watch_list_redraws_the_screen_and_picks_an_exercise(kit: Path):
    last = EXERCISES[-1]
    with watching(kit, str(FIRST.number)) as (fd, seen):
        before = _read_until(fd, "q quit", seen)
        os.write(fd, b"l")
        listed = _read_until(fd, "any other key: back", seen, start=before)
        listing = bytes(seen[before:listed])
        assert CLEAR.encode() in listing, listing  # a screen of its own, not under the status
        rows = [r for r in screen(bytearray(listing)).splitlines() if r[:3].strip(" >")]
        assert any(r.startswith(f">{FIRST.number:02d}") for r in rows), rows
        os.write(fd, b"x")  # back to the exercise
        back = _read_until(fd, "q quit", seen, start=listed)
        os.write(fd, b"l")
        listed = _read_until(fd, "any other key: back", seen, start=back)
        os.write(fd, f"{last.number:02d}".encode())
        picked = _read_until(fd, f"exercises/{last.name}/{last.module_file}", seen, start=listed)
        _read_until(fd, "q quit", seen, start=picked)
        os.write(fd, b"q")
    assert f"Current: {last.number:02d}" in aiokata(kit).stdout
