"""`aiokata grade` against example submissions, honest and hostile, with golden files.

Each folder in tests/grading/submissions/ is one submission (a few more are built at test time
from the kit: see BUILT). All of them are graded by one `aiokata grade` run, the way an
instructor runs it, and each result is compared with tests/grading/expected/<case>.json:
statuses and scores exactly, messages after normalising what legitimately changes between runs
(paths, memory addresses, process ids, the line a busy loop was caught on).

Golden files record what the grader says; VERDICTS records what an instructor says it should
say. Both are checked, so regenerating the goldens cannot quietly bless a wrong verdict. A case
the grader still gets wrong is listed in GRADER_BUGS: it has no golden file, and its verdict
test is an expected failure until the grader is fixed.

Regenerate the goldens after a deliberate change to the grader or the kit's tests:

    AIOKATA_UPDATE_GOLDEN=1 pytest tests/test_grading.py

The two long runs (every golden case, and every exercise solved and untouched) are kept in
KIT/.aiokata/kept-runs once every test that read them passed, keyed by the engine, the
exercises, the solutions, the submissions and this file: they are graded again when any of
those changes, after any test fails on a kept run, and with `pytest --fresh-proofs`. The
goldens and verdicts are checked against a kept run every time. Saved results, reuse and
--force are checked on a small run of their own, always made afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aiokata.proof_cache import KeptRuns, kept_key

KIT = Path(__file__).resolve().parents[1]
GRADING = KIT / "tests" / "grading"
SUBMISSIONS = GRADING / "submissions"
EXPECTED = GRADING / "expected"
UPDATE = os.environ.get("AIOKATA_UPDATE_GOLDEN") == "1"
AIOKATA = [sys.executable, "-c", "from aiokata.cli import main; main()"]

SELECTED = ("-e", "01", "-e", "03")  # every case but the full run below grades only these two
# Seconds per submission: no case is meant to reach it (the slowest needs about 5 on a quiet
# machine), and at a load of 14 on 2 cores one took over 30 s and was cut short.
TIMEOUT = "120"
SETTINGS = (*SELECTED, "--jobs", "2", "--timeout", TIMEOUT)
# Words in the argv of the processes the stray-process cases leave behind. Each test run
# appends its own token to them in its copies, so that two runs at once (a developer's and
# CI's) never sweep up each other's processes.
PLANTED_MARKERS = ("aiokata-golden-stray-7d41c9", "aiokata-golden-bomb-52e8aa")
STRAY_MARKERS = tuple(f"{m}-{secrets.token_hex(4)}" for m in PLANTED_MARKERS)

# Made at test time: copies of the kit's own files, and symbolic links to its solutions
# (whose targets depend on where the kit is).
BUILT = ("all_pass", "stubs", "symlink", "symlink_root", "fifo", "folder_as_module", "bom")
# Graded only with --sandbox: without it, reading the solutions by absolute path works (as
# docs/grading.md says), and the network case needs the listener of the sandbox test.
# The pidfd forger runs only there too: as root (CI), no process is out of its reach, as
# docs/grading.md says; under the sandbox it is user nobody with no capabilities.
SANDBOX_ONLY = ("network", "reads_solutions_by_path", "forged_by_pidfd")
SANDBOXED = (
    "reads_solutions",
    "reads_solutions_by_path",
    "network",
    "stray_processes",
    "forged_by_pidfd",
)
# Slowest first, so that neither of the two jobs is left with a long tail.
SLOW = ("kills_parent", "infinite_loop", "swallowed_cancellation", "left_open")


@dataclass(frozen=True)
class Verdict:
    """What an instructor expects.

    `tasks`: each exercise's task statuses in order, "." pass, "F" fail, "E" error,
    "T" timeout, "?" any (e.g. "01:.F.F 03:F.F"). `says`: for "03" (every task) or "03:2"
    (task 2), a regex that the message of every test there that did not pass must match (for
    an exercise that was not run, because its file was not handed in: its note).
    `notes`: regexes, one per note the submission must get (no notes when empty).
    """

    tasks: str
    says: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


MISSING = "is not in the submission"
STUB = "is not written yet"
# The one note of a submission that lacks one of the two exercise files graded.
NO_01 = r"^not in the submission, so not graded \(0 points\): 01_coroutines/coroutines\.py$"
NO_03 = r"^not in the submission, so not graded \(0 points\): 03_tasks/tasks\.py$"

VERDICTS = {
    "all_pass": Verdict("01:.... 03:..."),
    "stubs": Verdict("01:FFFF 03:FFF", {"01": STUB, "03": STUB}),
    "repo_root": Verdict("01:.... 03:..."),
    "partial": Verdict(
        "01:.F.F 03:F.F",
        {
            "01:2": "coroutine",
            "01:4": STUB,
            "03:1": r"took 5 s of loop time|after the coffee had finished brewing",
            "03:3": "return_exceptions=True",
        },
    ),
    "syntax_error": Verdict("01:.... 03:FFF", {"03": r"has a syntax error on line \d+"}),
    "import_error": Verdict("01:.... 03:FFF", {"03": "ModuleNotFoundError while being imported"}),
    # A file not handed in: not run, 0 points, said once (not once per test).
    "missing_function": Verdict(
        "01:FFFF 03:..F", {"01": MISSING, "03:3": "has no `fetch_report`"}, notes=(NO_01,)
    ),
    "infinite_loop": Verdict(
        "01:.... 03:.T.", {"03:2": r"Stopped after \d s of real time(.|\n)*in fetch_all"}
    ),
    "deadlock": Verdict(
        "01:FFFF 03:..F", {"03:3": r"still waiting after [\d,]+ s of loop time"}, notes=(NO_01,)
    ),
    "blocking_sleep": Verdict(
        "01:FFFF 03:.F.",
        {"03:2": r"time\.sleep\(0\.2\) was called on the event loop's thread"},
        notes=(NO_01,),
    ),
    "swallowed_cancellation": Verdict(
        "01:FFFF 03:.T.", {"03:2": "caught asyncio.CancelledError and carried on"}, notes=(NO_01,)
    ),
    "os_exit_import": Verdict("01:.... 03:EEE", {"03": "exited with status 3 while importing"}),
    "os_exit_call": Verdict("01:FFFF 03:.E.", {"03:2": "ended the whole program"}, notes=(NO_01,)),
    # (A SystemExit in a task of the test's own ends its loop: an error rather than a fail.)
    "sys_exit": Verdict(
        "01:.?.F 03:FFF", {"01:2": "SystemExit", "01:4": "SystemExit"}, notes=(NO_03,)
    ),
    "keyboard_interrupt": Verdict(
        "01:..F. 03:FFF", {"01:3": "raised KeyboardInterrupt"}, notes=(NO_03,)
    ),
    "output_flood": Verdict("01:FFFF 03:...", notes=(NO_01,)),
    "planted_conftest": Verdict("01:FFFF 03:FFF", {"01": STUB, "03": STUB}),
    "edited_tests": Verdict("01:FFFF 03:FFF", {"03": STUB}, notes=(NO_01,)),
    "pytest_config": Verdict("01:FFFF 03:FFF", {"03": STUB}, notes=(NO_01,)),
    "reads_solutions": Verdict(
        "01:FFFF 03:FFF",
        {
            "03:1": "no reference solution reachable by import",
            "03:2": "no reference solution reachable from the working folder",
            "03:3": "no reference solution reachable through sys.path",
        },
        notes=(NO_01,),
    ),
    # Symbolic links, to a file or to a folder, count as missing: the kit's solutions (or
    # another student's folder) must not be graded as this student's work.
    "symlink": Verdict(
        "01:FFFF 03:FFF",
        {"01": "01_coroutines/ is a symbolic link", "03": r"tasks\.py is a symbolic link"},
        notes=(r"01_coroutines.* symbolic link", r"03_tasks/tasks\.py is a symbolic link"),
    ),
    # Not plain files: a note each, and the grader goes on to the next submission.
    "fifo": Verdict(
        "01:.... 03:FFF", {"03": "is a named pipe"}, notes=(r"03_tasks/tasks\.py is a named pipe",)
    ),
    "folder_as_module": Verdict(
        "01:.... 03:FFF", {"03": "is a folder"}, notes=(r"03_tasks/tasks\.py is a folder",)
    ),
    "bom": Verdict("01:.... 03:..."),
    # 01's code rewrites 03's copy with the reference solution: 03 is graded as handed in.
    "rewrites_other_exercise": Verdict(
        "01:???? 03:FFF", {"03": "changed while the submission was being graded"}
    ),
    "symlink_root": Verdict(
        "01:FFFF 03:FFF", {"01": "symbolic", "03": "symbolic"}, notes=("symbolic",)
    ),
    "big_file": Verdict(
        "01:FFFF 03:.F.", {"03:2": "wrote a file larger than this process may"}, notes=(NO_01,)
    ),
    "memory_hog": Verdict("01:.... 03:.F.", {"03:2": r"MemoryError(.|\n)*(\d+ MiB|--memory)"}),
    "kills_parent": Verdict(
        "01:.... 03:.E.",
        {"03:2": "process itself was killed by SIGKILL while this test|killed the grading pro"},
    ),
    # Processes that outlive their test cost that test (they are killed as it ends), so the
    # supervisor's sweep at the end finds none left to note.
    "stray_processes": Verdict(
        "01:FFFF 03:F..",
        {"03:1": r"subprocess <PID> is still running|left <N> processes"},
        notes=(NO_01,),
    ),
    # Threads, executors, sessions, servers and connections the code under test left open
    # cost the test that left them, each named with the line that made it.
    "left_open": Verdict(
        "01:FFFF 03:FFF",
        {
            "03:1": r"started <N> threads? on line 25 .*still running",
            "03:2": r"<N> executors? on line 35(.|\n)*<N> aiohttp\.ClientSessions? on line 37",
            "03:3": r"server.* line 50 .*still listening(.|\n)*connections? to 127\.0\.0\.1:<PORT>",
        },
        notes=(NO_01,),
    ),
    "fork_bomb": Verdict("01:FFFF 03:..F", {"03:3": r"left <N> processes running"}, notes=(NO_01,)),
    "forged_report": Verdict(
        "01:FFFF 03:.E.", {"01": STUB, "03:2": "sent back results that are not this test.s own"}
    ),
    # Whether a child can fake its own test's pass is an open limit (docs/grading.md); the
    # tests that faked nothing must keep their verdicts either way.
    "forged_own_report": Verdict("01:FFFF 03:.?.", notes=(NO_01,)),
}

SANDBOX_VERDICTS = {
    "reads_solutions": VERDICTS["reads_solutions"],
    "reads_solutions_by_path": Verdict(
        "01:...F 03:FFF",
        {
            "01:4": "no reference solution reachable through --rootdir",
            "03:1": "no reference solution reachable from aiokata's folder",
            "03:2": "no reference solution reachable from aiokata's folder",
            "03:3": "no reference solution reachable through --rootdir",
        },
    ),
    "network": Verdict("01:FFFF 03:...", notes=(NO_01,)),
    "stray_processes": VERDICTS["stray_processes"],
    "forged_by_pidfd": Verdict(
        "01:FFFF 03:.E.", {"01": MISSING, "03:2": "ended the whole program"}, notes=(NO_01,)
    ),
}

# Cases the grader still gets wrong (reported to the lead): no golden file, and their verdict
# tests are expected to fail until the grader is fixed.
GRADER_BUGS: dict[str, str] = {}


# -- running the grader ----------------------------------------------------------------------
@dataclass
class Run:
    done: subprocess.CompletedProcess
    grades: dict[str, dict]  # case: the submission's JSON
    report: dict  # the whole --format json output
    leftovers: list[str]  # processes found (and killed) after the run
    seconds: float
    kept: bool = False  # read from an earlier run of the suite rather than graded now


def run_grader(cwd: Path, tmp: Path, cases: list[str], *args: str, out: str = "grades.json") -> Run:
    """`aiokata grade` in a subprocess, as an instructor runs it; then a sweep for leftovers."""
    env = {**os.environ, "TMPDIR": str(tmp / "scratch")}  # scratch folders land under tmp
    (tmp / "scratch").mkdir(exist_ok=True)
    started = time.monotonic()
    where = ("--out", str(tmp / out), "--results", str(tmp / "results"))
    try:
        done = subprocess.run(
            [*AIOKATA, "grade", *cases, "--kit", str(KIT), "--format", "json", *where, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        leftovers = sweep(tmp)  # even when the grader hung: the machine must stay clean
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp / out).read_text())
    grades = {s["name"]: s for s in report["submissions"]}
    return Run(done, grades, report, leftovers, seconds)


def sweep(tmp: Path) -> list[str]:
    """Processes still running with a stray marker in their argv, or with their argv or
    working folder under `tmp`: each is described, then killed so the machine stays clean."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone, a zombie, or a kernel thread
        if any(m in argv for m in STRAY_MARKERS) or str(tmp) in argv or cwd.startswith(str(tmp)):
            found.append(f"{entry.name} (cwd {cwd}): {argv.strip()}")
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
    return found


