"""Exercise 19 tests. Run them with `pytest exercises/19`.

No request leaves this machine: aioresponses answers every aiohttp request. Each URL a test
serves answers after a latency of loop time (a callback that sleeps), and the test records
when each request started, ended or was cancelled, which session it went through, and
whether its response was released. Sessions are counted as they are made and closed.
"""

import asyncio
import json
from collections import Counter
from typing import NoReturn

import aiohttp
import pytest
from aioresponses.compat import normalize_url
from hypothesis import strategies as st
from yarl import URL

from aiokata import checks, exercise_module, scenarios
from aiokata import web as fake

http_clients = exercise_module(__file__)


async def warm_up_once() -> None:
    """Pay aioresponses' and aiohttp's first-use costs (the first mocked request and
    response) once, at import: see aiokata.web.warm_up."""
    async with fake.Web({"http://warm-up.test/": fake.Page(0, "{}")}):
        async with aiohttp.ClientSession() as session:
            async with session.get("http://warm-up.test/") as response:
                await response.json()
                await response.text()


fake.warm_up(warm_up_once)


# --- the mocked web (aiokata.web), with this exercise's own checks ------------------------

Page = fake.Page
Request = fake.Request
CLEAN_UP_STEPS = 3  # steps of the loop a cancelled request takes to end


def html(latency: float, text: str, status: int = 200) -> Page:
    return Page(latency, text, status)


def api(latency: float, value: object, status: int = 200) -> Page:
    """A JSON answer."""
    return Page(latency, json.dumps(value), status, "application/json")


def unreachable(latency: float) -> Page:
    return Page(latency, unreachable=True)


def serve(error: BaseException) -> NoReturn:
    """An unreachable page's error, raised here: the test's own, on purpose."""
    raise error


def _refuse(error: BaseException) -> NoReturn:
    """A URL the test does not serve, refused here: the test's own, on purpose."""
    raise error


class Web(fake.Web):
    """`async with Web(pages) as web:` serves `pages` (URL -> Page) to every aiohttp request
    made inside, records what happened, and cleans up whatever the learner's code left.
    With `tasks_in_order=True`, every task made inside hashes in the order it was made."""

    def __init__(self, pages: dict[str, Page], tasks_in_order: bool = False) -> None:
        super().__init__(
            pages,
            tasks_in_order=tasks_in_order,
            cancel_steps=CLEAN_UP_STEPS,
            loose_urls=True,
            held_until_read=False,
        )
        self.listed: Counter = Counter()  # how often each URL is listed in the call's argument
        self.unretrieved: list[Request] = []  # failed requests whose task's exception nobody
        # had asked for when the call ended

    def throw(self, error: aiohttp.ClientConnectionError, refused: bool) -> NoReturn:
        (_refuse if refused else serve)(error)

    # running the learner's code

    async def run(self, name: str, *args: object) -> object:
        """Await the learner's `name`(*args); note the state of every request and response
        at the moment it returns or raises, and explain the classic mistakes."""
        self.began = self.now()
        given = args[0] if args and isinstance(args[0], list) else []
        self.listed = Counter(item[0] if isinstance(item, tuple) else item for item in given)
        try:
            result = await getattr(http_clients, name)(*args)
        except BaseException as exc:
            self._finished("ended")
            mine = [r for r in self.requests if r.cancelled is not None]
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and mine and not task.cancelling():
                pytest.fail(
                    f"{name}() raised CancelledError at {self.now() - self.began:g} s, though "
                    "nothing had cancelled it: it came from a request it had cancelled itself "
                    f"({mine[0].url!r}, cancelled at {mine[0].cancelled:g} s). Waiting for "
                    "cancelled tasks with `await asyncio.gather(*tasks)` (or `await task`) "
                    "re-raises their CancelledError: pass `return_exceptions=True` to gather, "
                    "or wait with `await asyncio.wait(tasks)`.",
                    pytrace=False,
                )
            if isinstance(exc, pytest.fail.Exception | asyncio.CancelledError):
                raise
            lesson = self.explain(name, exc)
            if lesson:
                pytest.fail(lesson, pytrace=False)
            raise
        self._finished()
        return result

    def _finished(self, verb: str = "returned") -> None:
        self.note_end(verb)
        tasks: set = set()
        self.unretrieved = []
        for r in self.requests:
            task = r.task
            if task is None or task in tasks or not task.done() or task.cancelled():
                continue
            tasks.add(task)
            if getattr(task, "_log_traceback", False):  # set with its exception, cleared when read
                self.unretrieved.append(r)

    def most_at_once(self) -> int:
        events = []
        for r in self.requests:
            events.append((r.start, 1))
            if r.end_seq is not None:
                events.append((r.end if r.end is not None else r.cancelled, 0))
        level = best = 0
        for _, kind in sorted(events, key=lambda e: (e[0], e[1])):  # ends first at a tie
            level += 1 if kind else -1
            best = max(best, level)
        return best

    def started(self) -> list[float]:
        return sorted({r.start for r in self.requests})

    def page_of(self, url: object) -> tuple[str, Page] | None:
        """The served URL (and its page) that a URL aiohttp reports stands for."""
        for served, page in self.pages.items():
            if normalize_url(URL(served)) == normalize_url(URL(str(url))):
                return served, page
        return None

    # what went wrong

    def explain(self, name: str, exc: BaseException) -> str:
        """The likely mistake behind an exception that escaped `name` ("" if none fits)."""
        text = str(exc)
        if self.unknown or self.other_methods:
            return self.unknown_story(name)
        if isinstance(exc, BaseExceptionGroup):
            inner = exc.exceptions[0] if exc.exceptions else exc
            held = (
                f"a ClientResponseError (status {inner.status})"
                if isinstance(inner, aiohttp.ClientResponseError)
                else repr(inner)
            )
            return (
                f"{name}() raised an {type(exc).__name__} holding {held}: a TaskGroup "
                "cancels every other request as soon as one task raises, then raises them all "
                "together. Handle each answer inside its own task (check the status, or catch "
                "aiohttp.ClientResponseError there), so that no task raises."
                + (f" {self.explain(name, inner)}" if inner is not exc else "")
            )
        if isinstance(exc, aiohttp.ContentTypeError):
            found = self.page_of(exc.request_info.real_url)
            where = (
                f"the answer from {found[0]!r}, which has status {exc.status} and the content "
                f"type {found[1].content_type!r}"
                if found
                else f"an answer with status {exc.status} that is not JSON"
            )
            return (
                f"{name}() decoded as JSON {where} (ContentTypeError: {exc.message}). A status "
                "of 400 or more is an error, whatever its body (often an HTML page): check "
                "`response.status` (or call `response.raise_for_status()`) before you decode "
                "the body."
            )
        if isinstance(exc, aiohttp.ClientConnectionError) and "Connection closed" in text:
            return (
                f"{name}() read a response after it had been released (ClientConnectionError: "
                "Connection closed). An `async with session.get(url) as response:` block "
                "releases the response when it ends: read the body inside the block and "
                "return what you read, not the response."
            )
        if isinstance(exc, RuntimeError) and "Session is closed" in text:
            return (
                f"{name}() made a request through a session that was already closed "
                "(RuntimeError: Session is closed): make every request inside the `async with "
                "aiohttp.ClientSession() as session:` block, and keep no session between calls."
            )
        if isinstance(exc, json.JSONDecodeError):
            return (
                f"{name}() decoded as JSON a body that is not JSON ({exc!r}). Likely an HTML "
                "error page: a status of 400 or more is an error, whatever its body. Check "
                "`response.status` before you decode the body."
            )
        if isinstance(exc, UnicodeDecodeError):
            return (
                f"{name}() decoded a page's bytes itself and failed ({exc!r}). The server "
                "names the page's charset in its Content-Type header (this one is not UTF-8): "
                "`await response.text()` decodes with that charset."
            )
        if isinstance(exc, TimeoutError):
            return (
                f"{name}() raised TimeoutError after {self.now() - self.began:g} s of loop "
                "time, but no request the test served raises it. Likely a time limit of your "
                "own (asyncio.wait_for, asyncio.timeout): the contract sets "
                "none, and a request may legally take a day."
            )
        if isinstance(exc, ValueError) and "Set of Tasks/Futures is empty" in text:
            return (
                f"{name}() called asyncio.wait() with nothing to wait for (ValueError: {text}): "
                "asyncio.wait refuses an empty collection. Check for that case first."
            )
        if isinstance(exc, TypeError) and "coroutines is forbidden" in text:
            return (
                f"{name}() passed bare coroutines to asyncio.wait() (TypeError: {text}): wrap "
                "each in asyncio.create_task() first, and keep the tasks to cancel them later."
            )
        if isinstance(exc, TypeError) and "unhashable type: 'list'" in text:
            return (
                f"{name}() passed a whole list to asyncio.gather (TypeError: {text}): unpack "
                "it with a star, `asyncio.gather(*[...])`."
            )
        if isinstance(exc, TypeError) and "'coroutine' object" in text:
            return (
                f"{name}() used a coroutine object as if it were the body (TypeError: {text}): "
                "`response.json()` and `response.text()` are coroutine functions, so without "
                "`await` you hold a coroutine that never runs. Write "
                "`(await response.json())[field]`, inside the `async with` block."
            )
        if (
            name == "what_is_my_ip"
            and isinstance(exc, Exception)
            and not isinstance(exc, LookupError | NotImplementedError)
            and not self.running
            and all(not self.pages[u].ok for u in self.listed)
            and all(self.calls()[u] >= n for u, n in self.listed.items())  # all asked, all failed
        ):
            return (
                f"{name}() raised {exc!r} at {self.now() - self.began:g} s, when "
                + ("it had no services" if not self.listed else "every service had failed")
                + f": right moment, wrong exception. The contract asks for a LookupError then "
                f"(`raise LookupError(...)`); {type(exc).__name__} is not one."
            )
        return ""

    def unknown_story(self, name: str) -> str:
        if self.other_methods:
            return (
                f"{name}() made the request {self.other_methods[0]!r}: make one GET per URL "
                "(session.get), and nothing else; the status and the body both come with "
                "that one response."
            )
        asked = ", ".join(map(repr, self.pages))
        return (
            f"{name}() requested {self.unknown[0]!r}, which is not one of the URLs it was "
            f"given ({asked or 'none'}). Make a GET of each URL exactly as given: no strip, "
            "lower, rebuilding or other clean-up."
        )

    def check(self, name: str, scene: str = "", cancelled: bool = False) -> None:
        """Fail if the call's sessions, requests or responses were not handled right."""
        try:
            self._check(name, f"{scene}: " if scene else "", cancelled)
        except pytest.fail.Exception as failure:
            text = str(failure)
            if text.startswith("the "):
                text = "The " + text[4:]
            pytest.fail(text, pytrace=False)

    def failure_of(self, request: Request) -> str:
        page = self.pages[request.url]
        return "could not be reached" if page.unreachable else f"answered {page.status}"

    def _fail_unretrieved(self, name: str, where: str) -> None:
        first = self.unretrieved[0]
        error = first.task.exception()  # read now: asyncio would log it again at teardown
        for other in self.unretrieved[1:]:
            other.task.exception()
        same = [
            r
            for r in self.requests
            if r is not first and r.end is not None and r.end == first.end and r.task.done()
        ]
        winners = [r for r in same if self.pages[r.url].ok]
        when = f" at {first.end:g} s" if first.end is not None else ""
        if winners:
            moment = f", the same moment as the winner {winners[0].url!r},"
        elif same:
            moment = f", the same moment as {same[0].url!r}, which {self.failure_of(same[0])},"
        else:
            moment = ""
        pytest.fail(
            f"{where}the request to {first.url!r} {self.failure_of(first)}{when}{moment} and "
            f"its task's {type(error).__name__} had not been retrieved when {name}() "
            f'{self.verb}: asyncio logs that as "Task exception was never retrieved".'
            + (
                " Both had finished in the same step (with asyncio.wait: in one `done` set)."
                if same
                else ""
            )
            + " Ask every finished task for its exception() (or result()), even once you have "
            "a winner: every task in `done`, not only the first good one, nor only one of "
            "them (done.pop()); with as_completed, those that finished with the winner too.",
            pytrace=False,
        )

    def _check_settings(self, name: str, where: str) -> None:
        """Limits of the learner's own that the mocked web cannot feel (aioresponses answers
        before aiohttp applies a timeout or opens a connection): read them from the sessions
        and the requests themselves."""
        unseen = UNSEEN.format(what="your session's settings")
        for made in self.sessions:
            limit = time_limit(made.timeout)
            if limit:
                pytest.fail(
                    f"{where}{name}() opened its session with timeout={limit}: a time limit "
                    "of your own, which would cut short any request that takes longer, and a "
                    f"request may legally take a day. {unseen} Set no ClientTimeout of your "
                    "own (or, to lift aiohttp's default of 300 s, pass "
                    "`timeout=aiohttp.ClientTimeout(total=None)`).",
                    pytrace=False,
                )
            for field, cap in (("limit", made.limit), ("limit_per_host", made.limit_per_host)):
                if 0 < cap < 100:
                    pytest.fail(
                        f"{where}{name}() opened its session with a connector of at most {cap} "
                        f"connections (aiohttp.TCPConnector({field}={cap})): on the real "
                        f"network, only {cap} of its requests could run at the same time. "
                        f"{unseen} The contract sets no cap of your own: leave the connector "
                        "as aiohttp makes it (its default limit of 100 is aiohttp's own, "
                        "outside this exercise).",
                        pytrace=False,
                    )
        for url, timeout in self.request_timeouts:
            limit = time_limit(timeout)
            if limit:
                pytest.fail(
                    f"{where}{name}() requested {url!r} with timeout={limit}: a time limit of "
                    "your own, and a request may legally take a day. "
                    + UNSEEN.format(what="the arguments of each request")
                    + " Give the requests no timeout of their own.",
                    pytrace=False,
                )

    def _check(self, name: str, where: str, cancelled: bool) -> None:
        if self.unknown or self.other_methods:
            pytest.fail(where + self.unknown_story(name), pytrace=False)
        fn = f"{name}()"
        self.check_own_session(where, fn)
        self._check_settings(name, where)
        self.check_running(where, fn, cancelled)
        if self.unretrieved:
            self._fail_unretrieved(name, where)
        self.check_closed_sessions(where)
        self.check_sessions_closed(where, fn)
        self.check_released(where, fn)


