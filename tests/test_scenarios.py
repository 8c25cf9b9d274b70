"""Generated scenarios (aiokata.scenarios) and the plain messages for unexpected errors, proven
on a tiny kit of their own: a learner's wrong answer fails with the test's words about the
smallest scenario, the same way every run, and no traceback or hypothesis report is shown."""

import shutil
import textwrap
from pathlib import Path

import pytest

from aiokata import runner

KIT = Path(__file__).resolve().parents[1]

METADATA = """
number = 7
slug = "demo"
title = "Demo"
concept = "a demo"
hints = ["nudge", "more", "nearly the answer"]
[[tasks]]
id = 1
title = "double everything"
points = 1
[[tasks]]
id = 2
title = "total"
points = 1
[[tasks]]
id = 3
title = "unpack"
points = 1
"""

TESTS = """
import asyncio

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

demo = exercise_module(__file__)


async def slow(value, delay):
    await asyncio.sleep(delay)
    return value


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(items=st.lists(st.tuples(st.sampled_from(["a", "b", ""]),
                                          st.sampled_from([0, 1, 10_000])), max_size=4))
async def test_double_in_any_scenario(items):
    loop = asyncio.get_running_loop()
    started = loop.time()
    values = [value for value, _ in items]
    scenarios.describe(f"with values {values!r}")
    result = await demo.double_all([slow(v, d) for v, d in items])
    checks.equal(result, [v * 2 for v in values], f"double_all() with values {values!r}")
    checks.took(loop.time() - started, max((d for _, d in items), default=0), "double_all()")


@pytest.mark.task(2)
async def test_total_of_slow_values():
    checks.equal(await demo.total([slow(1, 1), slow(2, 1)]), 3, "total()")


@pytest.mark.task(2)
async def test_total_counts_a_failure_as_zero():
    async def broken():
        raise ConnectionError("down")

    checks.equal(await demo.total([broken(), slow(2, 1)]), 2, "total()")


@pytest.mark.task(3)
async def test_pair_unpacks():
    first, second = await demo.pair()
    checks.equal((first, second), (1, 2), "pair()")
"""

RIGHT = """
import asyncio


async def double_all(jobs):
    return [value * 2 for value in await asyncio.gather(*jobs)]


async def total(jobs):
    results = await asyncio.gather(*jobs, return_exceptions=True)
    return sum(r for r in results if not isinstance(r, Exception))


async def pair():
    return 1, 2
"""


def _kit(tmp_path: Path, answer: str) -> Path:
    kit = tmp_path / "kit"
    folder = kit / "exercises" / "07_demo"
    folder.mkdir(parents=True)
    shutil.copyfile(KIT / "pyproject.toml", kit / "pyproject.toml")
    (folder / "exercise.toml").write_text(METADATA)
    (folder / "test_demo.py").write_text(TESTS)
    (folder / "README.md").write_text("# demo\n")
    (folder / "demo.py").write_text(textwrap.dedent(answer))
    return kit


def _run(kit: Path) -> tuple[dict[str, dict], str]:
    _, tests, output = runner.run_exercises(kit, ["07_demo"], timeout=120)
    return {t["nodeid"].split("::")[-1]: t for t in tests}, output


def test_a_right_answer_passes_every_scenario_and_leaves_no_files(tmp_path: Path) -> None:
    kit = _kit(tmp_path, RIGHT)
    tests, output = _run(kit)
    assert tests and all(t["status"] == "pass" for t in tests.values()), output
    assert not (kit / ".hypothesis").exists()
    assert not (kit / "exercises" / "07_demo" / ".hypothesis").exists()


def test_a_wrong_answer_fails_on_the_smallest_scenario_in_the_tests_words(tmp_path: Path) -> None:
    merged = RIGHT.replace(
        "return [value * 2 for value in await asyncio.gather(*jobs)]",
        "return list(dict.fromkeys(v * 2 for v in await asyncio.gather(*jobs)))",
    )
    kit = _kit(tmp_path, merged)
    first, output = _run(kit)
    message = first["test_double_in_any_scenario"]["message"]
    assert message.startswith("double_all() with values ['a', 'a']: expected ['aa', 'aa']")
    for internal in ("Falsifying example", "Traceback", "hypothesis"):
        assert internal not in message
        assert internal not in output
    again, _ = _run(kit)
    assert again["test_double_in_any_scenario"]["message"] == message  # derandomized