def build(subs: Path, cases: list[str]) -> None:
    """Copy the committed cases into `subs` and make the BUILT ones there."""
    for case in cases:
        if case not in BUILT:
            shutil.copytree(SUBMISSIONS / case, subs / case, symlinks=True)
            for module in (subs / case).rglob("*.py"):
                text = module.read_text()
                for planted, marker in zip(PLANTED_MARKERS, STRAY_MARKERS, strict=True):
                    text = text.replace(planted, marker)
                module.write_text(text)
    if "all_pass" in cases:  # every exercise, exactly as the kit solves it
        for solution in sorted((KIT / "solutions").glob("[0-9]*/*.py")):
            target = subs / "all_pass" / solution.parent.name / solution.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(solution, target)
    if "stubs" in cases:  # a fresh clone's exercises/, tests and all, untouched
        shutil.copytree(
            KIT / "exercises", subs / "stubs", ignore=shutil.ignore_patterns("__pycache__")
        )
    if "symlink" in cases:
        (subs / "symlink" / "03_tasks").mkdir(parents=True)
        (subs / "symlink" / "03_tasks" / "tasks.py").symlink_to(
            KIT / "solutions" / "03_tasks" / "tasks.py"
        )
        (subs / "symlink" / "01_coroutines").symlink_to(KIT / "solutions" / "01_coroutines")
    solved = {
        name: KIT / "solutions" / name / f"{name[3:]}.py" for name in ("01_coroutines", "03_tasks")
    }
    for case in {"fifo", "folder_as_module"} & set(cases):  # 01 solved; 03 not a file at all
        (subs / case / "01_coroutines").mkdir(parents=True)
        shutil.copyfile(solved["01_coroutines"], subs / case / "01_coroutines" / "coroutines.py")
        (subs / case / "03_tasks").mkdir()
    if "fifo" in cases:  # opening it for reading would wait forever for a writer
        os.mkfifo(subs / "fifo" / "03_tasks" / "tasks.py")
    if "folder_as_module" in cases:
        (subs / "folder_as_module" / "03_tasks" / "tasks.py").mkdir()
    if "bom" in cases:  # as editors on Windows save: a UTF-8 byte-order mark first
        for name, solution in solved.items():
            (subs / "bom" / name).mkdir(parents=True)
            module = subs / "bom" / name / solution.name
            module.write_bytes(b"\xef\xbb\xbf" + solution.read_bytes())
    if "symlink_root" in cases:
        (subs / "symlink_root").mkdir()
        (subs / "symlink_root" / "exercises").symlink_to(KIT / "solutions")


