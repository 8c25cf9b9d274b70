"""What the forked test process says about the processes a test leaves behind.

Each case runs in a fresh interpreter: becoming a child subreaper would otherwise make this
suite's own process the parent of every orphan the other tests leave."""

import json
import os
import subprocess
import sys

import pytest

from aiokata import isolation, messages

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="strays are found on Linux only")

CASE = """
import json, subprocess, sys
from aiokata import isolation
def leave():
    subprocess.Popen(sys.argv[1:-1], start_new_session=sys.argv[-1] == "own-session")
    return []
assert isolation.become_subreaper()
print(json.dumps(isolation.run_forked(leave, wall_limit=20).strays))
"""


def strays_of(*command: str, session: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CASE, *command, session],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_process_left_in_the_tests_group_is_not_said_to_have_left_it():
    found = strays_of("sleep", "30", session="same")
    # Its command line, unless the group's kill had already ended it.
    shown = ("sleep 30", "a process that had already ended")
    assert found in ([f"{s}{isolation.IN_GROUP}"] for s in shown), found
    said = messages.strays(found)
    assert "left 1 process running" in said
    assert "process group (a session" not in said, said


def test_a_process_in_a_session_of_its_own_is_named_and_said_to_have_left_the_group():
    found = strays_of("sleep", "31", session="own-session")
    # At a load of 8 it was once found in the middle of its exec(), with no command line
    # yet: the kit now asks again (isolation._describe).
    assert found == ["sleep 31"], found
    said = messages.strays(found)
    assert "    sleep 31\n" in said and "They had left the test's process group" in said, said


# The wall limit counts the child's own time, not the time a loaded machine kept it waiting.

LIMITED = """
import json, sys, time
from aiokata import isolation
sleep, limit, machine_wait = (float(a) for a in sys.argv[1:])
if machine_wait:
    isolation.waited = lambda pid: machine_wait  # as if the machine had been that busy
def child():
    time.sleep(sleep)
    return [{"slept": sleep}]
outcome = isolation.run_forked(child, wall_limit=limit)
print(json.dumps({"killed": outcome.killed, "reports": outcome.reports, "waited": outcome.waited}))
"""


def run_limited(sleep: float, limit: float, machine_wait: float = 0.0) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, str(sleep), str(limit), str(machine_wait)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_child_that_blocks_past_its_limit_is_stopped():
    # Blocked in a sleep, it waits on no run queue: nothing extends its limit.
    outcome = run_limited(sleep=60, limit=0.5)
    assert outcome["killed"] and outcome["reports"] is None, outcome


def test_time_spent_waiting_for_a_cpu_extends_the_limit():
    outcome = run_limited(sleep=1, limit=0.5, machine_wait=90)
    assert not outcome["killed"] and outcome["reports"] == [{"slept": 1.0}], outcome
    assert outcome["waited"] == 90


def test_waited_reads_the_run_queue_time_of_a_process():
    assert isolation.waited(os.getpid()) >= 0.0
    assert isolation.waited(2**22 + 1) == 0.0  # above Linux's largest pid: no such process


def test_a_stopped_tests_message_counts_the_time_the_machine_took():
    outcome = isolation.Outcome(killed=True, waited=4.25)
    message, status, _ = messages.lost_child(outcome, "exercises/01_coroutines/coroutines.py", 3)
    assert status == "timeout"
    assert "Stopped after 3 s of real time (and 4.2 s more, which the busy machine" in message