def test_a_hidden_time_limit_fails_a_very_long_scenario(tmp_path: Path) -> None:
    limited = RIGHT.replace(
        "return [value * 2 for value in await asyncio.gather(*jobs)]",
        "return [v * 2 for v in await asyncio.wait_for(asyncio.gather(*jobs), 3600)]",
    )
    tests, _ = _run(_kit(tmp_path, limited))
    message = tests["test_double_in_any_scenario"]["message"]
    assert message.startswith("Scenario: with values ['a']\ndouble_all() let TimeoutError")


def test_a_deadlock_in_a_scenario_meets_the_loop_limit(tmp_path: Path) -> None:
    stuck = RIGHT.replace(
        "return [value * 2 for value in await asyncio.gather(*jobs)]",
        "await asyncio.Event().wait()",
    )
    tests, _ = _run(_kit(tmp_path, stuck))
    result = tests["test_double_in_any_scenario"]
    assert result["status"] == "fail"
    assert "still waiting after 100,000 s of loop time" in result["message"]


def test_unexpected_errors_say_who_raised_what_and_where(tmp_path: Path) -> None:
    wrong = RIGHT.replace(
        "return [value * 2 for value in await asyncio.gather(*jobs)]",
        "return [value * 2 for value in await asyncio.gather(*jobs)][len(jobs)]",
    )
    wrong = wrong.replace(
        "results = await asyncio.gather(*jobs, return_exceptions=True)",
        "results = await asyncio.gather(*jobs)",
    )
    wrong = wrong.replace("return 1, 2", "return None")
    tests, output = _run(_kit(tmp_path, wrong))
    scenario = tests["test_double_in_any_scenario"]["message"]
    assert scenario.startswith("Scenario: with values []\n")
    assert "double_all() raised IndexError: list index out of range, at " in scenario
    assert "demo.py, line 6: `return [value * 2" in scenario

    escaped = tests["test_total_counts_a_failure_as_zero"]["message"]
    assert escaped.startswith(
        "total() let ConnectionError: down escape. It came from the test's own broken(), "
        "which raises it on purpose, called at "
    )
    assert "`results = await asyncio.gather(*jobs)`" in escaped

    unpacked = tests["test_pair_unpacks"]["message"]
    assert unpacked.startswith(
        "While checking what your code did, the test hit TypeError: cannot unpack "
        "non-iterable NoneType object at "
    )
    assert "`first, second = await demo.pair()`" in unpacked
    assert "Likely: your code returned something other than" in unpacked
    assert "Traceback" not in output


@pytest.mark.parametrize("verbose", [False, True])
def test_authors_get_pytests_traceback_with_vv(tmp_path: Path, verbose: bool) -> None:
    wrong = RIGHT.replace("return 1, 2", "return None")
    extra = ("-vvv",) if verbose else ()  # the runner passes -q: -vvv makes it -vv
    _, _, output = runner.run_exercises(
        _kit(tmp_path, wrong), ["07_demo"], extra=(*extra, "-k", "pair"), timeout=120
    )
    assert ("E   TypeError: cannot unpack" in output) is verbose


def test_a_failure_that_comes_and_goes_is_told_plainly(tmp_path: Path) -> None:
    flaky = RIGHT.replace(
        "async def double_all(jobs):\n",
        "CALLS = [0]\n\n\nasync def double_all(jobs):\n"
        "    CALLS[0] += 1\n"
        "    if CALLS[0] == 3:\n"
        "        return []\n",
    )
    tests, _ = _run(_kit(tmp_path, flaky))
    message = tests["test_double_in_any_scenario"]["message"]
    assert message.startswith("This scenario failed once and passed when run again")
    assert "The failure it gave:\ndouble_all() with values" in message
    assert "Flaky" not in message