def time_limit(timeout: object) -> str:
    """The time limit a session's or a request's `timeout` sets on a request that takes a day,
    as the learner would have written it ("" if none: aiohttp's default, or no limit)."""
    if not isinstance(timeout, aiohttp.ClientTimeout):
        return ""
    if timeout == getattr(aiohttp.client, "DEFAULT_TIMEOUT", None):
        return ""  # aiohttp's own 300 s: the README says how to lift it, the tests accept it
    parts = [
        f"{field}={value:g}"
        for field in ("total", "sock_read")
        if (value := getattr(timeout, field, None)) is not None
    ]
    return f"aiohttp.ClientTimeout({', '.join(parts)})" if parts else ""


UNSEEN = (
    "The tests' mock web applies no aiohttp timeout and opens no connection, so no request "
    "here could run into it: this check reads {what}."
)


def coroutines_in(values: list) -> bool:
    """True (after closing them, so no second warning comes) if any value is a coroutine."""
    found = False
    for value in values:
        if asyncio.iscoroutine(value):
            value.close()
            found = True
    return found


def took(web: Web, expected: float, what: str, likely: dict[float, str] | None = None) -> None:
    """checks.took on the call's loop time, told with what the test saw of the requests."""
    actual = web.took()
    likely = dict(likely or {})
    if abs(actual - expected) > 1e-6 and not any(abs(actual - t) < 1e-6 for t in likely):
        story = concurrency_story(web)
        if story:
            likely[actual] = story
    checks.took(actual, expected, what, likely)


def concurrency_story(web: Web) -> str:
    """How the requests overlapped, when that explains a slow call ("" if nothing stands out)."""
    total = len(web.requests)
    if total < 2:
        return ""
    late = [r for r in web.requests if r.start > 0]
    calls = web.calls()
    again = [  # asked once more than listed, after an earlier request to it had ended: retries
        r
        for r in late
        if calls[r.url] > web.listed[r.url]
        and any(o.url == r.url and o.end is not None and o.end <= r.start for o in web.requests)
    ]
    if late and again == late:
        first = again[0]
        page = web.pages[first.url]
        answered = "could not be reached" if page.unreachable else f"answered {page.status}"
        return (
            f"The requests that started late were second requests: {first.url!r}, listed "
            f"{checks.count(web.listed[first.url], 'time')}, was asked again at "
            f"{first.start:g} s, after it had {answered}. "
            + (
                "A failure is reported (or skipped), not tried again."
                if not page.ok
                else "One request per entry, no more."
            )
        )
    most = web.most_at_once()
    starts = some_times(web.started())
    if most == 1:
        return (
            f"The requests ran one after another (they started at {starts}): each began only "
            "once the one before had ended. Awaiting each request before starting the next does "
            "that: start them all (asyncio.gather, or a task each), then wait for them all."
        )
    if most < total:
        return (
            f"At most {most} of the {total} requests ran at the same time (they started at "
            f"{starts}). Likely a Semaphore, batches or a worker pool: the contract sets no "
            "cap, every request starts at once."
        )
    return ""


def calls_likely(web: Web, urls: list[str]):
    """Explain wrong request counts: repeats merged, errors retried, pages from a cache."""

    def likely(got: object) -> str:
        if not isinstance(got, dict):
            return ""
        fewer = [u for u in dict.fromkeys(urls) if got.get(u, 0) < urls.count(u)]
        more = [u for u in dict.fromkeys(urls) if got.get(u, 0) > urls.count(u)]
        made = len(web.requests)
        ended = f"{web.verb} at {web.ended:g} s" if web.ended is not None else "ended"
        if fewer and made > 1 and web.most_at_once() == 1:
            return (
                f"{fewer[0]!r} is listed {checks.count(urls.count(fewer[0]), 'time')} but was "
                f"requested {checks.count(got.get(fewer[0], 0), 'time')}: the requests ran one "
                f"after another (they started at {some_times(web.started())}), and the call "
                f"{ended} before it had asked every entry. Every entry is requested at once, "
                "at the start."
            )
        never = [u for u in fewer if got.get(u, 0) == 0]
        if never:
            return (
                f"{never[0]!r} was never requested in this call, yet the call {ended}, after "
                f"{checks.count(made, 'request')}. Every entry is requested at once, at the "
                "start: likely the entries were asked one after another, stopping at the first "
                "answer, or something outlives a call (a cache or a result at module level?) "
                "and answered instead."
            )
        if fewer:
            return (
                f"{fewer[0]!r} is listed {urls.count(fewer[0])} times but was requested "
                f"{checks.count(got[fewer[0]], 'time')}: one request per entry. Likely the URLs "
                "went through a set or dict first."
            )
        if more and not web.pages[more[0]].ok:
            return (
                f"{more[0]!r}, which fails, was requested {checks.count(got[more[0]], 'time')}"
                f" (it is listed {checks.count(urls.count(more[0]), 'time')}): a failure is "
                "reported (or skipped), not tried again."
            )
        if more:
            return (
                f"{more[0]!r} is listed {checks.count(urls.count(more[0]), 'time')} but was "
                f"requested {checks.count(got[more[0]], 'time')}: one request per entry, no "
                "more (no HEAD first, no second GET for the body)."
            )
        return "One request per entry, no more, no less."

    return likely


def some_times(times: list[float], most: int = 8) -> str:
    """Loop times for a message: "0, 1, 2 s", or "0, 1, 2, 3, 4, 5, ..., 99 s"."""
    shown = times if len(times) <= most else [*times[: most - 2], "...", times[-1]]
    return ", ".join(t if isinstance(t, str) else f"{t:g}" for t in shown) + " s"


def all_at_once(web: Web, what: str) -> None:
    started = web.started()
    if started in ([], [0.0]):
        return
    pytest.fail(
        f"{what}: every request should start at once, at 0 s. "
        + (concurrency_story(web) or f"They started at {some_times(started)}."),
        pytrace=False,
    )


