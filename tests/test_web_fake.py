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


# The shared hygiene checks, each proven on a planted mistake and on clean code.

OTHER = "http://site.test/other"


def hygiene_story(web: Web, check, *args) -> str:
    """The message `check` fails with ("" when it passes)."""
    try:
        check(*args)
    except pytest.fail.Exception as failure:
        return str(failure)
    return ""


async def clean_call(web: Web) -> None:
    async with aiohttp.ClientSession() as session:
        for url in (SITE, OTHER):
            async with session.get(url) as response:
                await response.text()
    web.note_end()


async def test_clean_code_passes_every_hygiene_check():
    async with Web({SITE: Page(1, "a"), OTHER: Page(2, "b")}) as web:
        await clean_call(web)
        for check, args in [
            (web.check_own_session, ("", "f()")),
            (web.check_running, ("", "f()", True)),
            (web.check_closed_sessions, ("",)),
            (web.check_sessions_closed, ("", "f()")),
            (web.check_released, ("", "f()")),
        ]:
            assert hygiene_story(web, check, *args) == ""


async def test_a_session_per_request_is_told_with_its_count():
    async with Web({SITE: Page(1, "a"), OTHER: Page(1, "b")}) as web:
        for url in (SITE, OTHER):
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as response:
                    await response.text()
        web.note_end()
        story = hygiene_story(web, web.check_own_session, "two pages: ", "f()")
        assert story.startswith("two pages: f() opened 2 aiohttp.ClientSession objects")
        assert "for 2 requests, one per request" in story


async def test_a_session_made_before_the_call_is_told():
    async with Web({SITE: Page(1, "a")}) as web:
        early = aiohttp.ClientSession()
        web.sessions.clear()  # as if made at import, before the web was entered
        async with early.get(SITE) as response:
            await response.text()
        await early.close()
        web.note_end()
        story = hygiene_story(web, web.check_own_session, "", "f()")
        assert "through a session that it had not opened during this call" in story


async def test_a_session_left_open_is_told():
    async with Web({SITE: Page(1, "a")}) as web:
        session = aiohttp.ClientSession()
        async with session.get(SITE) as response:
            await response.text()
        web.note_end()
        story = hygiene_story(web, web.check_sessions_closed, "", "f()")
        assert "the aiohttp.ClientSession that f() opened was still open when it returned" in story
        await session.close()


async def test_a_request_running_when_its_session_closed_is_told_with_the_time():
    async with Web({SITE: Page(10)}) as web:
        session = aiohttp.ClientSession()
        task = asyncio.create_task(session.get(SITE))
        await asyncio.sleep(1.5)
        await session.close()
        web.note_end()
        story = hygiene_story(web, web.check_closed_sessions, "")
        assert f"the request to {SITE!r} was still running when its session was closed" in story
        assert "(at 1.5 s)" in story
        task.cancel()


async def test_a_cancelled_request_not_awaited_before_the_close_is_told_as_such():
    async with Web({SITE: Page(10)}, cancel_steps=3) as web:
        session = aiohttp.ClientSession()
        task = asyncio.create_task(session.get(SITE))
        await asyncio.sleep(1)
        task.cancel()
        await session.close()
        web.note_end()
        story = hygiene_story(web, web.check_closed_sessions, "")
        assert "had been cancelled but had not yet ended when its session was closed" in story


async def test_a_request_still_running_at_the_end_is_told_by_whether_it_was_cancelled():
    async with Web({SITE: Page(10)}, cancel_steps=3) as web:
        async with aiohttp.ClientSession() as session:
            task = asyncio.create_task(session.get(SITE))
            await asyncio.sleep(2)
            web.note_end()
            left = hygiene_story(web, web.check_running, "", "f()")
            assert "(sent at 0 s, it takes 10 s) was still running when f() returned at 2 s" in left
            assert "and nothing had cancelled it" in left
            outside = hygiene_story(web, web.check_running, "", "f()", True)
            assert "though f() had been cancelled" in outside
            task.cancel()
            await asyncio.sleep(0)
            web.note_end("raised")
            asked = hygiene_story(web, web.check_running, "", "f()")
            assert "had been cancelled but had not yet ended when f() raised" in asked
            await asyncio.gather(task, return_exceptions=True)


async def test_a_response_never_released_is_told_with_its_status():
    async with Web({SITE: Page(1, "gone", 404)}) as web:
        async with aiohttp.ClientSession() as session:
            response = await session.get(SITE)
            web.note_end()
            story = hygiene_story(web, web.check_released, "", "f()")
            assert f"the response to GET {SITE!r} (status 404) had been neither released" in story
            response.release()


async def test_a_given_session_must_be_the_only_one_and_stay_open():
    async with Web({SITE: Page(1, "a")}) as web:
        given = aiohttp.ClientSession()
        async with aiohttp.ClientSession() as own:
            async with own.get(SITE) as response:
                await response.text()
        web.note_end()
        story = hygiene_story(web, web.check_given_session, "", "f()", given)
        assert "f() opened an aiohttp.ClientSession of its own, though it was given one" in story
        web.sessions[:] = [s for s in web.sessions if s.session is given]
        story = hygiene_story(web, web.check_given_session, "", "f()", given)
        assert "through another session than the one it was given" in story
        web.requests.clear()
        await given.close()
        story = hygiene_story(web, web.check_given_session, "", "f()", given)
        assert "f() closed the session it was given" in story


async def test_shown_lets_an_exercise_shorten_the_urls_of_its_messages():
    class Short(Web):
        def shown(self, url: str) -> str:
            return url.removeprefix("http://site.test")

    async with Short({SITE: Page(1, "gone", 404)}) as web:
        async with aiohttp.ClientSession() as session:
            response = await session.get(SITE)
            web.note_end()
            assert "the response to GET '/' (status 404)" in hygiene_story(
                web, web.check_released, "", "f()"
            )
            response.release()
