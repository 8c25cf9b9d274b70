"""The grader believes a worker's result stream only in the order an honest worker sends it:
the collected tests first, then one test at a time, a start and its one result."""

import pytest

from aiokata.grading.runner import _Attempt

A, B = "exercises/03_tasks/test_tasks.py::test_a", "exercises/01_coroutines/test_c.py::test_b"
COLLECTED = {"event": "collected", "tests": [{"nodeid": A}, {"nodeid": B}]}


def start(nodeid: str) -> dict:
    return {"event": "start", "nodeid": nodeid}


def result(nodeid: str) -> dict:
    return {"event": "result", "result": {"nodeid": nodeid, "status": "pass"}}


def feed(events: list[dict]) -> _Attempt:
    attempt = _Attempt()
    for event in events:
        if not attempt.take(event):
            break
    return attempt


def test_an_honest_stream_is_taken_whole() -> None:
    attempt = feed([COLLECTED, start(A), result(A), start(B), result(B), {"event": "finished"}])
    assert not attempt.broken
    assert set(attempt.results) == {A, B} and attempt.finished


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ([COLLECTED, result(A)], "which was not the test running"),  # never seen to start
        ([COLLECTED, start(A), result(A), result(A)], "which was not the test running"),
        ([COLLECTED, start(A), result(B)], "which was not the test running"),  # another's
        ([COLLECTED, start(A), result(A), start(A)], "out of turn"),  # run twice
        ([COLLECTED, start(A), start(B)], "out of turn"),  # two at once
        ([COLLECTED, start("exercises/x.py::test_never_collected")], "out of turn"),
        ([COLLECTED, start(A), result(A), COLLECTED], "unexpected 'collected'"),
        ([COLLECTED, {"event": "supervisor", "exit": 0}], "unexpected 'supervisor'"),
        ([COLLECTED, start(A), {"event": "finished"}], "unexpected 'finished'"),
        ([COLLECTED, {"event": "result", "result": "pass"}], "which was not the test running"),
    ],
)
def test_anything_out_of_turn_breaks_the_stream(events: list[dict], says: str) -> None:
    attempt = feed([*events, start(B), result(B), {"event": "finished"}])
    assert says in attempt.broken
    assert B not in attempt.results and not attempt.finished  # nothing later is believed
