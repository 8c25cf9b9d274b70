"""Grade a repository with aiokata and hand the score to GitHub Classroom.

The grading workflow (aiokata.yml) runs this in the student's repository:

    python autograders/github-classroom/classroom.py --kit KIT [SUBMISSION]

It runs `aiokata grade` (the Python running this script must have aiokata installed), then
reports the way Classroom's own graders do: base64-encoded JSON in this step's `result`
output, which classroom-resources/autograding-grading-reporter reads from GRADE_RESULTS.
Each task of each exercise is one reported test worth the task's points, so partial credit
counts. It also writes a table to the job summary. It exits 0 whatever the score: the
reporter step decides whether the job fails.

Environment: AIOKATA_EXERCISES ("01 02 ..."; empty: all), AIOKATA_TIMEOUT (seconds), and the
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and RUNNER_TEMP files and folders that Actions provides.
Without GITHUB_OUTPUT the payload is printed instead, to try it locally.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

MAIN = 'from aiokata.cli import main; main(prog_name="aiokata")'
MESSAGE_LIMIT = 1500  # characters of failure messages per reported test
REPORTER_STATUS = {"pass": "pass", "fail": "fail", "error": "error", "timeout": "error"}


def grade_command(
    kit: Path, submission: Path, out: Path, results: Path, timeout: str, exercises: list[str]
) -> list[str]:
    command = [sys.executable, "-c", MAIN, "grade", str(submission), "--kit", str(kit)]
    command += ["--format", "json", "--out", str(out), "--results", str(results)]
    command += ["--timeout", timeout]
    for key in exercises:
        command += ["-e", key]
    return command


def max_points(kit: Path, exercises: list[str]) -> int:
    """The points at stake, read from the metadata alone: for a report when grading failed."""
    total = 0
    for metadata in sorted((kit / "exercises").glob("*/exercise.toml")):
        name = metadata.parent.name
        number, _, slug = name.partition("_")
        if exercises and not any(
            k in (name, slug) or k.lstrip("0") == number.lstrip("0") for k in exercises
        ):
            continue
        try:
            data = tomllib.loads(metadata.read_text(encoding="utf-8"))
            total += sum(int(task["points"]) for task in data.get("tasks", []))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return total


def task_message(task: dict) -> str | None:
    if task["status"] == "pass":
        return None
    if not task["tests"]:
        return "No test of this task reported a result."
    parts = []
    for test in task["tests"]:
        if test["status"] != "pass":
            why = (test.get("message") or test["status"]).strip()
            parts.append(f"{test['name']} ({test['status']}): {why}")
    text = "\n".join(parts)
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT] + "\n..."
    return text


def payload_from_report(report: dict) -> dict:
    """The reporter's input (version 1) for one graded submission."""
    (submission,) = report["submissions"]
    tests = []
    for exercise in submission["exercises"]:
        module = exercise["name"].partition("_")[2] + ".py"
        for task in exercise["tasks"]:
            seconds = sum(test.get("duration", 0.0) for test in task["tests"])
            tests.append(
                {
                    "name": f"{exercise['number']:02d} {exercise['title']}, task {task['id']}: "
                    f"{task['title']}",
                    "status": REPORTER_STATUS.get(task["status"], "error"),
                    "score": task["score"],
                    "message": task_message(task),
                    "test_code": f"pytest exercises/{exercise['name']}",
                    "filename": f"exercises/{exercise['name']}/{module}",
                    "line_no": 0,
                    "execution_time": f"{seconds:.2f}s",
                }
            )
    full = submission["score"] == submission["max_score"]
    return {
        "version": 1,
        "status": "pass" if full and submission["exercises"] else "fail",
        "max_score": submission["max_score"],
        "tests": tests,
    }


def failed_payload(reason: str, points: int) -> dict:
    return {
        "version": 1,
        "status": "error",
        "max_score": points,
        "tests": [
            {
                "name": "aiokata grade",
                "status": "error",
                "score": 0,
                "message": reason,
                "test_code": "aiokata grade",
                "filename": "",
                "line_no": 0,
                "execution_time": "0s",
            }
        ],
    }


def summary_markdown(payload: dict, notes: list[str]) -> str:
    score = sum(test["score"] for test in payload["tests"])
    lines = [f"## aiokata: {score}/{payload['max_score']} points", ""]
    lines += ["| task | result | points |", "|---|---|---|"]
    marks = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error"}
    for test in payload["tests"]:
        name = test["name"].replace("|", "\\|")
        lines.append(f"| {name} | {marks.get(test['status'], test['status'])} | {test['score']} |")
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    lines.append("")
    lines.append(
        "Run `aiokata check NN` (or `pytest exercises/NN`) locally to see why a task fails."
    )
    return "\n".join(lines) + "\n"


def append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)


def run(kit: Path, submission: Path, timeout: str, exercises: list[str]) -> tuple[dict, list[str]]:
    """Grade, and return the reporter payload and the grader's notes; never raises."""
    with tempfile.TemporaryDirectory(
        prefix="aiokata-classroom-", dir=os.environ.get("RUNNER_TEMP")
    ) as temp:
        return _grade(kit, submission, timeout, exercises, Path(temp))


def _grade(
    kit: Path, submission: Path, timeout: str, exercises: list[str], work: Path
) -> tuple[dict, list[str]]:
    out = work / "grades.json"
    command = grade_command(kit, submission, out, work / "saved", timeout, exercises)
    try:
        limit = float(timeout) + 120  # the grader stops itself first; this is the backstop
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return failed_payload(f"the grader could not run: {exc}", max_points(kit, exercises)), []
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr, flush=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-MESSAGE_LIMIT:]
        reason = f"aiokata grade exited with code {done.returncode}: {tail}"
        return failed_payload(reason, max_points(kit, exercises)), []
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
        notes = list(report["submissions"][0].get("notes", []))
        return payload_from_report(report), notes
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        reason = f"could not read the grader's report: {exc!r}"
        return failed_payload(reason, max_points(kit, exercises)), []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", default=".", type=Path)
    parser.add_argument("--kit", type=Path, default=Path("."), help="the kit whose tests grade")
    parser.add_argument("--timeout", default=os.environ.get("AIOKATA_TIMEOUT") or "600")
    args = parser.parse_args(argv)
    exercises = (os.environ.get("AIOKATA_EXERCISES") or "").split()
    payload, notes = run(args.kit.resolve(), args.submission.resolve(), args.timeout, exercises)

    for test in payload["tests"]:
        mark = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[test["status"]]
        print(f"{mark} {test['score']:>3}  {test['name']}")
        if test["message"]:
            print("\n".join(f"        {line}" for line in test["message"].splitlines()))
    for note in notes:
        print(f"note: {note}")
    score = sum(test["score"] for test in payload["tests"])
    print(f"aiokata: {score}/{payload['max_score']} points")

    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    if os.environ.get("GITHUB_OUTPUT"):
        append(os.environ["GITHUB_OUTPUT"], f"result={encoded}\n")
    else:
        print(json.dumps(payload, indent=2))
    append(os.environ.get("GITHUB_STEP_SUMMARY"), summary_markdown(payload, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