def main_cases() -> list[str]:
    committed = [p.name for p in SUBMISSIONS.iterdir() if p.is_dir()]
    cases = sorted({*committed, *BUILT} - set(SANDBOX_ONLY))
    return sorted(cases, key=lambda c: (c not in SLOW, c))


# What a kept run depends on, besides the engine (and the exact cases and options).
KEPT_FROM = (
    "src/aiokata",
    "exercises",
    "solutions",
    "tests/test_grading.py",
    "tests/grading/submissions",
)


@dataclass
class Keeping:
    """Where one run is kept between runs of the suite: a passing run is stored, a failing
    kept one is dropped (so that the next run grades again)."""

    runs: KeptRuns
    key: str

    def load(self) -> Run | None:
        kept = self.runs.get(self.key)
        if not isinstance(kept, dict):
            return None
        done = subprocess.CompletedProcess([], 0, "", kept["stderr"])
        grades = {s["name"]: s for s in kept["report"]["submissions"]}
        return Run(done, grades, kept["report"], kept["leftovers"], kept["seconds"], kept=True)

    def store(self, run: Run) -> None:
        self.runs.put(
            self.key,
            {
                "report": run.report,
                "leftovers": run.leftovers,
                "stderr": run.done.stderr,
                "seconds": run.seconds,
            },
        )

    def drop(self) -> None:
        self.runs.put(self.key, None)  # reads as missing