async def cancelled_while_waiting(web: Web, name: str, after: float, *args: object) -> str:
    """Run the learner's `name` as a task, cancel it `after` seconds in, and say what went
    wrong ("" if it ended cancelled, left nothing running and closed its session in time)."""
    outer = asyncio.create_task(web.run(name, *args))
    await asyncio.sleep(after)
    if outer.done():
        await outer
        slowest = max((web.pages[r.url].latency for r in web.requests), default=0)
        early = (
            f", though one of its requests takes {slowest:g} s: something ended the call "
            "before every answer had come (an error status that ended a TaskGroup or a gather?)"
            if name != "what_is_my_ip" and web.ended is not None and web.ended < slowest
            else ""
        )
        return (
            f"{name}() had already {web.verb} at {web.ended:g} s, before it could be "
            f"cancelled at {after:g} s{early}."
        )
    outer.cancel()
    await asyncio.wait([outer], timeout=100)
    if not outer.done():
        outer.cancel()
        await asyncio.wait([outer], timeout=1)
        return (
            f"{name}() was still running 100 s after it had been cancelled: it caught the "
            "CancelledError and carried on. Let it reach the caller."
        )
    if not outer.cancelled():
        failure = outer.exception()
        if isinstance(failure, pytest.fail.Exception):
            raise failure
        if failure is not None:
            return (
                f"{name}() raised {failure!r} when it was cancelled; it must end cancelled (the "
                "CancelledError reaches the caller)."
            )
        return (
            f"{name}() returned {outer.result()!r} after it had been cancelled: it caught the "
            "CancelledError and did not re-raise it. Let the CancelledError propagate."
        )
    try:
        web.check(name, cancelled=True)
    except pytest.fail.Exception as problem:
        text = str(problem)
        return text[:1].lower() + text[1:]
    return ""


def stale(got_values: list, earlier: set) -> bool:
    try:
        return bool(set(map(repr, got_values)) & set(map(repr, earlier)))
    except TypeError:
        return False


# Task 1: download_all

SITE = "http://site.test"


def pages_likely(web: Web, urls: list[str], expected: list[str]):
    """Explain a wrong list of pages from what the test saw ("" if nothing explains it)."""

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        calls = web.calls()
        never = [u for u in urls if calls[u] == 0]
        if never and len(got) == len(expected):
            return (
                f"{never[0]!r} was never requested in this call, yet a page came back for it: "
                "something outlives a call (a cache at module level?). Each call requests "
                "every URL anew."
            )
        merged = [u for u in dict.fromkeys(urls) if calls[u] < urls.count(u)]
        if len(got) < len(expected) and merged:
            return (
                f"{merged[0]!r} is listed {urls.count(merged[0])} times but was requested "
                f"{checks.count(calls[merged[0]], 'time')}: a URL listed twice is requested "
                "twice and its page appears twice. Likely the URLs or pages went through a "
                "dict or a set."
            )
        if (
            len(got) < len(expected)
            and "" in expected
            and sorted(got) == sorted(p for p in expected if p)
        ):
            return (
                "The empty page '' is missing: an empty page is still a page. Likely an "
                "`if page:` (or `page or ...`) that takes '' for nothing."
            )
        if got != expected and got == [p.strip() if isinstance(p, str) else p for p in expected]:
            return (
                "Each page must be the body exactly as it came (its spaces and line ends "
                "too): no strip or other clean-up."
            )
        if got != expected and checks.same_items(got, expected):
            return (
                "The pages must follow the order of `urls`, not the order the downloads "
                "finished: asyncio.gather returns its results in the order you passed them."
            )
        return ""

    return likely


def check_pages(web: Web, urls: list[str], result: object, what: str) -> None:
    checks.not_coroutine(result, "download_all()'s result")
    if not isinstance(result, list | tuple):
        pytest.fail(
            f"{what}: download_all() returned {result!r}; the contract promises a list of "
            "pages (str).",
            pytrace=False,
        )
    if coroutines_in(list(result)):
        pytest.fail(
            f"{what}: download_all() returned coroutine objects, not pages: "
            "`response.text()` is a coroutine function, so `response.text()` without `await` "
            "gives a coroutine that never runs. Write `await response.text()`.",
            pytrace=False,
        )
    if any(isinstance(page, aiohttp.ClientResponse) for page in result):
        pytest.fail(
            f"{what}: download_all() returned response objects, not pages: read each body "
            "with `await response.text()` inside the `async with` block and return that.",
            pytrace=False,
        )
    if any(isinstance(page, bytes | bytearray) for page in result):
        pytest.fail(
            f"{what}: download_all() returned bytes (such as {result[0]!r}); each page is the "
            "body as text (str): `await response.text()` decodes it with the server's charset.",
            pytrace=False,
        )
    expected = [web.pages[url].text() for url in urls]
    checks.equal(list(result), expected, what, pages_likely(web, urls, expected))


def unchanged(name: str, given: list, before: list) -> None:
    """Fail first if the learner's code changed the caller's list (results are judged by the
    list as it was given)."""
    if given != before:
        pytest.fail(
            f"{name}() changed the list it was given: it was {before!r}, it is now {given!r} "
            "(pop, remove, sort, or results written into it). Leave the caller's list as it "
            "was, and build new ones of your own.",
            pytrace=False,
        )


async def download(web: Web, urls: list[str], what: str) -> object:
    asked = list(urls)
    result = await web.run("download_all", urls)
    unchanged("download_all", urls, asked)
    check_pages(web, asked, result, what)
    return result


@pytest.mark.task(1)
async def test_download_all_returns_the_pages_in_the_order_of_urls():
    urls = [f"{SITE}/slow", f"{SITE}/medium", f"{SITE}/fast"]
    pages = {urls[0]: html(3, "<p>slow</p>"), urls[1]: html(2, "<p>medium</p>")}
    pages[urls[2]] = html(1, "<p>fast</p>")
    async with Web(pages) as web:
        await download(web, list(urls), "Pages of /slow, /medium and /fast (3, 2 and 1 s)")
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_returns_a_new_list_of_str():
    urls = [f"{SITE}/a", f"{SITE}/b"]
    async with Web({urls[0]: html(1, "A"), urls[1]: html(1, "B")}) as web:
        result = await download(web, urls, "Pages of /a and /b")
        if not isinstance(result, list):
            pytest.fail(
                f"download_all() returned a {type(result).__name__} ({result!r}); the contract "
                "promises a list: asyncio.gather gives one, or wrap yours in list(...).",
                pytrace=False,
            )
        if result is urls:
            pytest.fail(
                "download_all() returned the caller's own `urls` list, with the pages written "
                "into it: return a new list and leave `urls` alone.",
                pytrace=False,
            )
        web.check("download_all")


@pytest.mark.task(1)
async def test_three_one_second_downloads_take_one_second():
    urls = [f"{SITE}/{name}" for name in "abc"]
    async with Web({url: html(1, url[-1]) for url in urls}) as web:
        await download(web, urls, "Pages of three 1 s requests")
        took(web, 1, "download_all() of three 1 s requests")
        web.check("download_all")


@pytest.mark.task(1)
async def test_the_total_is_the_slowest_request_not_the_sum():
    urls = [f"{SITE}/two", f"{SITE}/also-two", f"{SITE}/one"]
    latencies = [2, 2, 1]
    async with Web({u: html(t, u) for u, t in zip(urls, latencies, strict=True)}) as web:
        await download(web, urls, "Pages of requests taking 2, 2 and 1 s")
        took(
            web,
            2,
            "download_all() of requests taking 2, 2 and 1 s",
            {5: "That is 2 + 2 + 1. " + concurrency_story(web)} if web.most_at_once() == 1 else {},
        )
        web.check("download_all")


@pytest.mark.task(1)
async def test_a_hundred_and_fifty_requests_all_start_at_once():
    # More than 100: a cap of 100 (a Semaphore(100), "like aiohttp's connector") shows too.
    urls = [f"{SITE}/page/{i}" for i in range(150)]
    async with Web({url: html(1, f"page {i}") for i, url in enumerate(urls)}) as web:
        await download(web, list(urls), "Pages of 150 URLs")
        all_at_once(web, "download_all() of 150 URLs of 1 s each")
        took(web, 1, "download_all() of 150 URLs of 1 s each")
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_makes_every_request_through_one_session():
    urls = [f"{SITE}/{name}" for name in ("home", "about", "blog", "shop", "faq")]
    async with Web({url: html(1, url) for url in urls}) as web:
        await download(web, urls, "Pages of five URLs")
        web.check("download_all")
        checks.equal(
            len(web.sessions),
            1,
            "aiohttp.ClientSession objects download_all() opened for five URLs",
            "Open one session for the whole call.",
        )


@pytest.mark.task(1)
async def test_download_all_closes_its_session_and_releases_every_response():
    urls = [f"{SITE}/x", f"{SITE}/y"]
    async with Web({urls[0]: html(1, "X"), urls[1]: html(2, "Y")}) as web:
        await download(web, urls, "Pages of /x and /y")
        web.check("download_all")
        checks.equal(
            [s.closed is not None for s in web.sessions],
            [True],
            "Sessions closed when download_all() returned",
        )


@pytest.mark.task(1)
async def test_each_url_is_requested_exactly_once():
    urls = [f"{SITE}/a", f"{SITE}/b", f"{SITE}/c"]
    async with Web({url: html(1, url[-1]) for url in urls}) as web:
        await download(web, urls, "Pages of /a, /b and /c")
        checks.equal(
            dict(web.calls()),
            dict.fromkeys(urls, 1),
            "Times each URL was requested",
            "One GET per entry of `urls`: each request is a new download (no HEAD first, no "
            "second GET for the body).",
        )
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_keeps_duplicate_urls():
    a, b = f"{SITE}/a", f"{SITE}/b"
    urls = [a, b, a]
    async with Web({a: html(1, "A"), b: html(2, "B")}) as web:
        await download(web, list(urls), "Pages for urls [/a, /b, /a]")
        checks.equal(
            dict(web.calls()),
            {a: 2, b: 1},
            "Times each URL was requested for urls [/a, /b, /a]",
            lambda got: (
                "One request per entry of `urls`: /a is listed twice, so it is requested "
                "twice. " + calls_likely(web, urls)(got)
            ),
        )
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_keeps_empty_pages():
    urls = [f"{SITE}/empty", f"{SITE}/full", f"{SITE}/blank"]
    async with Web({urls[0]: html(1, ""), urls[1]: html(2, "F"), urls[2]: html(1, "")}) as web:
        await download(web, urls, "Pages of /empty, /full and /blank, two of them ''")
        web.check("download_all")


