"""What the forked test process says about the processes a test leaves behind."""

import subprocess
import sys

import pytest

from aiokata import isolation, messages

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not isolation.become_subreaper(),
    reason="stray processes are found through Linux's child subreaper",
)


def _leave(command: list[str], **options) -> list[dict]:
    subprocess.Popen(command, **options)
    return []


def test_a_process_left_in_the_tests_group_is_not_said_to_have_left_it():
    outcome = isolation.run_forked(lambda: _leave(["sleep", "30"]), wall_limit=20)
    # Its command line, unless the group's kill had already ended it.
    shown = ("sleep 30", "a process that had already ended")
    assert outcome.strays in ([f"{s}{isolation.IN_GROUP}"] for s in shown), outcome.strays
    said = messages.strays(outcome.strays)
    assert "left 1 process running" in said
    assert "process group (a session" not in said, said


def test_a_process_in_a_session_of_its_own_is_named_and_said_to_have_left_the_group():
    outcome = isolation.run_forked(
        lambda: _leave(["sleep", "31"], start_new_session=True), wall_limit=20
    )
    assert outcome.strays == ["sleep 31"]
    said = messages.strays(outcome.strays)
    assert "    sleep 31\n" in said and "They had left the test's process group" in said, said
