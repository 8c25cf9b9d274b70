"""The mocked web of the HTTP exercises (aiokata.web), proven on its own: what it serves, when,
and what it records. Run with `pytest tests/test_web_fake.py`."""

import asyncio

import aiohttp
import pytest

from aiokata.web import Page, Web

pytestmark = pytest.mark.looptime

SITE = "http://site.test/"


async def test_a_page_is_served_after_its_latency_in_loop_time():
    async with Web({SITE: Page(2.5, "<p>hi</p>")}) as web:
        async with aiohttp.ClientSession() as session:
            async with session.get(SITE) as response:
                assert web.now() == 2.5
                assert response.status == 200
                assert await response.text() == "<p>hi</p>"


async def test_a_request_is_recorded_with_its_start_end_session_and_release():
    async with Web({SITE: Page(1, "a")}) as web:
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as session:
            async with session.get(SITE) as response:
                await response.text()
        (request,) = web.requests
        assert (request.url, request.start, request.end) == (SITE, 0.5, 1.5)
        assert request.session is session
        assert request.task is asyncio.current_task()
        assert request.response and request.read and request.released
        assert web.calls() == {SITE: 1}


async def test_an_unknown_url_is_refused_and_recorded():
    async with Web({SITE: Page(1)}) as web:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError, match="Connection refused"):
                await session.get("http://elsewhere.test/x")
        assert web.unknown == ["http://elsewhere.test/x"]
        assert web.requests == [] and web.now() == 0


async def test_a_cancelled_request_is_recorded_as_cancelled():
    async with Web({SITE: Page(10)}, cancel_steps=3) as web:
        async with aiohttp.ClientSession() as session:
            task = asyncio.create_task(session.get(SITE))
            await asyncio.sleep(1)
            task.cancel()
            await asyncio.sleep(0)
            assert web.requests[0].cancelled is None  # still winding down its connection
            with pytest.raises(asyncio.CancelledError):
                await task
        (request,) = web.requests
        assert request.cancelled == 1 and request.end is None and request.end_seq is not None


async def test_a_sessions_making_and_closing_are_recorded():
    async with Web({}) as web:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        await asyncio.sleep(2)
        await session.close()
        (made,) = web.sessions
        assert made.session is session and made.made == 0 and made.closed == 2
        assert made.seq < made.closed_seq and made.timeout.total == 5


async def test_a_429_with_retry_after_is_served_as_given_then_the_next_answer():
    pages = {SITE: [Page(0, "slow down", 429, retry_after="3"), Page(1, "ok")]}
    async with Web(pages) as web:
        async with aiohttp.ClientSession() as session:
            async with session.get(SITE) as response:
                assert response.status == 429
                assert response.headers["Retry-After"] == "3"
                assert await response.text() == "slow down"
            async with session.get(SITE) as response:
                assert (response.status, await response.text()) == (200, "ok")
        assert [r.attempt for r in web.to(SITE)] == [0, 1]
        assert web.now() == 1


async def test_an_unreachable_page_fails_after_its_latency():
    async with Web({SITE: Page(2, unreachable=True)}) as web:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError, match="Cannot connect to host"):
                await session.get(SITE)
        assert web.now() == 2 and web.requests[0].end == 2


async def test_a_body_takes_its_transfer_time_and_the_request_stays_in_flight():
    async with Web({SITE: Page(1, "big", transfer=2)}) as web:
        async with aiohttp.ClientSession() as session:
            async with session.get(SITE) as response:
                assert web.in_flight == 1
                assert await response.text() == "big"
        (request,) = web.requests
        assert (request.answered, request.read_at, web.in_flight, web.peak) == (1, 3, 0, 1)


async def test_the_web_cleans_up_what_was_left_and_undoes_its_patches():
    init = aiohttp.ClientSession.__init__
    async with Web({SITE: Page(10)}) as web:
        session = aiohttp.ClientSession()
        task = asyncio.create_task(session.get(SITE))
        await asyncio.sleep(1)
    assert task.cancelled() and session.closed and web.sessions[0].closed == 1
    assert aiohttp.ClientSession.__init__ is init
