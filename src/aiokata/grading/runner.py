"""Grade submissions: one supervised pytest worker per submission, results read from a pipe.

The trust boundary (docs/grading.md has the whole threat model):
- the submission's exercise files are copied (regular files only) into a scratch folder; its
  own tests, conftest.py and configuration are never copied, so pytest never sees them;
- the worker runs the kit's tests with `--submission=<scratch>` and sends each test's result
  down a pipe whose write end its per-test children close before any submitted code runs;
- a supervisor process enforces the limits and kills whatever is left; if the worker dies
  mid-run, the test it was running is charged with it and the rest run in a fresh worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aiokata
from aiokata import catalog, isolation, targets
from aiokata.files import write_atomically
from aiokata.grading import sandbox
from aiokata.grading.model import ExerciseGrade, SubmissionGrade, TestGrade

MAX_FILE_BYTES = 1 << 20  # a learner's exercise file larger than this is not graded
STDERR_KEPT = 4000
RESTARTS_PER_EXERCISE = 10
SAFETY_MARGIN = 30.0  # seconds past the limit before the grader kills the supervisor itself
RESULTS_FOLDER = ".aiokata-grades"  # in the kit, unless `aiokata grade --results` says where


@dataclass(frozen=True)
class Limits:
    timeout: float = 600.0  # wall-clock seconds for one submission, all exercises
    memory_mb: int = 2048  # address space per process
    file_mb: int = 64  # largest file the submission's code may write
    test_wall: float | None = None  # per-test limit; None keeps the plugin's default

    def key(self) -> dict:
        return {
            "timeout": self.timeout,
            "memory_mb": self.memory_mb,
            "file_mb": self.file_mb,
            "test_wall": self.test_wall,
        }


@dataclass
class Plan:
    """What one `aiokata grade` run grades and how."""

    kit: Path
    exercises: list[catalog.Exercise]
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = False
    results_dir: Path | None = None  # per-submission results, for resuming
    force: bool = False

    def key(self, digest: str) -> str:
        """Same kit, same files, same settings: same grade, so a rerun can skip it."""
        blob = json.dumps(
            {
                "kit": kit_digest(self.kit),
                "submission": digest,
                "exercises": [e.name for e in self.exercises],
                "limits": self.limits.key(),
                "sandboxed": self.sandboxed,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


_kit_digests: dict[Path, str] = {}


def kit_digest(kit: Path) -> str:
    """The kit's tests, metadata and engine: if any of them changes, grades are stale."""
    if kit not in _kit_digests:
        digest = hashlib.sha256(aiokata.__version__.encode())
        files = sorted((kit / "exercises").glob("*/*"))
        files += sorted(Path(aiokata.__file__).parent.rglob("*.py"))
        for path in files:
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(str(path.relative_to(path.parents[1])).encode())
                digest.update(path.read_bytes())
        _kit_digests[kit] = digest.hexdigest()
    return _kit_digests[kit]


def submission_name(path: Path) -> str:
    """The folder as the instructor gave it (absolute if they gave it so), never rewritten
    relative to the current folder."""
    return str(path)


@dataclass
class Copied:
    """What copy_submission found in a submission."""

    digest: str  # of the exercise files copied
    notes: list[str]  # about the submission, for the instructor
    handed_in: dict[str, str]  # each exercise's file as handed in: its sha256, or ABSENT
    unread: dict[str, str]  # each exercise whose file was not copied: why (it is not run)