@pytest.mark.task(1)
async def test_no_urls_give_an_empty_list():
    async with Web({}) as web:
        result = await web.run("download_all", [])
        checks.not_coroutine(result, "download_all()'s result")
        checks.equal(result, [], "download_all([])")
        took(web, 0, "download_all() with no URLs")
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_leaves_urls_unchanged():
    a, b = f"{SITE}/a", f"{SITE}/b"
    urls = [a, b, a]
    async with Web({a: html(1, "A"), b: html(2, "B")}) as web:
        await web.run("download_all", urls)
        checks.equal(
            urls,
            [a, b, a],
            "The caller's `urls` list after download_all()",
            "download_all() changed the list it was given (pop, remove, sort, or pages written "
            "into it): leave the caller's list as it was and build a new one.",
        )
        web.check("download_all")


LATIN_1 = "text/html; charset=iso-8859-1"


@pytest.mark.task(1)
async def test_download_all_decodes_each_page_with_its_own_charset():
    latin, utf8 = f"{SITE}/latin-1", f"{SITE}/utf-8"
    pages = {
        latin: Page(1, "Crème brûlée, café: 3 F".encode("latin-1"), 200, LATIN_1),
        utf8: html(1, "naïve ☕ 日本語\r\nline two\n"),
    }
    async with Web(pages) as web:
        await download(
            web,
            [latin, utf8],
            "Pages of a Latin-1 page (charset=iso-8859-1) and a UTF-8 one",
        )
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_requests_each_url_exactly_as_given():
    urls = [
        f"{SITE}/search?q=async+io&page=2",
        f"{SITE}/Search",
        f"{SITE}/search/",
        f"{SITE}/search?q=hello ",  # a query that ends in a space: `q=hello+`, not `q=hello`
        "http://other.test/caf%C3%A9?lang=fr",
    ]
    pages = {url: html(1, f"page {i}") for i, url in enumerate(urls)}
    async with Web(pages) as web:
        await download(web, list(urls), f"Pages of {urls!r}")
        checks.equal(sorted(web.calls()), sorted(urls), "URLs requested, exactly as given")
        web.check("download_all")


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_download_all_waits_for_a_request_that_takes_a_day():
    day, hours = f"{SITE}/day", f"{SITE}/hours"
    async with Web({day: html(86_400, "D"), hours: html(10_000, "H")}) as web:
        await download(web, [day, hours], "Pages of a 86400 s request and a 10000 s one")
        took(web, 86_400, "download_all() of requests taking 86400 s and 10000 s")
        web.check("download_all")


@pytest.mark.task(1)
async def test_download_all_keeps_nothing_between_calls():
    a, b, c = f"{SITE}/a", f"{SITE}/b", f"{SITE}/c"
    async with Web({a: html(1, "A1"), b: html(2, "B1")}) as first:
        await download(first, [a, b], "First call, urls [/a, /b]")
        first.check("download_all", "first call")
    async with Web({a: html(2, "A2"), c: html(1, "C2")}) as second:
        result = await second.run("download_all", [a, c])
        if isinstance(result, list) and stale(result, {"A1", "B1"}):
            pytest.fail(
                f"Second call, urls [/a, /c]: got {result!r}, which holds pages of the first "
                "call. Something outlives a call (a cache at module level): each call starts "
                "from nothing.",
                pytrace=False,
            )
        check_pages(second, [a, c], result, "Second call, urls [/a, /c], pages changed")
        second.check("download_all", "second call")
    x, y = f"{SITE}/x", f"{SITE}/y"
    async with Web({x: html(2, "X"), y: html(1, "Y")}) as both:
        results = await asyncio.gather(
            http_clients.download_all([x]), http_clients.download_all([y, y])
        )
        checks.equal(
            [list(r) if isinstance(r, list | tuple) else r for r in results],
            [["X"], ["Y", "Y"]],
            "Two calls at the same time, urls [/x] and [/y, /y]",
            "Each call keeps its own pages, nothing shared at module level.",
        )
        sessions = {u: {id(r.session) for r in both.requests if r.url == u} for u in (x, y)}
        checks.equal(
            (len(both.sessions), len(sessions[x] | sessions[y])),
            (2, 2),
            "Two calls at the same time: (sessions opened, sessions their requests went through)",
            "Each call opens its own session and makes all its own requests through it.",
        )


@pytest.mark.task(1)
async def test_a_cancelled_download_all_cancels_its_requests_before_closing_its_session():
    urls = [f"{SITE}/one", f"{SITE}/five", f"{SITE}/ten"]
    pages = {urls[0]: html(1, "1"), urls[1]: html(5, "5"), urls[2]: html(10, "10")}
    async with Web(pages) as web:
        problems = await cancelled_while_waiting(web, "download_all", 2, urls)
        if problems:
            pytest.fail(
                "download_all() of requests taking 1, 5 and 10 s, cancelled at 2 s: " + problems,
                pytrace=False,
            )


LATENCIES = st.sampled_from([0, 0.5, 2.5, 10_000])
PAGE_URLS = [
    f"{SITE}/",
    f"{SITE}/a?x=1&y=2",
    f"{SITE}/A",
    "http://other.test/naïve",
]
BODIES = st.sampled_from(["<p>hello</p>", "", "same", "ünïcödé ☕"])


def scene_of(head: str, parts: list[str]) -> str:
    return head + (f" ({', '.join(parts)})" if parts else "")


def site_specs(outcomes):
    """A URL -> (latency, outcome) table, and a list of its URLs (repeats allowed, maybe empty)."""
    table = st.dictionaries(st.sampled_from(PAGE_URLS), st.tuples(LATENCIES, outcomes), max_size=3)
    return table.flatmap(
        lambda spec: st.tuples(
            st.just(spec),
            st.lists(st.sampled_from(sorted(spec)), max_size=5) if spec else st.just([]),
        )
    )


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(case=site_specs(BODIES))
async def test_download_all_in_any_scenario(case):
    spec, urls = case
    scene = scene_of(
        f"with urls {urls!r}",
        [f"{u!r} answers {body!r} after {t:g} s" for u, (t, body) in spec.items() if u in urls],
    )
    scenarios.describe(scene)
    async with Web({u: html(t, body) for u, (t, body) in spec.items()}) as web:
        given = list(urls)
        await download(web, given, f"download_all() {scene}")
        checks.equal(
            dict(web.calls()),
            dict(Counter(urls)),
            f"Times each URL was requested {scene}",
            calls_likely(web, urls),
        )
        checks.equal(given, urls, f"The caller's `urls` after download_all() {scene}")
        all_at_once(web, f"download_all() {scene}")
        took(web, max((spec[u][0] for u in urls), default=0), f"download_all() {scene}")
        web.check("download_all", scene)


# Task 2: fetch_json_report

API = "http://api.test"


def not_found(latency: float) -> Page:
    return html(latency, "<html><body><h1>404 Not Found</h1></body></html>", 404)


def server_error(latency: float, status: int = 500) -> Page:
    return api(latency, {"error": "internal server error", "retry": False}, status)


def unavailable(latency: float) -> Page:
    return html(latency, "<h1>503 Service Unavailable</h1>", 503)


def same_url(given: str, key: object) -> bool:
    """True if `key` is the URL `given` as aiohttp would normalise it."""
    try:
        return normalize_url(URL(given)) == normalize_url(URL(str(key)))
    except (TypeError, ValueError):
        return False


def report_story(web: Web, urls: list[str], data: dict, errors: dict) -> str:
    """Explain a wrong (data, errors) from what the test saw ("" if nothing explains it)."""
    asked = set(urls)
    foreign = [key for key in [*data, *errors] if key not in asked]
    if foreign:
        key = foreign[0]
        same = [u for u in urls if same_url(u, key)]
        if isinstance(key, URL) or same:
            return (
                f"It has the key {key!r}: that is the URL as aiohttp reports it "
                "(response.url, a normalised yarl.URL), not as it was given. Key each result "
                "by the URL string you were given."
            )
        return (
            f"It has an entry for {key!r}, a URL this call was not asked for. Something "
            "outlives a call (dicts at module level?): each call starts from nothing."
        )
    taken = [u for u in data if web.pages[u].status >= 400]
    refused = [u for u in errors if web.pages[u].ok]
    if taken and refused:
        error, answer = web.pages[taken[0]], web.pages[refused[0]]
        flagged = isinstance(answer.json(), dict) and "error" in answer.json()
        return (
            f"{taken[0]!r} answered with status {error.status} and its JSON went into `data`, "
            f"while {refused[0]!r} answered with status {answer.status}, a success, and went "
            "into `errors`: the status decides, not the body. Likely a decision made from the "
            "body"
            + (" (its 'error' key?)" if flagged else "")
            + " rather than from `response.status`: a status of 400 or more is an error, "
            "whatever its body holds, and every other status is an answer."
        )
    for url, value in data.items():
        page = web.pages[url]
        if page.status >= 400:
            return (
                f"{url!r} answered with status {page.status}: that is an error, whatever its "
                "body holds, so its status goes into `errors`, not its body into `data`. "
                "Likely a status check that misses some errors (only 404?), or none: a status "
                "of 400 or more is an error (response.raise_for_status() raises for each)."
            )
        if isinstance(value, str | bytes) and value == page.body:
            return (
                f"data[{url!r}] is the body's text, not its decoded JSON: `await "
                "response.json()` decodes it."
            )
    for url, value in errors.items():
        page = web.pages[url]
        if page.ok and 300 <= page.status < 400:
            return (
                f"{url!r} answered with status {page.status}, below 400: a success, so its JSON "
                "goes into `data`. aiohttp follows redirects itself, so a 3xx that reaches you "
                "is one it did not follow, and it is still an answer. Likely `status >= 300` "
                "(or `200 <= status < 300`) taken for an error: an error is `status >= 400` "
                "(`not response.ok`)."
            )
        if page.ok and page.status == 200:
            flagged = isinstance(page.json(), dict) and "error" in page.json()
            return (
                f"{url!r} answered with status 200, a success, so its JSON goes into `data`"
                + (", even though its body holds an 'error' key" if flagged else "")
                + ": the status decides, not the body. Likely a decision made from the body "
                "rather than from `response.status`."
            )
        if page.ok:
            return (
                f"{url!r} answered with status {page.status}, a success (below 400), so its "
                "JSON goes into `data`. Likely a check for `status == 200` only: "
                "`response.ok` (or `status < 400`) is the test."
            )
        if isinstance(value, BaseException):
            return (
                "Each URL in `errors` maps to its status, an int (aiohttp.ClientResponseError "
                "carries it as `.status`), not to the exception."
            )
        if not isinstance(value, int) or isinstance(value, bool):
            return f"errors[{url!r}] must be the status itself, the int {page.status}."
    lost = [u for u in urls if u not in data and u not in errors]
    cancelled = [
        u for u in lost if any(r.url == u and r.cancelled is not None for r in web.requests)
    ]
    if cancelled:
        return (
            f"The request to {cancelled[0]!r} was cancelled before it answered, so its result "
            "is missing: one error must not cut the other requests short. A TaskGroup cancels "
            "its other tasks when one raises."
        )
    read = [
        r
        for r in web.requests
        if r.url in lost and web.pages[r.url].ok and r.end is not None and r.read
    ]
    falsy = [u for u in lost if web.pages[u].ok and not web.pages[u].json()]
    if read and falsy != lost:
        failing = [u for u in urls if not web.pages[u].ok]
        return (
            f"{read[0].url!r} answered {web.pages[read[0].url].status} at {read[0].end:g} s and "
            "its body was read, yet it is in neither dict: its answer was lost after it came"
            + (
                f" ({len(lost)} of the {len(urls)} entries "
                f"{'is' if len(lost) == 1 else 'are'} missing). Likely a plain "
                "gather (or a TaskGroup) of helpers that raise for an error status: the first "
                "error escapes and every other result is dropped, even those that had come. "
                "Handle each answer inside its helper (check the status, or catch "
                "aiohttp.ClientResponseError there), so that none raises."
                if failing
                else "."
            )
        )
    if falsy:
        # A gather that raised keeps at most the one error it raised (caught around it).
        failing = {u for u in urls if not web.pages[u].ok}
        raised = bool(read and failing and len(failing & set(errors)) <= 1)
        return (
            f"{falsy[0]!r} is missing: its JSON is {web.pages[falsy[0]].body}, which is a value "
            "like any other. Likely an `if data:` (or `data or ...`) that takes it for nothing"
            + (
                ", or a plain gather (or a TaskGroup) that raised for another URL's error "
                "status and dropped every other result: handle each answer inside its helper, "
                "so that none raises."
                if raised
                else "."
            )
        )
    return ""