def keeping(kept_runs: KeptRuns | None, cases: list[str], *args: str) -> Keeping | None:
    """None when every run must be made now: --fresh-proofs, or writing the goldens."""
    if kept_runs is None or UPDATE:
        return None
    extra = "\n".join([str(KIT), sys.executable, *cases, "--", *args])
    return Keeping(kept_runs, kept_key(KIT, KEPT_FROM, extra))


def graded_or_kept(place: Keeping | None, tmp: Path, cases: list[str], *args: str) -> Run:
    run = place.load() if place is not None else None
    if run is None:
        (tmp / "subs").mkdir(exist_ok=True)
        build(tmp / "subs", cases)
        run = run_grader(tmp / "subs", tmp, cases, *args)
    return run


@contextlib.contextmanager
def said_if_kept(run: Run) -> Iterator[None]:
    """A failure on a kept run says where the run came from."""
    try:
        yield
    except AssertionError as failure:
        if not run.kept:
            raise
        raise AssertionError(
            f"{failure}\n(this grading run was kept from an earlier run of the suite; it is "
            "dropped now, so the next run grades again: `pytest --fresh-proofs` always does)"
        ) from None


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest, tmp_path_factory, kept_runs) -> Iterator[Run]:
    """The one grading run every golden is compared with."""
    cases = main_cases()
    place = keeping(kept_runs, cases, *SETTINGS)
    run = graded_or_kept(place, tmp_path_factory.mktemp("grading"), cases, *SETTINGS)
    failed = request.session.testsfailed
    yield run
    if place is not None:
        passed = request.session.testsfailed == failed
        if passed and not run.kept:
            place.store(run)
        elif not passed and run.kept:
            place.drop()


