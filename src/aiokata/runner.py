"""Run exercise tests in a separate pytest process and read back per-test results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run_exercises(
    kit: Path,
    exercises: list[str],
    *,
    solutions: bool = False,
    submission: Path | None = None,
    extra: tuple[str, ...] = (),
    timeout: float = 600,
) -> tuple[int, list[dict], str]:
    """`pytest [--solutions | --submission=DIR] exercises/NN_slug ...` in a child process:
    (exit code, the JSON report's tests, the terminal output)."""
    with tempfile.TemporaryDirectory(prefix="aiokata-run-") as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if solutions:
            command.append("--solutions")
        if submission is not None:
            command.append(f"--submission={submission}")
        command += [f"--aiokata-report={report}", *extra]
        command += [f"exercises/{name}" for name in exercises]
        env = {**os.environ, "COLUMNS": "120"}
        done = subprocess.run(
            command, cwd=kit, capture_output=True, text=True, timeout=timeout, env=env
        )
        output = done.stdout + done.stderr
        tests = json.loads(report.read_text())["tests"] if report.exists() else []
        return done.returncode, tests, output
