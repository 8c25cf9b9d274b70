#!/usr/bin/env python3
"""Grade one Classroom 50 submission with aiokata and write the result.json Classroom 50 reads.

`aiokata bundle classroom50 --out DIR` puts this file in DIR beside aiokata.env (its settings)
and kit/ (the kit's tests, without solutions). DIR belongs in your classroom50 repository as
CLASSROOM/autograders/ASSIGNMENT/; Classroom 50's runner then runs it once per submission,
with the student's checkout as the current folder:

    python autograder.py

What it honours is Classroom 50's autograder contract (its wiki, Advanced-Autograding.md: "Contract"
and "The result.json contract"; the checks in cli/gh-teacher/skeleton/dotgithub/scripts/runner.py):

- It reads CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL, RELEASE_URL and REVIEW_URL (and
  OWNER / ASSIGNMENT_TYPE when set: the runner stamps those itself) from the environment.
- It writes ./result.json (schema classroom50/result/v1): one test per task of each exercise,
  passed when all of the task's tests pass, worth the task's points; score and max-score are
  the sums. Each test also carries aiokata's status and the first failure's message.
- It writes ./release-body.md: the same tasks as a Markdown table per exercise, with why each
  lost task failed (`aiokata grade --format markdown`).
- It exits 0 whenever the submission was graded, whatever the score (a broken submission is a
  graded one: its tasks fail). It exits 1, writing no result.json, when grading itself could not
  run (no Python >= 3.11, the kit would not install, the grader failed); the runner then reports
  an error and leaves the submission's release as it was.

Settings (aiokata.env; an environment variable of the same name wins):
  AIOKATA_EXERCISES   exercises to grade, e.g. "01 02" (empty: all of them)
  AIOKATA_TIMEOUT     real seconds for the whole submission (Classroom 50 stops the job at 15 min)
  AIOKATA_MEMORY      MiB of address space per process of the submission
  AIOKATA_SANDBOX     auto (bubblewrap when the runner allows it), on (required) or off
  AIOKATA_PYTHON      a Python that already has aiokata installed; unset: the kit is installed
                      into a fresh virtual environment in RUNNER_TEMP (from PyPI, for its
                      dependencies)
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT = HERE / "kit"
SETTINGS_FILE = HERE / "aiokata.env"
SETTINGS = ("AIOKATA_EXERCISES", "AIOKATA_TIMEOUT", "AIOKATA_MEMORY", "AIOKATA_SANDBOX")
DEFAULTS = {"AIOKATA_TIMEOUT": "480", "AIOKATA_MEMORY": "2048", "AIOKATA_SANDBOX": "auto"}
IDENTITY = ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL")
SCHEMA = "classroom50/result/v1"
RESULT = Path("result.json")
RELEASE_BODY = Path("release-body.md")
MAIN = 'from aiokata.cli import main; main(prog_name="aiokata")'
NAME_BYTES = 100  # Classroom 50 caps its own test names at 100 bytes; these stay within it
MESSAGE_LIMIT = 300
BWRAP_PROBE = "bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --proc /proc "
BWRAP_PROBE += "--dev /dev --uid 65534 --gid 65534 true"
# Ubuntu 24.04 (GitHub's ubuntu-latest) lets bubblewrap create namespaces only with this off.
USERNS_SYSCTL = "sudo -n sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0"
# Terminal escape sequences whole (stripping only their ESC would leave "[31m" behind), then
# any other control character: as aiokata's own formats clean learner text.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab, newline, return


class CannotGrade(Exception):
    """Grading could not run; the message says why, in one line."""


def log(text: str) -> None:
    # Indented: only a line starting with "::" is a workflow command, and names and messages
    # come from the submission.
    print(f"  {text}", flush=True)


def settings() -> dict[str, str]:
    """aiokata.env's KEY=VALUE lines, read as data; the environment wins over the file."""
    found = dict(DEFAULTS)
    if SETTINGS_FILE.is_file():
        for line in SETTINGS_FILE.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in SETTINGS:
                found[key.strip()] = value.strip()
    for key in SETTINGS:
        if key in os.environ:
            found[key] = os.environ[key]
    return found