# -- normalising and comparing ---------------------------------------------------------------
def normalise(text: str) -> str:
    text = text.replace(sys.executable, "<PYTHON>")  # wherever the venv is (CI makes its own)
    text = text.replace(str(KIT), "<KIT>")
    text = re.sub(r"\b0x[0-9a-f]+\b", "0x<ADDR>", text)
    text = re.sub(r"\bsubprocess \d+\b", "subprocess <PID>", text)
    for planted in PLANTED_MARKERS:  # each run's own token (a kept run's too)
        text = re.sub(rf"\b{planted}-[0-9a-f]{{8}}\b", planted, text)
    # A fork bomb may be one process more or less along when it is killed.
    text = re.sub(r"left \d+ process(es)? running", "left <N> processes running", text)
    text = re.sub(r" \(\d+ of them\)", " (<N> of them)", text)
    # What the code under test left open, counted per test (scenario tests call it often).
    kinds = r"(threads?|executors?|aiohttp\.ClientSessions?|servers?|connections?)"
    text = re.sub(rf"\b(started|made|opened) \d+ {kinds}\b", r"\1 <N> \2", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>", text)
    # How long a loaded machine kept a stopped test waiting for a CPU is the machine's.
    text = re.sub(r" \(and [\d.]+ s more, which the busy machine kept it waiting\)", "", text)
    # ... and one may have ended between being found and being described.
    text = re.sub(r"\n    a process that had already ended[^\n]*", "", text)
    # A stack sample of a busy loop may land on any of the loop's lines.
    return re.sub(r"(It was running .*), line \d+, (in \S+:)\n.*", r"\1, line <N>, \2", text)


def summary(grade: dict) -> dict:
    """What a golden file holds: no durations, digests or absolute paths."""
    return {
        "score": grade["score"],
        "max_score": grade["max_score"],
        "sandboxed": grade["sandboxed"],
        "notes": [normalise(note) for note in grade["notes"]],
        "exercises": {
            exercise["name"]: {
                "score": exercise["score"],
                "status": exercise["status"],
                **(
                    {"notes": [normalise(n) for n in exercise["notes"]]}
                    if exercise["notes"]
                    else {}
                ),
                "tasks": {
                    str(task["id"]): {
                        "score": task["score"],
                        "status": task["status"],
                        "tests": {
                            test["name"]: {
                                "status": test["status"],
                                "message": normalise(test["message"]).splitlines(),
                            }
                            for test in task["tests"]
                        },
                    }
                    for task in exercise["tasks"]
                },
            }
            for exercise in grade["exercises"]
        },
    }


def exercise(grade: dict, number: str) -> dict:
    return next(e for e in grade["exercises"] if e["name"].startswith(number))


def flatten(data: object, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        flat: dict[str, object] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}/{key}" if prefix else str(key)))
        return flat
    return {prefix: data}


def compare_with_golden(case: str, grade: dict, golden: Path) -> None:
    actual = summary(grade)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n")
        return
    assert golden.is_file(), f"no {golden.name}: run with AIOKATA_UPDATE_GOLDEN=1 to write it"
    expected = json.loads(golden.read_text())
    mine, theirs = flatten(actual), flatten(expected)
    absent = "<absent>"
    differences = [
        f"{key}:\n    golden: {theirs.get(key, absent)!r}\n    now:    {mine.get(key, absent)!r}"
        for key in sorted(mine.keys() | theirs.keys())
        if mine.get(key) != theirs.get(key)
    ]
    assert not differences, f"{case} differs from {golden.name}:\n" + "\n".join(differences)


def check_verdict(grade: dict, verdict: Verdict) -> None:
    letters = {"pass": ".", "fail": "F", "error": "E", "timeout": "T"}
    exercises = {e["name"][:2]: e for e in grade["exercises"]}
    shown = " ".join(
        f"{key}:" + "".join(letters[t["status"]] for t in e["tasks"])
        for key, e in exercises.items()
    )
    expected = dict(part.split(":") for part in verdict.tasks.split())
    assert set(expected) == set(exercises), f"graded {shown}"
    for key, statuses in expected.items():
        actual = "".join(letters[t["status"]] for t in exercises[key]["tasks"])
        assert len(actual) == len(statuses), f"graded {shown}, expected {verdict.tasks}"
        assert all(e in ("?", a) for e, a in zip(statuses, actual, strict=True)), (
            f"graded {shown}, expected {verdict.tasks}"
        )
    for where, pattern in verdict.says.items():
        key, _, task_id = where.partition(":")
        tasks = [t for t in exercises[key]["tasks"] if not task_id or str(t["id"]) == task_id]
        for test in [x for t in tasks for x in t["tests"] if x["status"] != "pass"]:
            message = normalise(test["message"])
            assert re.search(pattern, message), f"{test['name']}: {pattern!r} not in\n{message}"
        if not any(t["tests"] for t in exercises[key]["tasks"]):  # not run: its note says why
            said = [normalise(n) for n in exercises[key]["notes"]]
            assert any(re.search(pattern, n) for n in said), f"{key}: {pattern!r} not in {said}"
    for graded_exercise in grade["exercises"]:  # one note on an exercise, exactly when not run
        ran = any(t["tests"] for t in graded_exercise["tasks"])
        assert len(graded_exercise["notes"]) == (0 if ran else 1), graded_exercise["notes"]
    notes = [normalise(n) for n in grade["notes"]]
    assert len(notes) == len(verdict.notes), f"notes: {notes}"
    for pattern in verdict.notes:
        assert any(re.search(pattern, n) for n in notes), f"{pattern!r} not in notes {notes}"
    for graded_exercise in grade["exercises"]:  # points follow from the statuses
        for task in graded_exercise["tasks"]:
            assert task["score"] == (task["max_score"] if task["status"] == "pass" else 0)


def bug_marks(case: str) -> list:
    if case in GRADER_BUGS:
        return [pytest.mark.xfail(strict=True, reason=f"grader bug: {GRADER_BUGS[case]}")]
    return []


# -- the main run ----------------------------------------------------------------------------
def test_every_case_has_a_verdict_and_no_golden_is_stale():
    cases = {*main_cases(), *SANDBOX_ONLY}
    assert cases == set(VERDICTS) | set(SANDBOX_ONLY)
    assert set(SANDBOX_VERDICTS) == set(SANDBOXED)
    goldens = {p.name for p in EXPECTED.glob("*.json")}
    wanted = {f"{c}.json" for c in main_cases() if c not in GRADER_BUGS}
    wanted |= {f"{c}.sandboxed.json" for c in SANDBOXED if c not in GRADER_BUGS}
    if not UPDATE:
        assert goldens <= wanted, f"stale golden files: {sorted(goldens - wanted)}"


@pytest.mark.parametrize("case", main_cases())
def test_grade_matches_its_golden_file(case: str, graded: Run):
    golden = EXPECTED / f"{case}.json"
    if case in GRADER_BUGS:
        if UPDATE:
            golden.unlink(missing_ok=True)
        pytest.skip(f"no golden file while the grader gets it wrong: {GRADER_BUGS[case]}")
    with said_if_kept(graded):
        compare_with_golden(case, graded.grades[case], golden)


@pytest.mark.parametrize("case", [pytest.param(c, marks=bug_marks(c)) for c in main_cases()])
def test_grade_is_what_an_instructor_expects(case: str, graded: Run):
    with said_if_kept(graded):
        check_verdict(graded.grades[case], VERDICTS[case])


def test_nothing_the_submissions_started_is_left_running(graded: Run):
    assert not graded.leftovers, "left running (now killed):\n" + "\n".join(graded.leftovers)


def test_the_sweep_finds_what_it_looks_for(tmp_path: Path):
    # Else an empty sweep above would prove nothing.
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", STRAY_MARKERS[0]]
    with subprocess.Popen(sleeper, cwd=tmp_path, start_new_session=True) as stray:
        argv = Path(f"/proc/{stray.pid}/cmdline")
        deadline = time.monotonic() + 5
        while STRAY_MARKERS[0].encode() not in argv.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # a real process, starting
        found = sweep(tmp_path)
        assert stray.wait(timeout=10) == -signal.SIGKILL
    assert len(found) == 1 and STRAY_MARKERS[0] in found[0]


def test_the_other_exercise_is_untouched_by_a_killed_worker(graded: Run):
    # kills_parent kills its worker six times in 03; 01 runs first and 03's other tasks after.
    grade = graded.grades["kills_parent"]
    assert grade["score"] == grade["max_score"] - 2
    tests = exercise(grade, "03")["tasks"][1]["tests"]
    charged = [t for t in tests if t["status"] == "error"]
    assert len(charged) == 6
    assert all("The remaining tests ran in a fresh process" in t["message"] for t in charged)
    assert all(t["status"] == "fail" for t in tests if t not in charged)


def test_a_flood_of_output_is_cut_and_grading_goes_on(graded: Run):
    tests = [
        t for task in exercise(graded.grades["output_flood"], "03")["tasks"] for t in task["tests"]
    ]
    flooded = [t for t in tests if t["output"]]
    assert flooded, "the printed output was lost"
    for test in flooded:
        assert len(test["output"]) < 2200
        assert test["output"].startswith("debug: fetching")
        assert "more characters cut" in test["output"]


def test_planted_files_never_reach_pytest(graded: Run):
    # Their own conftest.py, test files and pytest settings would each turn stubs into passes.
    for case in ("planted_conftest", "edited_tests", "pytest_config"):
        tests = [
            t
            for e in graded.grades[case]["exercises"]
            for task in e["tasks"]
            for t in task["tests"]
        ]
        assert tests and all(t["status"] == "fail" for t in tests), case
        assert graded.grades[case]["score"] == 0


def test_the_reference_solutions_cannot_be_imported_or_found_nearby(graded: Run):
    grade = graded.grades["reads_solutions"]
    assert grade["score"] == 0
    assert [t["status"] for t in exercise(grade, "03")["tasks"]] == ["fail"] * 3


# -- saved results: reuse and --force --------------------------------------------------------
# Awkward files (a named pipe, a folder, symbolic links) and the usual ones, graded for real.
REUSED = ["all_pass", "bom", "fifo", "folder_as_module", "missing_function", "partial", "stubs"]
REUSED += ["symlink"]


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[Run, Path]:
    """A grading run whose saved results the next runs find (never a kept one)."""
    work = tmp_path_factory.mktemp("reuse")
    return graded_or_kept(None, work, REUSED, *SETTINGS), work


def test_results_hold_one_file_per_submission(first):
    run, work = first
    saved = sorted((work / "results").glob("*.json"))
    assert len(saved) == len(run.grades) == len(REUSED)
    names = {json.loads(p.read_text())["grade"]["name"] for p in saved}
    assert names == set(run.grades)


def progress(done: subprocess.CompletedProcess) -> dict[str, str]:
    """`graded NAME: a/b (how)` lines from stderr, whatever width they were wrapped to."""
    text = " ".join(done.stderr.split())
    return dict(re.findall(r"graded (\S+): \d+/\d+ \(([^)]*)\)", text))


def test_a_second_run_reuses_every_saved_grade(first):
    run, work = first
    again = run_grader(work / "subs", work, REUSED, *SETTINGS, out="again.json")
    how = progress(again.done)
    assert set(how) == set(run.grades)
    assert set(how.values()) == {"saved earlier, not regraded"}
    assert again.report == run.report


def test_force_grades_again(first):
    run, work = first
    saved = next(p for p in (work / "results").glob("partial-*.json"))
    before = saved.stat().st_mtime_ns
    forced = run_grader(work / "subs", work, ["partial"], *SETTINGS, "--force", out="forced.json")
    how = progress(forced.done)
    assert re.fullmatch(r"\d+\.\d s", how["partial"]), how  # a duration: graded anew
    assert saved.stat().st_mtime_ns > before
    assert summary(forced.grades["partial"]) == summary(run.grades["partial"])


# -- every exercise --------------------------------------------------------------------------
def test_every_exercise_solved_and_untouched(tmp_path: Path, kept_runs):
    """The reference solutions earn every point of every exercise; fresh stubs earn none,
    each test failing cleanly (not crashing or hanging)."""
    cases = ["all_pass", "stubs"]
    place = keeping(kept_runs, cases, "--jobs", "2")
    run = graded_or_kept(place, tmp_path, cases, "--jobs", "2")
    with said_if_kept(run):
        try:
            solved, untouched = run.grades["all_pass"], run.grades["stubs"]
            assert solved["score"] == solved["max_score"] > 0
            assert not solved["notes"] and not untouched["notes"]
            assert len(untouched["exercises"]) == len(solved["exercises"]) > 2
            assert untouched["score"] == 0
            statuses = {
                t["status"]
                for e in untouched["exercises"]
                for task in e["tasks"]
                for t in task["tests"]
            }
            assert statuses == {"fail"}
            assert not run.leftovers
        except AssertionError:
            if place is not None and run.kept:
                place.drop()
            raise
    if place is not None and not run.kept:
        place.store(run)


# -- the sandbox -----------------------------------------------------------------------------
def own_address() -> str | None:
    """A non-loopback IPv4 address of this machine: traffic to it never leaves the machine."""
    siocgifaddr = 0x8915
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), siocgifaddr, struct.pack("256s", name.encode())
                )
            except OSError:
                continue  # no IPv4 address on it
        address = socket.inet_ntoa(packed[20:24])
        if not address.startswith("127."):
            return address
    return None