def copy_submission(plan: Plan, folder: Path, scratch: Path) -> Copied:
    """Copy the submission's exercise files into scratch/exercises.

    Only real folders and plain files count: a symbolic link anywhere inside the submission
    (to the kit's solutions, to a classmate's work) is never followed."""
    notes: list[str] = []
    digest = hashlib.sha256()
    nested = folder / "exercises"
    base: Path | None = nested if nested.is_dir() else folder
    prefix = "exercises/" if base == nested else ""  # paths in notes as the student laid them
    if nested.is_symlink():
        notes.append("exercises/ is a symbolic link; links are not followed, so nothing is graded")
        base = None
    handed_in = {exercise.name: targets.ABSENT for exercise in plan.exercises}
    unread: dict[str, str] = {}
    missing: list[str] = []  # plainly absent: no note said why yet
    for exercise in plan.exercises:
        target = scratch / "exercises" / exercise.name / exercise.module_file
        target.parent.mkdir(parents=True)
        if base is None:
            unread[exercise.name] = notes[0]
            continue
        shown = f"{prefix}{exercise.name}/{exercise.module_file}"
        if (base / exercise.name).is_symlink():
            notes.append(f"{prefix}{exercise.name}/ is a symbolic link; links are not followed")
            unread[exercise.name] = notes[-1]
            continue
        noted = len(notes)
        data = _read_plain_file(base / exercise.name / exercise.module_file, shown, notes)
        if data is None:
            if len(notes) > noted:
                unread[exercise.name] = notes[-1]
            else:
                unread[exercise.name] = (
                    f"{shown} is not in the submission, so this exercise was not graded (0 points)"
                )
                missing.append(shown)
            continue
        target.write_bytes(data)
        handed_in[exercise.name] = hashlib.sha256(data).hexdigest()
        digest.update(f"{exercise.name}\0{len(data)}\0".encode())
        digest.update(data)
    if len(unread) == len(plan.exercises) and not notes:  # else a note already says why
        notes.append(_nothing_found(plan, folder, prefix))
    elif missing:
        notes.append(f"not in the submission, so not graded (0 points): {', '.join(missing)}")
    _open_to_all(scratch)  # the sandbox's user `nobody` must read the copies
    return Copied(digest.hexdigest(), notes, handed_in, unread)


def _nothing_found(plan: Plan, folder: Path, prefix: str) -> str:
    """The note for a submission without a single exercise file: the layout expected, and
    what the folder holds instead."""
    example = next(iter(plan.exercises), None)
    like = f"{example.name}/{example.module_file}" if example else "03_tasks/tasks.py"
    where = folder / prefix if prefix else folder
    return (
        f"no exercise files found, so nothing was graded: expected each exercise's file in a "
        f"folder of its own, like {like}, directly in the submission or under exercises/ "
        f"(exercises/{like}); {_holdings(where, prefix or 'the submission')}"
    )