def check_report(web: Web, urls: list[str], result: object, what: str) -> None:
    checks.not_coroutine(result, "fetch_json_report()'s result")
    if not (isinstance(result, tuple | list) and len(result) == 2):
        pytest.fail(
            f"{what}: fetch_json_report() returned {result!r}; the contract promises a tuple "
            "of two dicts, (data, errors).",
            pytrace=False,
        )
    data, errors = result
    for name, value in (("data", data), ("errors", errors)):
        if not isinstance(value, dict):
            pytest.fail(
                f"{what}: `{name}` is a {type(value).__name__} ({value!r}); the contract "
                "promises a dict keyed by URL.",
                pytrace=False,
            )
    if coroutines_in([*data.values(), *errors.values()]):
        pytest.fail(
            f"{what}: `data` holds coroutine objects, not decoded JSON: `response.json()` is "
            "a coroutine function, so without `await` it gives a coroutine that never runs "
            "(and by the time anyone awaited it, the response would be released). Write "
            "`await response.json()` inside the `async with` block.",
            pytrace=False,
        )
    exceptions = [(u, e) for u, e in errors.items() if isinstance(e, BaseException)]
    if exceptions:
        url, error = exceptions[0]
        status = getattr(error, "status", None)
        pytest.fail(
            f"{what}: errors[{url!r}] is the {type(error).__name__} itself"
            + (f" (status {status})" if status is not None else "")
            + ": each URL in `errors` maps to its status, an int (a ClientResponseError "
            "carries it as `.status`).",
            pytrace=False,
        )
    want_data = {u: web.pages[u].json() for u in urls if web.pages[u].ok}
    want_errors = {u: web.pages[u].status for u in urls if not web.pages[u].ok}
    if data == want_errors and errors == want_data and data != errors:
        pytest.fail(f"{what}: data and errors are swapped: return (data, errors).", pytrace=False)
    story = report_story(web, urls, data, errors)
    checks.equal(data, want_data, f"{what}: data (the JSON of each success)", story)
    checks.equal(
        errors, want_errors, f"{what}: errors (the status of each answer of 400 or more)", story
    )


async def report(web: Web, urls: list[str], what: str) -> tuple[dict, dict]:
    asked = list(urls)
    try:
        result = await web.run("fetch_json_report", urls)
    except aiohttp.ClientResponseError as exc:
        found = web.page_of(exc.request_info.real_url)
        pytest.fail(
            f"{what}: fetch_json_report() let the ClientResponseError of "
            f"{found[0] if found else exc.request_info.real_url!r} (status {exc.status}) "
            "escape, and every other answer was lost. An error status is a result: put it in "
            "`errors` (catch aiohttp.ClientResponseError around each request, or check "
            "response.status), so that no request raises.",
            pytrace=False,
        )
    unchanged("fetch_json_report", urls, asked)
    check_report(web, asked, result, what)
    return result  # type: ignore[return-value]