class Listener:
    """Counts connections to (address, some free port) while the sandboxed run goes on."""

    def __init__(self, address: str) -> None:
        self.server = socket.socket()
        self.server.bind((address, 0))
        self.server.listen()
        self.server.settimeout(0.1)  # so that the thread notices `stop` quickly
        self.address = self.server.getsockname()
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def reachable(self) -> bool:
        """From outside any sandbox, a connection gets through (and is not counted)."""
        with socket.create_connection(self.address, timeout=5):
            pass
        deadline = time.monotonic() + 5
        while self.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the accepting thread, in real time
        seen, self.connections = self.connections, 0
        return seen == 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.server.close()


def bwrap_works() -> str | None:
    """Why the sandbox cannot run here, or None."""
    found = shutil.which("bwrap")
    if found is None:
        return "bwrap is not on PATH (apt-get install bubblewrap)"
    probe = subprocess.run(
        [found, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory) -> tuple[Run, Listener | None]:
    why = bwrap_works()
    if why is not None:
        pytest.skip(f"--sandbox not checked: {why}")
    tmp = tmp_path_factory.mktemp("sandboxed")
    subs = tmp / "subs"
    subs.mkdir()
    cases = sorted(SANDBOXED)
    build(subs, cases)
    address = own_address()
    listener = Listener(address) if address else None
    if listener is not None:
        assert listener.reachable(), f"the listener on {listener.address} cannot be reached"
        planted = subs / "network" / "03_tasks" / "tasks.py"
        text = re.sub(
            r"^TARGET = .*$", f"TARGET = {listener.address!r}", planted.read_text(), flags=re.M
        )
        planted.write_text(text)
    try:
        run = run_grader(subs, tmp, cases, *SETTINGS, "--sandbox")
    finally:
        if listener is not None:
            listener.close()
    return run, listener


@pytest.mark.parametrize("case", sorted(SANDBOXED))
def test_sandboxed_grade_matches_its_golden_file(case: str, sandboxed):
    run, _ = sandboxed
    assert run.grades[case]["sandboxed"] is True
    compare_with_golden(case, run.grades[case], EXPECTED / f"{case}.sandboxed.json")


@pytest.mark.parametrize("case", sorted(SANDBOXED))
def test_sandboxed_grade_is_what_an_instructor_expects(case: str, sandboxed):
    run, _ = sandboxed
    check_verdict(run.grades[case], SANDBOX_VERDICTS[case])


def test_the_sandbox_has_no_network(sandboxed):
    run, listener = sandboxed
    if listener is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    assert listener.connections == 0
    assert exercise(run.grades["network"], "03")["tasks"][1]["status"] == "pass"


def test_the_sandbox_leaves_nothing_running(sandboxed):
    run, _ = sandboxed
    assert not run.leftovers, "left running (now killed):\n" + "\n".join(run.leftovers)


# -- refusals --------------------------------------------------------------------------------
def refuse(cwd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        # --results in cwd: a refused run must leave no results folder behind
        [*AIOKATA, "grade", *args, "--kit", str(KIT), "--results", "grades"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess, which: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"{which}: {done.stderr}"


@pytest.mark.parametrize(
    ("which", "args", "says"),
    [
        ("missing-folder", ("nowhere",), "nowhere: not a folder"),
        ("unknown-exercise", ("a", "-e", "99"), "no exercise '99'"),
        ("gradescope-two", ("a", "b", "--format", "gradescope"), "gradescope writes one"),
    ],
)
def test_cli_errors_are_one_line_and_exit_1(tmp_path: Path, which: str, args, says: str):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    done = refuse(tmp_path, *args)
    assert done.returncode == 1, done.stderr
    assert says in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "grades").exists()
    one_line(done, which)


def test_sandbox_without_bwrap_is_refused(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "no-bwrap").mkdir()  # a PATH with nothing on it, bwrap least of all
    done = refuse(tmp_path, "a", "--sandbox", path=str(tmp_path / "no-bwrap"))
    assert done.returncode == 1, done.stderr
    assert "`bwrap` is not on PATH" in " ".join(done.stderr.split())
    assert not (tmp_path / "grades").exists()
    one_line(done, "sandbox-without-bwrap")
