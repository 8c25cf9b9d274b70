"""Exercise $NN tests. Run them with `pytest exercises/$NN`."""

import asyncio

import pytest

from aiokata import exercise_module

$slug = exercise_module(__file__)

# FILL IN: replace these examples with the tests of CONTRIBUTING.md's checklist. Every
# assertion's message says what was expected, what happened and the likely mistake.


@pytest.mark.task(1)
async def test_first_adds_one():
    for x in (0, 1, -5, 10**20):
        got = await $slug.first(x)
        assert got == x + 1, f"first({x}) should give {x + 1}, gave {got!r}"


@pytest.mark.task(1)
async def test_first_returns_an_int():
    got = await $slug.first(2)
    assert type(got) is int, f"first(2) should give an int, gave {type(got).__name__}"


@pytest.mark.task(2)
async def test_second_doubles():
    for x in (0, 2, 3, -4):
        got = await $slug.second(x)
        assert got == 2 * x, f"second({x}) should give {2 * x}, gave {got!r}"


@pytest.mark.task(3)
async def test_third_gives_the_number_as_text():
    for x in (0, 7, -1):
        got = await $slug.third(x)
        assert got == str(x), f"third({x}) should give {str(x)!r}, gave {got!r}"


@pytest.mark.task(3)
async def test_third_lets_other_tasks_run():
    ran = []

    async def other():
        ran.append("other")

    task = asyncio.create_task(other())
    try:
        await $slug.third(1)
        assert ran == ["other"], "third() never awaited: another task could not run meanwhile"
    finally:
        await task
