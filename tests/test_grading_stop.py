"""Stopping `aiokata grade` part-way (Ctrl-C, or a CI job cancelled with SIGTERM) must take
every process of every submission with it, and keep the grades already finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
SOLUTION = KIT / "solutions" / "03_tasks" / "tasks.py"
GRADE = (sys.executable, "-m", "aiokata", "grade", "--kit", str(KIT), "-e", "03")
SPIN = """

async def fetch_all(fetch, urls):
    while True:  # never awaits: only killing the process ends it
        pass
"""


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to watch the processes")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_leaves_nothing_running_and_keeps_finished_grades(
    tmp_path: Path, signum: int
):
    done, spinning = tmp_path / "a_done", tmp_path / "b_spinning"
    for folder, extra in ((done, ""), (spinning, SPIN)):
        (folder / "03_tasks").mkdir(parents=True)
        (folder / "03_tasks" / "tasks.py").write_text(SOLUTION.read_text() + extra)
    results = tmp_path / "results"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        grader = subprocess.Popen(
            [*GRADE, "--results", str(results), "--timeout", "120", str(done), str(spinning)],
            cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(scratch)},  # every process's command line names it
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # SIGINT stays deliverable (a background child of a shell would ignore it)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 60
        # Stop it once the first submission is saved and the second one's tests are running.
        while not (list(results.glob("*.json")) and processes_mentioning("--aiokata-stream")):
            assert grader.poll() is None and time.monotonic() < deadline, errors.read_text()
            time.sleep(0.05)  # real time: waiting for real processes
        time.sleep(0.5)
        grader.send_signal(signum)
        grader.wait(timeout=20)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 1
    assert "run the same command again" in errors.read_text()
    assert "Traceback" not in errors.read_text()
    time.sleep(0.2)
    left = processes_mentioning(str(tmp_path))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "processes of the stopped run were still running"
    saved = list(results.glob("*.json"))
    assert len(saved) == 1, [json.loads(f.read_text())["grade"]["name"] for f in saved]
    (saved,) = saved
    assert json.loads(saved.read_text())["grade"]["score"] == 5