@pytest.mark.task(2)
async def test_report_sorts_the_answers_by_status():
    ok, missing, broken = f"{API}/users/1", f"{API}/users/2", f"{API}/users/3"
    pages = {ok: api(1, {"id": 1, "name": "Ada"}), missing: not_found(1)}
    pages[broken] = server_error(1)
    async with Web(pages) as web:
        await report(web, [ok, missing, broken], "Users 1 (200), 2 (404) and 3 (500)")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_returns_a_tuple_of_two_dicts():
    ok, gone = f"{API}/ok", f"{API}/gone"
    async with Web({ok: api(1, {"ok": True}), gone: html(1, "Gone", 410)}) as web:
        result = await report(web, [ok, gone], "Answers 200 and 410")
        if not isinstance(result, tuple):
            pytest.fail(
                f"fetch_json_report() returned a {type(result).__name__} ({result!r}); the "
                "contract promises a tuple: `return data, errors`.",
                pytrace=False,
            )
        checks.equal(
            [type(v).__name__ for v in result[1].values()],
            ["int"],
            "Type of each value in `errors`",
            "Each value is the status itself, an int.",
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_a_server_error_is_an_error_whatever_its_body():
    ok, error, busy = f"{API}/ok", f"{API}/error", f"{API}/busy"
    pages = {ok: api(1, {"id": 1}), error: server_error(1), busy: server_error(2, 503)}
    async with Web(pages) as web:
        await report(web, [ok, error, busy], "Answers 200, 500 and 503, all with JSON bodies")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_an_html_error_page_is_reported_not_decoded():
    ok, missing, down = f"{API}/ok", f"{API}/missing", f"{API}/down"
    pages = {ok: api(2, ["a", "b"]), missing: not_found(1), down: unavailable(1)}
    async with Web(pages) as web:
        await report(web, [ok, missing, down], "Answers 200 (JSON), 404 and 503 (HTML pages)")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_every_status_below_400_is_a_success():
    plain, proxied, bad = f"{API}/plain", f"{API}/proxied", f"{API}/bad"
    pages = {plain: api(1, {"v": 1}), proxied: api(1, {"v": 2}, 203)}
    pages[bad] = api(1, {"error": "bad request"}, 400)
    async with Web(pages) as web:
        await report(web, [plain, proxied, bad], "Answers 200, 203 and 400")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_a_3xx_answer_is_a_success():
    # aiohttp follows 301, 302, 303, 307 and 308 itself; 300 is one it hands over as it is.
    plain, choices, gone = f"{API}/plain", f"{API}/choices", f"{API}/gone"
    pages = {plain: api(1, {"v": 1}), choices: api(1, {"choices": ["/v1", "/v2"]}, 300)}
    pages[gone] = not_found(1)
    async with Web(pages) as web:
        await report(web, [plain, choices, gone], "Answers 200, 300 (with a JSON body) and 404")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_the_status_decides_not_the_body():
    # An error whose JSON looks like data, and a success whose JSON has an "error" key
    # (JSON-RPC 1.0 answers {"result": ..., "error": null, "id": ...}).
    rpc, gone, plain = f"{API}/rpc", f"{API}/users/2", f"{API}/users/1"
    pages = {rpc: api(1, {"result": 42, "error": None, "id": 1}), plain: api(1, {"id": 1})}
    pages[gone] = api(1, {"id": 2, "name": "Bob", "deleted": True}, 410)
    async with Web(pages) as web:
        await report(
            web,
            [rpc, gone, plain],
            "A 200 whose JSON has an 'error' key, a 410 whose JSON looks like data, and a 200",
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_keeps_falsy_json_values():
    values = {"null": None, "zero": 0, "false": False, "empty-string": "", "list": [], "obj": {}}
    pages = {f"{API}/{name}": api(1, value) for name, value in values.items()}
    async with Web(pages) as web:
        await report(web, list(pages), 'Answers whose JSON is null, 0, false, "", [] and {}')
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_an_error_does_not_cut_the_others_short():
    missing, slow = f"{API}/missing", f"{API}/slow"
    async with Web({missing: not_found(1), slow: api(4, {"slow": True})}) as web:
        await report(web, [missing, slow], "A 404 after 1 s and a 200 after 4 s")
        took(
            web,
            4,
            "fetch_json_report() of a 404 after 1 s and a 200 after 4 s",
            {5: "That is 1 + 4. " + concurrency_story(web)} if web.most_at_once() == 1 else {},
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_makes_every_request_at_once():
    urls = [f"{API}/items/{i}" for i in range(3)]
    pages = {urls[0]: api(1, 0), urls[1]: not_found(1), urls[2]: server_error(1)}
    async with Web(pages) as web:
        await report(web, urls, "Three answers of 1 s (200, 404, 500)")
        all_at_once(web, "fetch_json_report() of three 1 s requests")
        took(web, 1, "fetch_json_report() of three 1 s requests")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_an_error_is_not_retried():
    down, up = f"{API}/down", f"{API}/up"
    async with Web({down: server_error(1, 503), up: api(1, "up")}) as web:
        await report(web, [down, up], "A 503 and a 200")
        checks.equal(
            dict(web.calls()),
            {down: 1, up: 1},
            "Times each URL was requested",
            lambda got: (
                f"The URL that answered 503 was requested {got.get(down)} times: an error is "
                "reported, not tried again."
                if isinstance(got, dict) and got.get(down, 0) > 1
                else "One GET per entry of `urls` (no HEAD first, no second GET for the body)."
            ),
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_requests_a_repeated_url_once_per_entry():
    a, bad = f"{API}/a", f"{API}/bad"
    urls = [a, bad, a, bad]
    async with Web({a: api(1, {"a": 1}), bad: not_found(2)}) as web:
        await report(web, list(urls), "URLs [/a, /bad, /a, /bad]")
        checks.equal(
            dict(web.calls()),
            {a: 2, bad: 2},
            "Times each URL was requested for urls [/a, /bad, /a, /bad]",
            lambda got: (
                "One request per entry of `urls`: a URL listed twice is requested "
                "twice (and has one entry in the dicts). " + calls_likely(web, urls)(got)
            ),
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_of_no_urls_is_two_empty_dicts():
    async with Web({}) as web:
        result = await report(web, [], "fetch_json_report([])")
        checks.equal(tuple(result), ({}, {}), "fetch_json_report([])")
        took(web, 0, "fetch_json_report() with no URLs")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_keys_each_url_exactly_as_given():
    urls = [
        f"{API}/search?sort=asc&q=bär",
        f"{API}/Users",
        f"{API}/users",
        f"{API}/café?page=2",
        f"{API}/items/",
        f"{API}/find?name=Ada ",  # a query that ends in a space: `name=Ada+`, not `name=Ada`
    ]
    pages = {urls[0]: api(1, {"hits": 3}), urls[1]: not_found(1)}
    pages[urls[2]] = api(2, {"users": []})
    pages[urls[3]] = server_error(1, 502)
    pages[urls[4]] = api(1, {"items": [1, 2]})
    pages[urls[5]] = api(1, [{"name": "Ada "}])
    async with Web(pages) as web:
        await report(web, list(urls), f"URLs {urls!r}")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_releases_every_response_even_the_errors():
    urls = [f"{API}/ok", f"{API}/missing", f"{API}/error", f"{API}/teapot"]
    pages = {urls[0]: api(1, 1), urls[1]: not_found(1), urls[2]: server_error(2)}
    pages[urls[3]] = Page(1, "I'm a teapot", 418, "text/plain")
    async with Web(pages) as web:
        await report(web, urls, "Answers 200, 404, 500 and 418")
        web.check("fetch_json_report")
        checks.equal(
            [r.url for r in web.requests if not (r.released or r.read)],
            [],
            "Responses neither released nor read when fetch_json_report() returned",
        )


@pytest.mark.task(2)
async def test_report_leaves_urls_unchanged():
    a, bad = f"{API}/a", f"{API}/bad"
    urls = [a, bad, a]
    async with Web({a: api(1, "A"), bad: not_found(2)}) as web:
        await web.run("fetch_json_report", urls)
        checks.equal(
            urls,
            [a, bad, a],
            "The caller's `urls` list after fetch_json_report()",
            "fetch_json_report() changed the list it was given (pop, remove, sort): leave "
            "the caller's list as it was.",
        )
        web.check("fetch_json_report")


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_report_waits_for_requests_that_take_a_day():
    day, hours, now = f"{API}/day", f"{API}/hours", f"{API}/now"
    pages = {day: api(86_400, {"d": 1}), hours: server_error(10_000, 504), now: api(0, [])}
    async with Web(pages) as web:
        await report(web, [day, hours, now], "Answers after 86400 s, 10000 s (504) and 0 s")
        took(web, 86_400, "fetch_json_report() of requests taking 86400 s, 10000 s and 0 s")
        web.check("fetch_json_report")


@pytest.mark.task(2)
async def test_report_keeps_nothing_between_calls():
    a, b, c = f"{API}/a", f"{API}/b", f"{API}/c"
    async with Web({a: api(1, "A1"), b: not_found(1)}) as first:
        await report(first, [a, b], "First call, urls [/a, /b]")
        first.check("fetch_json_report", "first call")
    async with Web({c: api(1, "C2")}) as second:
        result = await second.run("fetch_json_report", [c])
        if isinstance(result, tuple | list) and len(result) == 2:
            data, errors = result
            if isinstance(data, dict) and isinstance(errors, dict) and {a, b} & {*data, *errors}:
                pytest.fail(
                    f"Second call, urls [/c]: got {result!r}, which still holds entries of the "
                    "first call. Something outlives a call (dicts at module level): each call "
                    "starts from nothing.",
                    pytrace=False,
                )
        check_report(second, [c], result, "Second call, urls [/c]")
        second.check("fetch_json_report", "second call")
    x, y = f"{API}/x", f"{API}/y"
    async with Web({x: api(2, "X"), y: server_error(1)}) as both:
        results = await asyncio.gather(
            http_clients.fetch_json_report([x]), http_clients.fetch_json_report([y])
        )
        checks.equal(
            [tuple(r) if isinstance(r, list | tuple) else r for r in results],
            [({x: "X"}, {}), ({}, {y: 500})],
            "Two calls at the same time, urls [/x] and [/y]",
            "Each call keeps its own dicts, nothing shared at module level.",
        )
        checks.equal(
            len(both.sessions), 2, "Sessions opened by two calls at the same time", "One each."
        )


@pytest.mark.task(2)
async def test_a_cancelled_report_cancels_its_requests_before_closing_its_session():
    urls = [f"{API}/missing", f"{API}/five", f"{API}/ten"]
    pages = {urls[0]: not_found(1), urls[1]: api(5, 5), urls[2]: server_error(10)}
    async with Web(pages) as web:
        problems = await cancelled_while_waiting(web, "fetch_json_report", 2, urls)
        if problems:
            pytest.fail(
                "fetch_json_report() of a 404 after 1 s and answers after 5 and 10 s, "
                "cancelled at 2 s: " + problems,
                pytrace=False,
            )


ANSWERS = {
    "200 {'id': 7, 'name': 'Zoë'}": lambda t: api(t, {"id": 7, "name": "Zoë"}),
    "200 null": lambda t: api(t, None),
    "200 0": lambda t: api(t, 0),
    "203 []": lambda t: api(t, [], 203),
    "404 (an HTML page)": not_found,
    "500 {'error': ...}": server_error,
    "503 (an HTML page)": unavailable,
}


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
@scenarios.given(case=site_specs(st.sampled_from(sorted(ANSWERS))))
async def test_report_in_any_scenario(case):
    spec, urls = case
    scene = scene_of(
        f"with urls {urls!r}",
        [f"{u!r} answers {a} after {t:g} s" for u, (t, a) in spec.items() if u in urls],
    )
    scenarios.describe(scene)
    async with Web({u: ANSWERS[answer](t) for u, (t, answer) in spec.items()}) as web:
        given = list(urls)
        await report(web, given, f"fetch_json_report() {scene}")
        checks.equal(
            dict(web.calls()),
            dict(Counter(urls)),
            f"Times each URL was requested {scene}",
            calls_likely(web, urls),
        )
        checks.equal(given, urls, f"The caller's `urls` after fetch_json_report() {scene}")
        all_at_once(web, f"fetch_json_report() {scene}")
        took(web, max((spec[u][0] for u in urls), default=0), f"fetch_json_report() {scene}")
        web.check("fetch_json_report", scene)


# Task 3: what_is_my_ip

IPIFY = ("http://ipify.test/?format=json", "ip")
IPAPI = ("http://ip-api.test/json", "query")
HTTPBIN = ("http://httpbin.test/ip", "origin")
MYIP = ("http://myip.test/", "ip")
MINE = "203.0.113.7"


def answers(latency: float, service: tuple[str, str], ip: str = MINE) -> Page:
    """A good answer: the service's own JSON shape, the IP under its own field."""
    url, field = service
    extra = {"status": "success", "country": "Wonderland"} if "ip-api" in url else {}
    return api(latency, {**extra, field: ip})


def race(pages: dict[str, Page], services: list[tuple[str, str]]) -> tuple[set[str], float]:
    """The IPs that may win, and when the call must end (no IP: every service fails)."""
    good = [(pages[u].latency, pages[u].json()[f]) for u, f in services if pages[u].ok]
    if not good:
        return set(), max((pages[u].latency for u, _ in services), default=0)
    first = min(t for t, _ in good)
    return {ip for t, ip in good if t == first}, first


async def ask(web: Web, services: list[tuple[str, str]], what: str) -> object:
    """Await the learner's what_is_my_ip(), explaining a failure that ended the race."""
    try:
        return await web.run("what_is_my_ip", services)
    except aiohttp.ClientResponseError as exc:
        found = web.page_of(exc.request_info.real_url)
        raised = (
            f"what_is_my_ip() raised the ClientResponseError (status {exc.status}) of "
            f"{found[0] if found else exc.request_info.real_url!r}, at {web.now():g} s"
        )
        ips, _ = race(web.pages, services)
        if not ips and not web.running:
            pytest.fail(
                f"{what}: {raised}. Every service had failed by then, which is right, but the "
                "contract asks for a LookupError in that case, not the last failure.",
                pytrace=False,
            )
        pytest.fail(
            f"{what}: {raised}. A service that fails does not end the race: keep waiting for "
            "the others (and raise LookupError only once every service has failed).",
            pytrace=False,
        )
    except aiohttp.ClientConnectionError as exc:
        ips, _ = race(web.pages, services)
        if not ips and not web.running:
            pytest.fail(
                f"{what}: what_is_my_ip() raised {exc!r} at {web.now():g} s. Every service had "
                "failed by then, which is right, but the contract asks for a LookupError in "
                "that case, not the last failure.",
                pytrace=False,
            )
        pytest.fail(
            f"{what}: what_is_my_ip() let the {type(exc).__name__} of a service that cannot "
            f"be reached escape ({exc}). A request that raises aiohttp.ClientError is a failed "
            "service like one that answers 503: skip it and wait for the others. Catch "
            "aiohttp.ClientError, the base of both.",
            pytrace=False,
        )
    except KeyError as exc:
        key = exc.args[0] if exc.args else None
        fields = dict(services)
        # the answers that came at the moment it raised: one of them was being read
        answered = [r for r in web.requests if r.end is not None and r.end == web.ended] or [
            r for r in web.requests if r.end is not None
        ]

        def lacks(request: Request) -> bool:
            body = json_or_none(web.pages[request.url])
            return not (isinstance(body, dict) and key in body)

        good = [r for r in answered if web.pages[r.url].ok and lacks(r)]
        failed = [r for r in answered if web.pages[r.url].status >= 400 and lacks(r)]
        if good:
            page = web.pages[good[0].url]
            story = (
                f" {good[0].url!r} answered with status {page.status} and the JSON "
                f"{page.body}, which has no key {key!r}: this service names its IP "
                f"{fields.get(good[0].url)!r}. Each service names its own field: read "
                "body[field] with the field paired with its URL."
            )
        elif failed:
            story = (
                f" {failed[0].url!r} answered with status {web.pages[failed[0].url].status}, "
                "whose body has no IP: check the status before you read the body (a status of "
                "400 or more is a failure)."
            )
        else:
            story = (
                " Each service names its own field: read body[field] with the field paired "
                "with its URL."
            )
        pytest.fail(f"{what}: what_is_my_ip() raised {exc!r}.{story}", pytrace=False)


def dropped_story(web: Web, services: list[tuple[str, str]], when: float) -> str:
    """If a good answer's task had finished at the moment a failure did, and the call went on
    without it: say so ("" otherwise)."""
    good = {u for u, _ in services if web.pages[u].ok and web.pages[u].latency == when}
    finished = [
        r
        for r in web.requests
        if r.url in good
        and r.end == when
        and r.task is not None
        and r.task.done()
        and not r.task.cancelled()
        and r.task.exception() is None
        and r.task is not asyncio.current_task()
    ]
    failed = [r for r in web.requests if r.end == when and not web.pages[r.url].ok]
    if not (finished and failed):
        return ""
    return (
        f" {finished[0].url!r} answered at {when:g} s, and its task had finished with that "
        f"answer, at the same moment as {failed[0].url!r}, which {web.failure_of(failed[0])}, "
        "yet the call went on without it: both had finished in the same step (with "
        "asyncio.wait: in one `done` set). Look at every task in `done`, not only one of "
        "them (done.pop())."
    )


def json_or_none(page: Page) -> object:
    try:
        return page.json()
    except ValueError:
        return None


def check_ip(web: Web, services: list[tuple[str, str]], result: object, what: str) -> None:
    checks.not_coroutine(result, "what_is_my_ip()'s result")
    ips, when = race(web.pages, services)
    if isinstance(result, dict):
        pytest.fail(
            f"{what}: what_is_my_ip() returned the whole JSON body {result!r}; return only the "
            "IP, the string under the service's field: `body[field]`.",
            pytrace=False,
        )
    if isinstance(result, asyncio.Future):
        pytest.fail(
            f"{what}: what_is_my_ip() returned a task (or future), not the IP it holds: "
            "return `task.result()` of the winner.",
            pytrace=False,
        )
    if result in ips:
        return
    failed = {
        ip: (u, web.pages[u].status)
        for u, f in services
        if web.pages[u].status >= 400
        and isinstance(body := json_or_none(web.pages[u]), dict)
        and (ip := body.get(f)) is not None
    }
    slower = {
        ip: t
        for u, f in services
        if web.pages[u].ok and (ip := web.pages[u].json()[f]) not in ips
        for t in [web.pages[u].latency]
    }
    likely = ""
    if result in failed:
        url, status = failed[result]
        likely = (
            f"That is the IP in the body of the answer of {url!r}, whose status is {status}: "
            "an answer of 400 or more has failed, whatever its body holds"
            + (" (a 4xx as much as a 5xx)" if status < 500 else "")
            + ". Check the status first (response.raise_for_status() raises for it)."
        )
    elif result in slower:
        unusual = [
            (u, web.pages[u].status)
            for u, _ in services
            if web.pages[u].ok and web.pages[u].latency == when and web.pages[u].status != 200
        ]
        likely = (
            f"That is the answer of a slower service (it answered at {slower[result]:g} s): "
            f"the first good answer came at {when:g} s"
            + (
                f", from {unusual[0][0]!r} with status {unusual[0][1]}: every status below 400 "
                "is a success. Likely a check for `status == 200` only: `response.ok` (or "
                "`status < 400`) is the test."
                if unusual
                else "." + dropped_story(web, services, when)
            )
        )
    elif isinstance(result, tuple | list):
        likely = "Return the IP alone (a str), not a tuple or list."
    elif isinstance(result, str) and not any(result in web.pages[u].text() for u, _ in services):
        likely = (
            "No service of this call answered that: it comes from somewhere else. Something "
            "outlives a call (an IP or a session kept at module level?): each call asks anew."
        )
    checks.equal(result, sorted(ips)[0] if len(ips) == 1 else ips, what, likely)


def ip_took(web: Web, services: list[tuple[str, str]], what: str) -> None:
    _, when = race(web.pages, services)
    slowest = max((web.pages[u].latency for u, _ in services), default=0)
    likely = {}
    if slowest > when:
        likely[slowest] = (
            f"That is when the slowest service answered: it waited for every service (gather?) "
            f"instead of returning as soon as the first good answer came at {when:g} s."
        )
    took(web, when, what, likely)


async def my_ip(web: Web, services: list[tuple[str, str]], what: str) -> object:
    asked = list(services)
    try:
        result = await ask(web, services, what)
    except LookupError as exc:
        if isinstance(exc, KeyError | IndexError):
            raise
        _, when = race(web.pages, asked)
        unusual = sorted(
            {(u, web.pages[u].status) for u, _ in asked if web.pages[u].ok}
            - {(u, 200) for u, _ in asked}
        )
        good = [u for u, _ in asked if web.pages[u].ok]
        pytest.fail(
            f"{what}: what_is_my_ip() raised {exc!r} at {web.now():g} s, but a service gives "
            f"a good answer at {when:g} s: raise LookupError only once every service has "
            "failed, and wait for the others until then."
            + dropped_story(web, asked, when)
            + (
                f" {unusual[0][0]!r} answered with status {unusual[0][1]}, a success: every "
                "status below 400 is one. Likely a check for `status == 200` only."
                if unusual and len(unusual) == len(set(good))
                else ""
            ),
            pytrace=False,
        )
    unchanged("what_is_my_ip", services, asked)
    check_ip(web, asked, result, what)
    return result


async def expect_lookup_error(web: Web, services: list[tuple[str, str]], what: str) -> None:
    asked = list(services)
    try:
        result = await ask(web, services, what)
    except LookupError as exc:
        if isinstance(exc, KeyError | IndexError):
            raise
        unchanged("what_is_my_ip", services, asked)
        return
    checks.not_coroutine(result, "what_is_my_ip()'s result")
    pytest.fail(
        f"{what}: what_is_my_ip() returned {result!r}, but no service gave a good answer: "
        "raise LookupError then.",
        pytrace=False,
    )


@pytest.mark.task(3)
async def test_the_first_service_to_answer_wins():
    pages = {IPIFY[0]: answers(3, IPIFY, "198.51.100.3"), IPAPI[0]: answers(1, IPAPI)}
    pages[HTTPBIN[0]] = answers(2, HTTPBIN, "198.51.100.2")
    services = [IPIFY, IPAPI, HTTPBIN]
    async with Web(pages) as web:
        await my_ip(web, list(services), "Services answering after 3, 1 and 2 s")
        ip_took(web, services, "what_is_my_ip() with services answering after 3, 1 and 2 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_the_losers_are_cancelled_the_moment_the_winner_answers():
    pages = {IPIFY[0]: answers(5, IPIFY), IPAPI[0]: answers(1, IPAPI)}
    pages[HTTPBIN[0]] = answers(10, HTTPBIN)
    async with Web(pages) as web:
        await my_ip(web, [IPIFY, IPAPI, HTTPBIN], "Services answering after 5, 1 and 10 s")
        web.check("what_is_my_ip")
        checks.equal(
            {r.url: r.cancelled for r in web.requests if r.url != IPAPI[0]},
            {IPIFY[0]: 1.0, HTTPBIN[0]: 1.0},
            "Loop time at which each losing request was cancelled",
            "The losers are cancelled as soon as the winner answers, at 1 s.",
        )


@pytest.mark.task(3)
async def test_what_is_my_ip_returns_the_ip_string():
    async with Web({MYIP[0]: answers(1, MYIP, "2001:db8::42")}) as web:
        result = await my_ip(web, [MYIP], "One service answering {'ip': '2001:db8::42'}")
        if type(result) is not str:
            pytest.fail(
                f"what_is_my_ip() returned a {type(result).__name__} ({result!r}); the "
                "contract promises the IP, a str.",
                pytrace=False,
            )
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_each_service_names_its_own_field():
    pages = {IPIFY[0]: answers(2, IPIFY, "198.51.100.9"), IPAPI[0]: answers(1, IPAPI)}
    pages[HTTPBIN[0]] = answers(3, HTTPBIN, "198.51.100.8")
    async with Web(pages) as web:
        await my_ip(
            web,
            [IPIFY, IPAPI, HTTPBIN],
            "ip-api (field 'query', among other fields) answering first, at 1 s",
        )
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_a_failed_answer_does_not_win():
    pages = {IPIFY[0]: unavailable(1), HTTPBIN[0]: not_found(2), IPAPI[0]: answers(3, IPAPI)}
    services = [IPIFY, HTTPBIN, IPAPI]
    async with Web(pages) as web:
        await my_ip(web, services, "A 503 at 1 s, a 404 at 2 s, a good answer at 3 s")
        ip_took(web, services, "what_is_my_ip() with a 503 at 1 s, a 404 at 2 s, a 200 at 3 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_a_server_error_does_not_win_whatever_its_body():
    pages = {MYIP[0]: api(1, {"ip": "0.0.0.0", "error": "upstream timed out"}, 503)}
    pages[IPIFY[0]] = answers(2, IPIFY)
    services = [MYIP, IPIFY]
    async with Web(pages) as web:
        await my_ip(
            web, services, "A 503 at 1 s whose JSON says {'ip': '0.0.0.0'}, a good answer at 2 s"
        )
        ip_took(web, services, "what_is_my_ip() with a 503 at 1 s and a good answer at 2 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_the_status_decides_who_wins_not_the_body():
    # A 404 whose JSON holds the service's field, then a 203 (a success a proxy may send).
    pages = {MYIP[0]: api(1, {"ip": "198.51.100.99", "detail": "no such route"}, 404)}
    pages[IPAPI[0]] = api(2, {"status": "success", "query": MINE}, 203)
    pages[HTTPBIN[0]] = answers(3, HTTPBIN, "198.51.100.3")
    services = [MYIP, IPAPI, HTTPBIN]
    async with Web(pages) as web:
        await my_ip(
            web,
            services,
            "A 404 at 1 s whose JSON has an 'ip', a 203 at 2 s, a 200 at 3 s",
        )
        ip_took(web, services, "what_is_my_ip() with a 404 at 1 s, a 203 at 2 s, a 200 at 3 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_an_unreachable_service_does_not_win():
    pages = {IPIFY[0]: unreachable(0.5), HTTPBIN[0]: answers(1, HTTPBIN)}
    services = [IPIFY, HTTPBIN]
    async with Web(pages) as web:
        await my_ip(web, services, "A service unreachable at 0.5 s, a good answer at 1 s")
        ip_took(web, services, "what_is_my_ip() with an unreachable service and a 1 s answer")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_when_every_service_fails_it_raises_lookup_error():
    pages = {IPIFY[0]: unavailable(1), IPAPI[0]: unreachable(3), HTTPBIN[0]: server_error(2)}
    services = [IPIFY, IPAPI, HTTPBIN]
    async with Web(pages) as web:
        await expect_lookup_error(
            web, services, "A 503 at 1 s, an unreachable service at 3 s and a 500 at 2 s"
        )
        took(web, 3, "what_is_my_ip() when the last service fails at 3 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_failures_at_the_winners_moment_are_retrieved():
    # A good answer, a 503 and an unreachable service, all at 1 s. The 503 is handled a step
    # or two before the good answer has been read; the unreachable one fails right after the
    # winner's task has ended: one `done` set holds all three, and as_completed hands the
    # winner over before the unreachable one. This test's tasks hash in the order they are
    # made, so `done` is gone through in the order of `services`, every run: one round lists
    # the winner last, the other first. A race that stops looking at what has finished once
    # it has a winner leaves a failure unretrieved in at least one round.
    pages = {IPIFY[0]: answers(1, IPIFY), MYIP[0]: unavailable(1)}
    pages[HTTPBIN[0]] = Page(1, unreachable=True, after=IPIFY[0])
    pages[IPAPI[0]] = answers(5, IPAPI, "198.51.100.5")
    rounds = {
        "winner listed last": [MYIP, HTTPBIN, IPAPI, IPIFY],
        "winner listed first": [IPIFY, MYIP, HTTPBIN, IPAPI],
    }
    for name, services in rounds.items():
        async with Web(pages, tasks_in_order=True) as web:
            what = f"A good answer, a 503 and an unreachable service at 1 s, a 5 s answer ({name})"
            await my_ip(web, services, what)
            ip_took(web, services, f"what_is_my_ip() with three answers at 1 s ({name})")
            web.check("what_is_my_ip", name)


@pytest.mark.task(3)
async def test_no_services_raise_lookup_error_at_once():
    async with Web({}) as web:
        await expect_lookup_error(web, [], "what_is_my_ip([])")
        took(web, 0, "what_is_my_ip([])")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_what_is_my_ip_asks_every_service_through_one_session():
    services = [IPIFY, IPAPI, HTTPBIN, MYIP]
    pages = {url: answers(t, (url, f)) for t, (url, f) in enumerate(services, 1)}
    async with Web(pages) as web:
        await my_ip(web, services, "Four services")
        web.check("what_is_my_ip")
        checks.equal(len(web.sessions), 1, "Sessions what_is_my_ip() opened for four services")


@pytest.mark.task(3)
async def test_each_service_is_asked_exactly_once():
    pages = {IPIFY[0]: unavailable(1), IPAPI[0]: answers(2, IPAPI), MYIP[0]: answers(4, MYIP)}
    async with Web(pages) as web:
        await my_ip(web, [IPIFY, IPAPI, MYIP], "A 503 at 1 s, good answers at 2 and 4 s")
        checks.equal(
            dict(web.calls()),
            {IPIFY[0]: 1, IPAPI[0]: 1, MYIP[0]: 1},
            "Times each service was asked",
            lambda got: (
                "The service that failed was asked again: a failed service is skipped, not retried."
                if isinstance(got, dict) and got.get(IPIFY[0], 0) > 1
                else "One request per service, all at once."
            ),
        )
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_the_same_service_listed_twice_is_asked_twice():
    pages = {IPIFY[0]: answers(2, IPIFY), HTTPBIN[0]: answers(3, HTTPBIN, "198.51.100.1")}
    async with Web(pages) as web:
        await my_ip(web, [IPIFY, HTTPBIN, IPIFY], "Services [ipify, httpbin, ipify]")
        checks.equal(
            dict(web.calls()),
            {IPIFY[0]: 2, HTTPBIN[0]: 1},
            "Times each service was asked for [ipify, httpbin, ipify]",
            lambda got: (
                "A service listed twice is asked twice. "
                + calls_likely(web, [IPIFY[0], HTTPBIN[0], IPIFY[0]])(got)
            ),
        )
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_what_is_my_ip_leaves_services_unchanged():
    services = [IPIFY, HTTPBIN, IPIFY]
    pages = {IPIFY[0]: answers(2, IPIFY), HTTPBIN[0]: not_found(1)}
    async with Web(pages) as web:
        await ask(web, services, "Services [ipify, httpbin, ipify]")
        checks.equal(
            services,
            [IPIFY, HTTPBIN, IPIFY],
            "The caller's `services` list after what_is_my_ip()",
            "what_is_my_ip() changed the list it was given (pop, remove, sort): leave it as "
            "it was.",
        )
        web.check("what_is_my_ip")


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_race_is_waited_for():
    pages = {IPIFY[0]: answers(86_400, IPIFY), IPAPI[0]: answers(172_800, IPAPI, "198.51.100.5")}
    pages[HTTPBIN[0]] = unavailable(10_000)
    services = [IPIFY, IPAPI, HTTPBIN]
    async with Web(pages) as web:
        await my_ip(web, services, "A 503 after 10000 s, good answers after 86400 and 172800 s")
        ip_took(web, services, "what_is_my_ip() with the first good answer after 86400 s")
        web.check("what_is_my_ip")


@pytest.mark.task(3)
async def test_two_races_at_once_keep_their_own_answers():
    pages = {IPIFY[0]: answers(2, IPIFY, "198.51.100.1"), IPAPI[0]: unavailable(1)}
    pages[HTTPBIN[0]] = answers(1, HTTPBIN, "198.51.100.2")
    pages[MYIP[0]] = answers(3, MYIP, "198.51.100.3")
    async with Web(pages) as web:
        results = await asyncio.gather(
            http_clients.what_is_my_ip([IPIFY, IPAPI]),
            http_clients.what_is_my_ip([HTTPBIN, MYIP]),
        )
        checks.equal(
            list(results),
            ["198.51.100.1", "198.51.100.2"],
            "Two races at the same time, [ipify, ip-api] and [httpbin, myip]",
            "Each race keeps its own services and answer, nothing shared at module level.",
        )
        checks.equal(len(web.sessions), 2, "Sessions opened by two races at once", "One each.")
    async with Web({MYIP[0]: answers(1, MYIP, "198.51.100.4")}) as again:
        await my_ip(again, [MYIP], "A third race, afterwards, [myip]")
        again.check("what_is_my_ip", "a third race")


@pytest.mark.task(3)
async def test_cancelling_what_is_my_ip_stops_every_request():
    pages = {IPIFY[0]: answers(3, IPIFY), IPAPI[0]: answers(5, IPAPI)}
    pages[HTTPBIN[0]] = unavailable(0.5)
    async with Web(pages) as web:
        problems = await cancelled_while_waiting(web, "what_is_my_ip", 1, [IPIFY, IPAPI, HTTPBIN])
        if problems:
            pytest.fail(
                "what_is_my_ip() with an unreachable service at 0.5 s and answers after 3 and "
                "5 s, cancelled at 1 s: " + problems,
                pytrace=False,
            )


SERVICES = [IPIFY, IPAPI, HTTPBIN, MYIP]
# A failure never comes at the same moment as a good answer (failures come 1/8 s later than
# the sampled times): with both in one `done` set, an answer that returns on the good one
# without looking at the failure leaves an unretrieved exception in some runs and not in
# others, by set order alone, and a verdict must not depend on that. That moment has a test of
# its own, test_failures_at_the_winners_moment_are_retrieved, which fixes the order of `done`.
OUTCOMES = {
    "a good answer": lambda t, s: answers(t, s, f"198.51.100.{SERVICES.index(s) + 1}"),
    "503 {'ip': '0.0.0.0', ...}": lambda t, s: api(
        t + 0.125, {s[1]: "0.0.0.0", "error": "busy"}, 503
    ),
    "404 (an HTML page)": lambda t, s: not_found(t + 0.125),
    "no connection": lambda t, s: unreachable(t + 0.125),
}


def race_specs():
    table = st.dictionaries(
        st.sampled_from(range(len(SERVICES))),
        st.tuples(st.sampled_from([0, 0.5, 1, 2.5, 10_000]), st.sampled_from(sorted(OUTCOMES))),
        max_size=3,
    )
    return table.flatmap(
        lambda spec: st.tuples(
            st.just(spec),
            st.lists(st.sampled_from(sorted(spec)), max_size=4) if spec else st.just([]),
        )
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(case=race_specs())
async def test_what_is_my_ip_in_any_scenario(case):
    spec, picks = case
    services = [SERVICES[i] for i in picks]
    names = [SERVICES[i][0] for i in picks]
    pages = {SERVICES[i][0]: OUTCOMES[o](t, SERVICES[i]) for i, (t, o) in spec.items()}
    scene = scene_of(
        f"with services {names!r}",
        [
            f"{SERVICES[i][0]!r}: {o} after {pages[SERVICES[i][0]].latency:g} s"
            for i, (_, o) in spec.items()
            if i in picks
        ],
    )
    scenarios.describe(scene)
    async with Web(pages) as web:
        given = list(services)
        ips, _ = race(pages, services)
        if ips:
            await my_ip(web, given, f"what_is_my_ip() {scene}")
        else:
            await expect_lookup_error(web, given, f"what_is_my_ip() {scene}")
        checks.equal(
            dict(web.calls()),
            dict(Counter(names)),
            f"Times each service was asked {scene}",
            calls_likely(web, names),
        )
        checks.equal(given, services, f"The caller's `services` after what_is_my_ip() {scene}")
        all_at_once(web, f"what_is_my_ip() {scene}")
        ip_took(web, services, f"what_is_my_ip() {scene}")
        web.check("what_is_my_ip", scene)