def _holdings(folder: Path, who: str, shown: int = 5, looked_at: int = 200) -> str:
    """What `folder` holds, `who` by name: a few of its names (a bounded look: a huge folder
    cannot stall the grader)."""
    names: list[str] = []
    more = False
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= looked_at:
                    more = True
                    break
                name = os.fsencode(entry.name).decode(errors="replace")
                names.append(name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    except OSError as exc:
        return f"{who} could not be listed ({exc.strerror})"
    if not names:
        return f"{who} is empty"
    names.sort()
    rest = len(names) - shown
    listed = ", ".join(names[:shown])
    if more:
        listed += ", and more"
    elif rest > 0:
        listed += f" and {rest} more"
    return f"{who} holds {listed}"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _not_plain(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a plain file")


def _read_plain_file(path: Path, shown: str, notes: list[str]) -> bytes | None:
    """The file's bytes if it is a plain file of sane size; else None, with a note saying why
    (a missing file needs none: its tests say so). Its type is checked before it is opened,
    and it is opened without blocking: a named pipe must not stall the grader."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{shown} could not be read: {exc.strerror}")
        return None
    if stat.S_ISLNK(info.st_mode):
        notes.append(f"{shown} is a symbolic link; links are not followed")
        return None
    if not stat.S_ISREG(info.st_mode):
        notes.append(f"{shown} is {_not_plain(info.st_mode)}, not a file; nothing of it is graded")
        return None
    if info.st_size > MAX_FILE_BYTES:
        notes.append(f"{shown} is larger than {MAX_FILE_BYTES >> 10} KiB; it is not graded")
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        notes.append(f"{shown} could not be read: {exc.strerror}")
        return None
    with os.fdopen(fd, "rb") as stream:
        opened = os.fstat(stream.fileno())
        if not stat.S_ISREG(opened.st_mode) or opened.st_ino != info.st_ino:
            notes.append(f"{shown} changed while it was being read; it is not graded")
            return None
        return stream.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]


def _open_to_all(folder: Path) -> None:
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


class GradingStopped(Exception):
    """The run is being stopped (Ctrl-C); no new worker starts."""


class _StderrTail(threading.Thread):
    """Drains the worker's stderr so a flood cannot block it; keeps the end."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.tail = b""

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read(1 << 16), b""):
            self.tail = (self.tail + chunk)[-STDERR_KEPT:]

    def text(self) -> str:
        return self.tail.decode(errors="replace").strip()


@dataclass
class _Attempt:
    collected: list[dict] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    running: str | None = None
    finished: bool = False
    supervisor: dict | None = None
    stderr: str = ""
    broken: str = ""  # why the stream stopped being believed, if it did
    started: set[str] = field(default_factory=set)

    def take(self, event: dict) -> bool:
        """Take one event of the worker's stream; False (and `broken` says why) when it is
        not what an honest worker sends: the tests as collected first, then for each test a
        start and its one result, one test at a time. Nothing after that is believed."""
        kind = event.get("event")
        if kind == "collected" and not self.collected and not self.started:
            self.collected = [t for t in event.get("tests", []) if isinstance(t, dict)]
            return True
        known = {t.get("nodeid") for t in self.collected}
        if kind == "start":
            nodeid = event.get("nodeid")
            if nodeid in known and nodeid not in self.started and self.running is None:
                self.running = nodeid
                self.started.add(nodeid)
                return True
            self.broken = f"a start for {nodeid!r} out of turn"
        elif kind == "result":
            result = event.get("result")
            nodeid = result.get("nodeid") if isinstance(result, dict) else None
            if nodeid is not None and nodeid == self.running:
                self.results[nodeid] = result
                self.running = None
                return True
            self.broken = f"a result for {nodeid!r}, which was not the test running"
        elif kind == "finished" and self.running is None:
            self.finished = True
            return True
        else:
            self.broken = f"an unexpected {str(kind)[:40]!r} event"
        return False


class Grader:
    """Grades one submission after another (or several at once with `jobs`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        if plan.sandboxed:
            sandbox.bwrap()  # refuses now, before anything is graded
        # The grader reads every submission's results: code under test must not be able to
        # take a copy of those sockets (pidfd_getfd) or read its memory.
        isolation.forbid_inspection()

    # -- the whole run ---------------------------------------------------------------------
    def grade_all(
        self,
        folders: list[Path],
        jobs: int = 1,
        on_done: Callable[[SubmissionGrade, bool], None] | None = None,
    ) -> list[SubmissionGrade]:
        """Grades in the order given; `on_done(grade, reused)` as each one finishes."""

        def one(folder: Path) -> SubmissionGrade:
            try:
                grade, reused = self.grade_or_reuse(folder)
            except GradingStopped:
                raise
            except Exception as exc:  # one broken submission costs only its own grade
                grade, reused = self._ungradable(folder, exc), False
            if on_done is not None:
                on_done(grade, reused)
            return grade

        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            return list(pool.map(one, folders))
        except BaseException:  # Ctrl-C too: stop every submission's processes first
            self.stop_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def stop_all(self) -> None:
        self._stopping.set()
        with self._lock:
            live = list(self._live)
        for process in live:
            _stop(process)

    def result_path(self, folder: Path) -> Path | None:
        if self.plan.results_dir is None:
            return None
        label = "".join(c if c.isalnum() or c in "-_." else "_" for c in folder.name)[:60]
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:10]
        return self.plan.results_dir / f"{label or 'submission'}-{tag}.json"

    def grade_or_reuse(self, folder: Path) -> tuple[SubmissionGrade, bool]:
        given = submission_name(folder)  # as given, before it is made absolute
        folder = folder.resolve()
        with tempfile.TemporaryDirectory(prefix="aiokata-grade-") as temp:
            scratch = Path(temp)
            copied = copy_submission(self.plan, folder, scratch)
            key = self.plan.key(copied.digest)
            saved = self.result_path(folder)
            if saved is not None and not self.plan.force:
                previous = _load_saved(saved, key)
                if previous is not None:
                    previous.name = given  # saved under another name, perhaps: shown as given now
                    return previous, True
            grade = self._grade(folder, given, scratch, copied)
        if saved is not None:
            payload = {"key": key, "grade": grade.to_dict()}
            write_atomically(saved, json.dumps(payload, indent=1))
        return grade, False

    def _ungradable(self, folder: Path, exc: Exception) -> SubmissionGrade:
        return SubmissionGrade(
            name=submission_name(folder),
            path=str(folder.absolute()),
            digest="",
            exercises=[ExerciseGrade.build(e, []) for e in self.plan.exercises],
            notes=[f"the grader could not grade this submission ({type(exc).__name__}: {exc})"],
            sandboxed=self.plan.sandboxed,
        )

    # -- one submission --------------------------------------------------------------------
    def _grade(self, folder: Path, given: str, scratch: Path, copied: Copied) -> SubmissionGrade:
        notes, handed_in = copied.notes, copied.handed_in
        started = time.monotonic()
        deadline = started + self.plan.limits.timeout
        grades: dict[str, TestGrade] = {}
        known: dict[str, dict] = {}  # nodeid: the test as collected
        restarts: dict[str, int] = {}
        selection: list[str] | None = None  # None: every selected exercise's folder
        collected_once = False
        while len(copied.unread) < len(self.plan.exercises):  # else there is nothing to run
            remaining = deadline - time.monotonic()
            attempt = self._run_worker(scratch, selection, max(remaining, 1.0), handed_in)
            if self._stopping.is_set():
                raise GradingStopped  # a grade cut short by the stop is no grade: not saved
            for test in attempt.collected:
                known.setdefault(test["nodeid"], test)
            collected_once = collected_once or bool(attempt.collected)
            for nodeid, result in attempt.results.items():
                if nodeid in known:
                    grades[nodeid] = TestGrade.from_result(known[nodeid] | result)
            supervisor = attempt.supervisor or {}
            if attempt.broken:
                notes.append(
                    f"the results channel carried {attempt.broken}: something other than the "
                    "kit's worker wrote to it, so that worker was stopped and nothing it sent "
                    "afterwards was believed"
                )
            strays = supervisor.get("strays", 0)
            if strays and supervisor.get("exit", -1) >= 0:  # else they include the test's own
                notes.append(
                    f"{strays} {'process' if strays == 1 else 'processes'} the submission started "
                    f"{'was' if strays == 1 else 'were'} still running after its tests (having "
                    "left their test's process group) and killed"
                )
            pending = [n for n in known if n not in grades]  # in the order collected
            if attempt.finished and not pending:
                break
            if not collected_once:
                notes.append(
                    "the grader could not start the tests"
                    + (f": {attempt.stderr[-1000:]}" if attempt.stderr else "")
                )
                break
            if supervisor.get("timed_out") or time.monotonic() >= deadline:
                why = (
                    f"Not finished: grading this submission reached its limit of "
                    f"{self.plan.limits.timeout:g} s."
                )
                for nodeid in pending:
                    grades[nodeid] = _charged(known[nodeid], "timeout", why)
                notes.append(why.removeprefix("Not finished: "))
                break
            culprit = attempt.running if attempt.running in pending else None
            if culprit is None:
                if not attempt.results:  # no progress at all: another try would do the same
                    notes.append(f"the grading process {_ending(supervisor)} between tests")
                    for nodeid in pending:
                        grades[nodeid] = _charged(known[nodeid], "error", _ending(supervisor))
                    break
                selection = pending
                continue
            grades[culprit] = _charged(
                known[culprit],
                "error",
                (
                    f"While this test ran, the grader's results channel carried "
                    f"{attempt.broken}: the code under test forged results. This test counts "
                    "as an error; the remaining tests ran in a fresh process."
                )
                if attempt.broken
                else (
                    f"The grading process itself {_ending(supervisor)} while this test ran, so "
                    "the code under test ended it (os._exit or os.kill on its parent, or it ran "
                    "out of memory or CPU time). The remaining tests ran in a fresh process."
                ),
            )
            name = known[culprit]["exercise"]
            restarts[name] = restarts.get(name, 0) + 1
            if restarts[name] > RESTARTS_PER_EXERCISE:
                for nodeid in pending:
                    if known[nodeid]["exercise"] == name and nodeid not in grades:
                        grades[nodeid] = _charged(
                            known[nodeid],
                            "error",
                            f"Not run: the code under test ended the grading process "
                            f"{RESTARTS_PER_EXERCISE + 1} times in {name}.",
                        )
            selection = [n for n in known if n not in grades]
            if not selection:
                break
        exercises = []
        for exercise in self.plan.exercises:
            if exercise.name in copied.unread:
                why = copied.unread[exercise.name]
                exercises.append(ExerciseGrade.not_handed_in(exercise, why))
                continue
            mine = [g for n, g in grades.items() if known[n]["exercise"] == exercise.name]
            exercises.append(ExerciseGrade.build(exercise, mine))
        return SubmissionGrade(
            name=given,
            path=str(folder),
            digest=copied.digest,
            exercises=exercises,
            notes=notes,
            duration=round(time.monotonic() - started, 2),
            sandboxed=self.plan.sandboxed,
        )

    def _worker_command(
        self, scratch: Path, selection: list[str] | None, read_fd: int, handed_in: dict[str, str]
    ):
        kit = self.plan.kit
        if selection is None:  # the exercises handed in: the others have nothing to test
            paths = [
                str(e.folder) for e in self.plan.exercises if handed_in[e.name] != targets.ABSENT
            ]
        else:
            paths = [str(kit / nodeid) for nodeid in selection]
        worker = [
            sys.executable,
            "-P",  # the working folder is not on sys.path: `import solutions` fails
            "-m",
            "pytest",
            f"--rootdir={kit}",
            "-c",
            str(kit / "pyproject.toml"),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--submission={scratch / 'exercises'}",
            f"--aiokata-stream={read_fd}",
            # In argv, where no code under test can change it.
            *(f"--handed-in={name}={sha}" for name, sha in sorted(handed_in.items())),
        ]
        if self.plan.limits.test_wall is not None:
            worker.append(f"--wall-limit={self.plan.limits.test_wall}")
        return [*worker, *paths]

    def _run_worker(
        self, scratch: Path, selection: list[str] | None, wall: float, handed_in: dict[str, str]
    ) -> _Attempt:
        if self._stopping.is_set():
            raise GradingStopped
        limits = self.plan.limits
        # A socket, not a pipe: a pipe can be reopened through /proc/<worker>/fd by any
        # process allowed to inspect the worker; a socket cannot be opened that way.
        reader, writer = socket.socketpair()
        read_end, write_end = reader.detach(), writer.detach()
        # The supervisor's own last word comes on a socket of its own: it keeps no copy of
        # the worker's stream, so it holds nothing worth stealing from it.
        report_reader, report_writer = socket.socketpair()
        report_read, report_write = report_reader.detach(), report_writer.detach()
        workdir = scratch / "work"
        workdir.mkdir(exist_ok=True)
        workdir.chmod(0o777)
        supervisor = [
            sys.executable,
            "-P",
            str(Path(__file__).with_name("supervise.py")),  # a script: no package import
            f"--wall={wall:.1f}",
            f"--cpu={int(limits.timeout) + 10}",
            f"--memory={limits.memory_mb << 20}",
            f"--fsize={limits.file_mb << 20}",
            f"--stream={write_end}",
            f"--report={report_write}",
            "--",
            *self._worker_command(scratch, selection, write_end, handed_in),
        ]
        if self.plan.sandboxed:
            supervisor = sandbox.command(self.plan.kit, scratch, supervisor)
        attempt = _Attempt()
        process = subprocess.Popen(
            supervisor,
            cwd=scratch / "exercises",  # tracebacks then show 03_tasks/tasks.py
            env=_clean_env(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end, report_write),
            start_new_session=True,
        )
        os.close(write_end)
        os.close(report_write)
        with self._lock:
            self._live.add(process)
        tail = _StderrTail(process.stderr)
        tail.start()
        deadline = time.monotonic() + wall + SAFETY_MARGIN
        try:
            for event in _events(read_end, deadline, process):
                if not attempt.take(event):
                    break  # a forged or garbled stream: stop this worker, believe no more
            if not attempt.broken:
                for event in _events(report_read, deadline, process):
                    if event.get("event") == "supervisor":
                        attempt.supervisor = event
        finally:
            os.close(read_end)
            os.close(report_read)
            _stop(process)
            with self._lock:
                self._live.discard(process)
            tail.join(timeout=5)
        attempt.stderr = tail.text()
        return attempt


def _stop(process: subprocess.Popen) -> None:
    """Ask the supervisor to clean up (SIGTERM) before killing its group outright: killed
    first, it could not kill the processes below it, which have groups of their own."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _events(fd: int, deadline: float, process: subprocess.Popen) -> Iterator[dict]:
    """JSON lines from a result socket until it closes or the `deadline` (monotonic) passes."""
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return  # the supervisor itself hung: the caller kills it
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1 << 16)
        except ConnectionResetError:  # the other end died with data unread: the same as closed
            return
        if not chunk:
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                yield event


def _clean_env(workdir: Path) -> dict[str, str]:
    """The grader's environment may hold secrets (CI tokens); the submission gets none."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "HOME": str(workdir),
        "TMPDIR": "/tmp",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "100",
    }


def _ending(supervisor: dict) -> str:
    code = supervisor.get("exit")
    if code is None:
        return "stopped without a word"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def _charged(test: dict, status: str, message: str) -> TestGrade:
    """A result the grader writes for a test the worker could not report on."""
    return TestGrade.from_result({**test, "status": status, "message": message, "output": ""})


def _load_saved(path: Path, key: str) -> SubmissionGrade | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return SubmissionGrade.from_dict(data["grade"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or from another version: grade again