def identity() -> dict[str, str]:
    missing = [name for name in IDENTITY if not os.environ.get(name, "").strip()]
    if missing:
        raise CannotGrade(
            f"{', '.join(missing)} not set: Classroom 50's runner sets them (to try this "
            "script by hand, set them yourself; autograders/README.md shows how)"
        )
    names = (*IDENTITY, "REVIEW_URL")
    return {name: os.environ[name].strip() for name in names if os.environ.get(name, "").strip()}


def run(
    command: list[str], work: Path, timeout: float | None = None
) -> subprocess.CompletedProcess:
    # Never from the student's checkout, and every Python with -I: with the checkout as its
    # current folder, `python -c` or `-m` would import an aiokata/, pip/ or venv/ planted there.
    try:
        return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotGrade(f"{Path(command[0]).name} could not run: {exc}") from None


def tail(done: subprocess.CompletedProcess) -> str:
    text = (done.stderr or done.stdout or "").strip()
    return " ".join(text[-600:].split())


def grading_python(work: Path) -> str:
    """A Python with aiokata: AIOKATA_PYTHON, or the kit installed into a fresh environment."""
    given = os.environ.get("AIOKATA_PYTHON", "").strip()
    if given:
        try:
            done = run([given, "-I", "-c", "import aiokata"], work, timeout=120)
            why = "" if done.returncode == 0 else tail(done)
        except CannotGrade as exc:
            why = str(exc)
        if why:
            raise CannotGrade(f"AIOKATA_PYTHON={given} cannot import aiokata: {why}")
        return given
    # This script runs on the runner's Python, which the assignment's runtime block picks.
    if sys.version_info < (3, 11):  # noqa: UP036
        raise CannotGrade(
            f"aiokata needs Python 3.11 or newer and this is {sys.version.split()[0]}: set the "
            'assignment\'s runtime to {"python": "3.12"}'
        )
    venv = work / "aiokata-venv"
    done = run([sys.executable, "-I", "-m", "venv", "--clear", str(venv)], work, timeout=300)
    if done.returncode != 0:
        raise CannotGrade(f"could not make a virtual environment: {tail(done)}")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [str(python), "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = run([*install, str(KIT)], work, timeout=600)
    if done.returncode != 0:
        raise CannotGrade(f"could not install the kit from {KIT}: {tail(done)}")
    return str(python)


def sandbox_flag(mode: str, work: Path) -> list[str]:
    if mode == "off":
        return []
    if mode not in ("auto", "on"):
        raise CannotGrade(f"AIOKATA_SANDBOX must be auto, on or off, not {mode!r}")

    def probe() -> bool:
        return run(BWRAP_PROBE.split(), work, timeout=60).returncode == 0

    if shutil.which("bwrap") is not None:
        if probe():
            return ["--sandbox"]
        if shutil.which("sudo") and run(USERNS_SYSCTL.split(), work, timeout=60).returncode == 0:
            if probe():
                return ["--sandbox"]
    if mode == "on":
        raise CannotGrade(
            "AIOKATA_SANDBOX=on, but bubblewrap cannot run on this runner (add it to the "
            'assignment\'s runtime: "apt": ["bubblewrap"])'
        )
    log("bubblewrap cannot run on this runner: grading without --sandbox")
    return []


def grade(python: str, found: dict[str, str], work: Path) -> tuple[dict, str]:
    """The grade of the current folder, the student's checkout (aiokata's JSON, one
    submission), and the same grade as Markdown."""
    try:
        timeout = float(found["AIOKATA_TIMEOUT"])
    except ValueError:
        seconds = found["AIOKATA_TIMEOUT"]
        raise CannotGrade(f"AIOKATA_TIMEOUT must be seconds, not {seconds!r}") from None
    common = [python, "-I", "-c", MAIN, "grade", str(Path.cwd()), "--kit", str(KIT)]
    common += ["--results", str(work / "saved"), "--timeout", found["AIOKATA_TIMEOUT"]]
    common += ["--memory", found["AIOKATA_MEMORY"], *sandbox_flag(found["AIOKATA_SANDBOX"], work)]
    for key in found["AIOKATA_EXERCISES"].split():
        common += ["-e", key]
    outputs = {}
    for fmt in ("json", "markdown"):  # the second reads the saved grade back: nothing reruns
        out = work / f"grades.{fmt}"
        done = run([*common, "--format", fmt, "--out", str(out)], work, timeout=timeout + 120)
        print(done.stderr, end="", flush=True)  # the grader's progress and notes
        if done.returncode != 0:
            raise CannotGrade(f"aiokata grade exited with code {done.returncode}: {tail(done)}")
        outputs[fmt] = out.read_text(encoding="utf-8")
    try:
        (graded,) = json.loads(outputs["json"])["submissions"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CannotGrade(f"could not read the grader's report: {exc!r}") from None
    return graded, outputs["markdown"]


def one_line(text: str, limit: int) -> str:
    line = " ".join(_CONTROL.sub("", _ANSI.sub("", text)).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def test_name(exercise: dict, task: dict) -> str:
    name = one_line(
        f"{exercise['number']:02d} {exercise['title']}, task {task['id']}: {task['title']}", 400
    )
    raw = name.encode("utf-8")
    if len(raw) <= NAME_BYTES:
        return name
    return raw[: NAME_BYTES - 3].decode("utf-8", "ignore").rstrip() + "…"


def first_failure(exercise: dict, task: dict) -> str:
    if task["status"] == "pass":
        return ""
    if not task["tests"] and exercise.get("notes"):
        return one_line(" ".join(exercise["notes"]), MESSAGE_LIMIT)
    for test in task["tests"]:
        if test["status"] != "pass":
            lines = [line.strip() for line in test.get("message", "").splitlines()]
            raised = [line[1:].strip() for line in lines if line.startswith("E ")]
            why = next((line for line in raised + lines if line), test["status"])
            return one_line(f"{test['name']}: {why}", MESSAGE_LIMIT)
    return "no test results for this task"


def result(graded: dict, who: dict[str, str]) -> dict:
    """result.json, as Classroom 50's contract lays it out: a test per task."""
    tests = []
    for exercise in graded["exercises"]:
        for task in exercise["tasks"]:
            tests.append(
                {
                    "test-name": test_name(exercise, task),
                    "passed": task["status"] == "pass",
                    "score": int(task["score"]),
                    "max-score": int(task["max_score"]),
                    # Diagnostic fields, kept as they are by Classroom 50:
                    "status": task["status"],
                    "message": first_failure(exercise, task),
                }
            )
    graded_at = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (any Python 3)
    data = {"schema": SCHEMA, "classroom": who["CLASSROOM"], "assignment": who["ASSIGNMENT"]}
    # The runner stamps these two itself (and `datetime`, `graded_at`, `submitted_by`), over
    # whatever is here; they are written when known so that the file reads whole on its own.
    if os.environ.get("ASSIGNMENT_TYPE"):
        data["assignment_type"] = os.environ["ASSIGNMENT_TYPE"]
    if os.environ.get("OWNER") or os.environ.get("USERNAME"):
        data["owner"] = os.environ.get("OWNER") or os.environ["USERNAME"]
    data |= {
        "submission": who["SUBMISSION_TAG"],
        "commit": who["COMMIT_URL"],
        "release": who["RELEASE_URL"],
        "review": who.get("REVIEW_URL") or who["COMMIT_URL"],
        "datetime": graded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "score": sum(test["score"] for test in tests),
        "max-score": sum(test["max-score"] for test in tests),
        "tests": tests,
    }
    return data


def write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="aiokata-classroom50-", dir=os.environ.get("RUNNER_TEMP")))
    try:
        who = identity()
        found = settings()
        python = grading_python(work)
        graded, markdown = grade(python, found, work)
        data = result(graded, who)
    except CannotGrade as exc:
        print(f"::error title=aiokata::{one_line(str(exc), 2000)}", file=sys.stderr, flush=True)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hint = "Run `aiokata check NN` in your repository to see every failing test and why.\n"
    write(RELEASE_BODY, f"{markdown.rstrip()}\n\n{hint}")
    write(RESULT, json.dumps(data, indent=2) + "\n")  # ASCII: whatever the runner's locale
    for test in data["tests"]:
        mark = "PASS" if test["passed"] else "FAIL"
        log(f"{mark}  {test['test-name']}  ({test['score']}/{test['max-score']})")
        if test["message"]:
            log(f"      {test['message']}")
    log(f"aiokata: {data['score']}/{data['max-score']} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
