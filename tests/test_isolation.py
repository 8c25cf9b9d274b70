"""What the forked test process says about the processes a test leaves behind.

Each case runs in a fresh interpreter: becoming a child subreaper would otherwise make this
suite's own process the parent of every orphan the other tests leave."""

import json
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
