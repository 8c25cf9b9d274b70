"""Exercise 26 tests. Run them with `pytest exercises/26`.

No request leaves this machine: the kit's mocked web (aiokata.web, on aioresponses) answers
every aiohttp request. Each URL answers after a latency of loop time; some fail (404, 503,
429 with Retry-After, unreachable). The web records every request: when it was sent, when it
ended, through which session, whether its response was released. The tests compute what a
right crawl does from the site itself (a small breadth-first oracle below) and compare.
"""

import asyncio
import heapq
import re
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urldefrag, urljoin

import aiohttp
import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata import web as fake

capstone = exercise_module(__file__)

# The mock web does no I/O: when nothing is ready to run, the clock may jump to the next timer
# at once.
pytestmark = pytest.mark.looptime(noop_cycles=1)

SITE = "http://site.test"
Page = fake.Page
Request = fake.Request
_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def links(body: str, base: str) -> list[str]:
    """The test's own copy of links_in (the oracle never trusts the learner's file)."""
    return [urldefrag(urljoin(base, href)).url for href in _HREF.findall(body)]


def u(path: str) -> str:
    return SITE + path


def html(*hrefs: str) -> str:
    return "<ul>" + "".join(f'<li><a href="{h}">{h}</a></li>' for h in hrefs) + "</ul>"


def ok(latency: float, *hrefs: str) -> Page:
    return Page(latency, html(*hrefs))


def status(code: int, latency: float = 0, retry_after: str | None = None) -> Page:
    return Page(latency, f"<h1>{code}</h1>", code, retry_after=retry_after)


def down(latency: float = 0) -> Page:
    return Page(latency, unreachable=True)


@dataclass
class Cut(Page):
    """A page whose status comes (a 200) but whose connection is lost while its body is
    read: after `latency` the status, then `transfer` seconds into the body the read raises
    ServerDisconnectedError (or, with `reset`, ClientOSError "Connection reset by peer"),
    both aiohttp.ClientConnectionError. The mocked web cannot do that itself: the test's own
    response class (`_Body`, below) does it."""

    reset: bool = False

    @property
    def ok(self) -> bool:
        return False

    @property
    def retryable(self) -> bool:
        return True

    def lost(self) -> aiohttp.ClientConnectionError:
        if self.reset:
            return aiohttp.ClientOSError(104, "Connection reset by peer")
        return aiohttp.ServerDisconnectedError()

    def told(self) -> str:
        error = "ClientOSError" if self.reset else "ServerDisconnectedError"
        return f"{self.status} (then {error} {self.transfer:.10g} s into its body)"


def cut(latency: float, transfer: float, reset: bool = False) -> Cut:
    return Cut(latency, html("/never"), transfer=transfer, reset=reset)


def site(pages: dict[str, Page | list[Page]]) -> dict[str, Page | list[Page]]:
    return {u(path): page for path, page in pages.items()}


# --- what fetch_page() and crawl() should do: the oracle ----------------------------------


@dataclass
class Fetch:
    """What fetch_page() does with a URL's answers: when it sends each request (from the
    first), when it ends (from the first request), and its body or its failure's reason."""

    offsets: list[float]
    ends: float
    body: str | None
    reason: str | None


def fetch_oracle(answers: list[Page], attempts: int, base_delay: float) -> Fetch:
    now, offsets = 0.0, []
    for k in range(1, attempts + 1):
        got = answers[min(k - 1, len(answers) - 1)]
        offsets.append(now)
        now += got.latency + (got.transfer if isinstance(got, Cut) else 0)
        if got.ok:
            return Fetch(offsets, now, got.text(), None)
        reason = "unreachable" if got.unreachable or isinstance(got, Cut) else str(got.status)
        if not got.retryable or k == attempts:
            return Fetch(offsets, now, None, reason)
        now += int(got.retry_after) if got.retry_after is not None else base_delay * 2 ** (k - 1)
    raise AssertionError("attempts >= 1")


@dataclass
class Plan:
    """The crawl the contract asks for: each URL's depth (within max_depth), the levels (the
    URLs of each depth, as sets: the order within a level is the learner's), what fetching
    each URL does, and the path that gives each URL its depth."""

    start: str
    max_depth: int
    depth: dict[str, int]
    levels: list[set[str]]
    fetch: dict[str, Fetch]
    parent: dict[str, str]
    beyond: dict[str, int]  # URLs reachable only deeper than max_depth, with their depth
    attempts: int = 1
    base_delay: float = 1.0

    def path(self, url: str) -> str:
        chain = [url]
        while chain[-1] in self.parent:
            chain.append(self.parent[chain[-1]])
        return " → ".join(name(c) for c in reversed(chain))

    def new_links(self, url: str) -> list[str]:
        """The links of a page the crawl follows (it was fetched, below max_depth)."""
        got = self.fetch[url]
        if got.body is None or self.depth[url] >= self.max_depth:
            return []
        return links(got.body, url)


def plan(web: "Web", start: str, max_depth: int, attempts: int, base_delay: float) -> Plan:
    depth, parent, fetch = {start: 0}, {}, {}
    levels = [[start]]
    beyond: dict[str, int] = {}
    while levels[-1]:
        following = []
        for url in levels[-1]:
            answers = web.answers.get(url, [down(0)])
            fetch[url] = got = fetch_oracle(answers, attempts, base_delay)
            if got.body is None:
                continue
            for link in links(got.body, url):
                if link in depth or link in beyond:
                    continue
                if depth[url] < max_depth:
                    depth[link], parent[link] = depth[url] + 1, url
                    following.append(link)
                else:
                    beyond[link] = depth[url] + 1
        levels.append(following)
    levels.pop()
    return Plan(start, max_depth, depth, [set(level) for level in levels], fetch, parent, beyond)


def name(url: str) -> str:
    """A URL as a message names it: the path of the test's own site, else the whole URL."""
    return url[len(SITE) :] if url.startswith(SITE + "/") else url


def times(values: list[float]) -> str:
    return ", ".join(f"{v:.10g}" for v in values) + " s"


def short(value: object, most: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 5] + " ...]"


# --- the mocked web (aiokata.web), with this exercise's own checks ------------------------


def _refuse(error: BaseException) -> NoReturn:
    """A connection error of the mocked web, raised here: the test's own, on purpose."""
    raise error


class _Body(fake._Response):
    """The mocked web's response, whose body read fails when its page is a Cut: the error is
    raised from the body's stream once the page's transfer time has passed, as aiohttp raises
    a connection lost in mid-body, and noted in the Web's `lost`."""

    async def read(self) -> bytes:
        record = self.record
        if isinstance(record.page, Cut) and self._body is None and record.finished_seq is None:
            error = record.page.lost()
            record.web.lost.append((error, record))
            self.content.set_exception(error)
        return await super().read()


class Web(fake.Web):
    """`async with Web(pages) as web:` serves `pages` to every aiohttp request made inside,
    records what happened, and cleans up whatever the learner's code left."""

    def __init__(self, pages: dict[str, Page | list[Page]], max_requests: int = 0) -> None:
        super().__init__(pages, max_requests=max_requests, held_until_read=True)
        self.name = ""
        self.cancelled = False  # the call was cancelled from outside, and ended so
        self.left: list[asyncio.Task] = []  # tasks the call made, still running when it ended
        self.lost: list[tuple[BaseException, Request]] = []  # errors raised by a Cut's body

    async def _serve(self, requested, **kwargs):
        answer = await super()._serve(requested, **kwargs)
        answer.response_class = _Body  # a Cut page's body read raises (see Cut)
        return answer

    def throw(self, error: aiohttp.ClientConnectionError, refused: bool) -> NoReturn:
        _refuse(error)

    def shown(self, url: str) -> str:
        return name(url)

    one_session = "Open one session for the whole crawl and hand it to every fetch_page() call"

    def too_many(self, url: str) -> str:
        sent = self.to(url)
        return (
            f"{self.name}() sent request number {len(sent)} to {name(url)!r} (at "
            f"{times([r.start for r in sent])}) and had not stopped: "
            + (
                "a page is fetched once, and retried at most `attempts` times in all. Likely "
                "no seen set (a cycle of links is followed round and round), or a retry loop "
                "that does not count its attempts."
            )
        )

    async def run(self, name_: str, *args: object, **kwargs: object) -> object:
        """Await the learner's `name_`(*args, **kwargs); note what was left running when it
        returned or raised, and explain the classic mistakes."""
        self.name, self.began = name_, self.now()
        before = set(asyncio.all_tasks())
        try:
            result = await getattr(capstone, name_)(*args, **kwargs)
        except BaseException as exc:
            self._finished(before, "ended")
            task = asyncio.current_task()
            self.cancelled = isinstance(exc, asyncio.CancelledError) and task.cancelling() > 0
            if self.runaway and not isinstance(exc, pytest.fail.Exception):
                pytest.fail(self.runaway, pytrace=False)
            if isinstance(exc, pytest.fail.Exception | asyncio.CancelledError):
                raise
            lesson = self.explain(name_, exc, kwargs)
            if lesson:
                pytest.fail(lesson, pytrace=False)
            raise
        self._finished(before)
        return result

    def _finished(self, before: set, verb: str = "returned") -> None:
        self.note_end(verb)
        mine = asyncio.current_task()
        self.left = [t for t in asyncio.all_tasks() - before if t is not mine and not t.done()]

    def explain(self, name_: str, exc: BaseException, kwargs: dict) -> str:
        """The likely mistake behind an exception that escaped the learner's call."""
        at = f"at {self.now() - self.began:.10g} s"
        failed = getattr(capstone, "FetchFailed", ())
        if isinstance(exc, BaseExceptionGroup):
            inner = exc.exceptions[0] if exc.exceptions else exc
            return (
                f"{name_}() raised an {type(exc).__name__} {at}, holding {inner!r}: a TaskGroup "
                "raises the errors of its tasks together, after cancelling all the others."
                + (f" {self.explain(name_, inner, kwargs)}" if inner is not exc else "")
            )
        if name_ == "crawl" and isinstance(exc, failed):
            return (
                f"crawl() raised {exc!r} {at}: one page that fails must not end the crawl. "
                "Catch FetchFailed around each fetch_page() and record "
                "`failures[url] = error.reason`; the other pages go on."
            )
        if name_ == "crawl" and isinstance(exc, TimeoutError):
            if kwargs.get("deadline") is not None:
                return (
                    f"crawl() raised TimeoutError {at} (its deadline was "
                    f"{kwargs['deadline']:.10g} s): the deadline is crawl()'s own to keep, not an "
                    "error for the caller. Catch the TimeoutError of your asyncio.timeout and "
                    "return the Crawl, with what was not done in `unfinished`."
                )
            return (
                f"crawl() raised TimeoutError {at}, with no deadline given: it has no time "
                "limit then (deadline=None), and a page may take a day."
            )
        if isinstance(exc, aiohttp.ClientResponseError):
            return (
                f"{name_}() let {type(exc).__name__} (status {exc.status}) escape {at}: a page "
                "that cannot be fetched is told as FetchFailed(url, reason), with the status "
                f"as a str (FetchFailed(url, '{exc.status}')), not raise_for_status()'s error."
            )
        lost = next((record for error, record in self.lost if error is exc), None)
        if lost is not None:
            came = lost.answered - self.began if lost.answered is not None else 0
            return (
                f"{name_}() let {exc!r} escape {at}: it was raised while the body of "
                f"{name(lost.url)!r} was being read (its status, {lost.page.status}, had come at "
                f"{came:.10g} s). A connection lost while the body is read is the same as an "
                "unreachable server: worth retrying, and once the attempts are used up, "
                "FetchFailed(url, 'unreachable'). Keep `await response.text()` inside the try "
                "that catches aiohttp.ClientConnectionError, inside the retry loop."
            )
        if isinstance(exc, aiohttp.ClientConnectionError) and "Connection closed" in str(exc):
            return (
                f"{name_}() read a response after it had been released: read the body inside "
                "the `async with session.get(url) as response:` block."
            )
        if isinstance(exc, aiohttp.ClientConnectionError):
            return (
                f"{name_}() let {exc!r} escape {at}: an unreachable server is worth retrying, "
                "and once the attempts are used up it is told as FetchFailed(url, "
                "'unreachable'). Catch aiohttp.ClientConnectionError around the request."
            )
        if isinstance(exc, RuntimeError) and "Session is closed" in str(exc):
            return (
                f"{name_}() made a request through a closed session: make every request inside "
                "the `async with aiohttp.ClientSession() as session:` block, and keep no "
                "session between calls."
            )
        if isinstance(exc, TypeError) and "can't be used in 'await' expression" in str(exc):
            return (
                f"{name_}() awaited something that is not awaitable ({exc}). on_page is a plain "
                "function: call it, `on_page(url, done, found)`, without await."
            )
        if isinstance(exc, TypeError) and "coroutines is forbidden" in str(exc):
            return (
                f"{name_}() passed bare coroutines to asyncio.wait() ({exc}): wrap each in "
                "asyncio.create_task() first."
            )
        if isinstance(exc, ValueError) and "Set of Tasks/Futures is empty" in str(exc):
            return (
                f"{name_}() called asyncio.wait() with nothing to wait for ({exc}): check for "
                "an empty set first."
            )
        return ""

    def check(self, what: str, given: aiohttp.ClientSession | None = None) -> None:
        """Fail if the call's sessions, requests, responses or tasks were not handled right.
        `given`: the session the test handed to fetch_page (it must be the only one, open)."""
        where, fn = f"{what}: ", f"{self.name}()"
        if self.unknown:
            pytest.fail(
                f"{where}{fn} requested {self.unknown[0]!r}, which no page links to: request "
                "each link exactly as links_in() gives it.",
                pytrace=False,
            )
        if self.other_methods:
            pytest.fail(f"{where}{fn} made {self.other_methods[0]!r}: GET only.", pytrace=False)
        if given is not None:
            self.check_given_session(where, fn, given)
        else:
            self.check_own_session(where, fn)
        self.check_running(where, fn, self.cancelled)
        if given is None:
            self.check_closed_sessions(where)
            self.check_sessions_closed(where, fn)
        self.check_released(where, fn)
        if self.left:
            names = sorted({t.get_coro().__qualname__ for t in self.left})
            pytest.fail(
                f"{where}{checks.count(len(self.left), 'task')} that {fn} started "
                f"({', '.join(names)}) {'was' if len(self.left) == 1 else 'were'} still running "
                f"when it {self.verb}: workers waiting on a queue, or tasks never awaited. "
                "Cancel your workers once the work is done and wait for them "
                "(`await asyncio.gather(*workers, return_exceptions=True)`), or let a "
                "TaskGroup or gather own the tasks.",
                pytrace=False,
            )


async def warm_up_once() -> None:
    """Pay aioresponses' and aiohttp's first-use costs once, at import (aiokata.web.warm_up)."""
    async with Web({"http://warm-up.test/": [Page(0, "{}", 503), Page(0, "{}")]}):
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.get("http://warm-up.test/") as response:
                    await response.text()


fake.warm_up(warm_up_once)


async def within_patience(web: Web, call, patience: float, what: str) -> asyncio.Future:
    """Run the learner's call as a task; fail if it is still running after `patience`
    seconds of loop time (far longer than a right answer takes)."""
    task = asyncio.ensure_future(call)
    try:
        await asyncio.wait([task], timeout=patience)
    finally:
        if not task.done():
            sent = web.requests[-1] if web.requests else None
            await checks.settle(task)
            checks.fail(
                f"{what}: {web.name}() was still running after {patience:.10g} s of loop time, "
                "far longer than it needs"
                + (
                    f" (its last request, to {name(sent.url)!r}, was sent at {sent.start:.10g} s)"
                    if sent
                    else ""
                )
                + ": something waits for what never comes (a queue joined with a task_done "
                "missing, workers that never stop, a CancelledError caught and ignored) or "
                "retries without end."
            )
    return task


# Task 1: fetch_page


def told(answers: list[Page]) -> str:
    parts = []
    for a in answers:
        text = "a success" if a.ok else a.told()
        if isinstance(a, Cut):
            text = f"{a.status} after {a.latency:.10g} s (then " + a.told().split(" (then ")[1]
        else:
            text += f" after {a.latency:.10g} s" if a.latency else ""
            text += f" ({a.transfer:.10g} s to read its body)" if a.transfer else ""
        parts.append(text)
    return "[" + ", ".join(parts) + "]"


def waits_likely(answers: list[Page], sent: list[Request], want: list[float], base: float) -> str:
    """Explain the first wrong wait between two requests ("" if nothing explains it)."""
    for k, request in enumerate(sent[:-1], start=1):
        if k >= len(want):
            break
        got_next = sent[k].start - sent[0].start
        if abs(got_next - want[k]) < 1e-6:
            continue
        answer = request.page
        came = request.answered if request.answered is not None else request.start
        if isinstance(answer, Cut) and request.finished is not None:
            came = request.finished  # the moment the body's read raised
        wait = round(sent[k].start - came, 6)
        exp = base * 2 ** (k - 1)
        due = int(answer.retry_after) if answer.retry_after is not None else exp
        if answer.retry_after is not None and abs(wait - exp) < 1e-6:
            return (
                f"Answer {k} was {answer.told()}, and the next request waited the backoff "
                f"({wait:.10g} s) instead: Retry-After says how long to wait: honour it"
                + (
                    ", exactly: it was ignored, or the longer of it and the backoff was taken."
                    if exp > due
                    else "."
                )
                + (
                    " It counts on every answer worth retrying that has it: a 5xx too, not only "
                    "a 429."
                    if answer.status != 429
                    else ""
                )
            )
        if answer.retry_after is not None and abs(wait - max(due, exp)) < 1e-6:
            return (
                f"Answer {k} was {answer.told()}, and the next request waited {wait:.10g} s: "
                "Retry-After says exactly how long to wait, not the longer of it and the backoff."
            )
        if answer.retry_after is not None and abs(wait - due - exp) < 1e-6:
            return (
                f"Answer {k} was {answer.told()}, and the next request waited {wait:.10g} s, "
                "Retry-After and the backoff added up: wait Retry-After's seconds instead."
            )
        if came > request.start and abs(sent[k].start - request.start - due) < 1e-6:
            return (
                f"Retry {k + 1} went out {due:.10g} s after request {k} was sent, but "
                f"{wait:.10g} s after its answer came: the wait counts from the moment the "
                "answer came (or the connection error was raised), not from the request."
            )
        if wait == 0:
            return (
                f"After answer {k} ({answer.told()}) the next request went out at once: a retry "
                "storm. Wait base_delay * 2 ** (k - 1) seconds before retry k + 1."
            )
        if k > 1 and abs(wait - base) < 1e-6:
            return (
                f"Wait {k} was {wait:.10g} s, the same as the first: the backoff doubles each "
                "time (base_delay * 2 ** (k - 1))."
            )
        if abs(wait - base * 2**k) < 1e-6 or abs(wait - base * 2 ** (k - 2)) < 1e-6:
            return (
                f"Wait {k} was {wait:.10g} s where {exp:.10g} s was due: an off-by-one in the "
                "exponent (the first wait is base_delay itself)."
            )
        return f"The wait after answer {k} ({answer.told()}) was {wait:.10g} s."
    return ""


async def fetching(
    web: Web, url: str, attempts: int, base_delay: float, what: str = "", earlier: str = ""
) -> str | None:
    """Run fetch_page(session, url, attempts, base_delay) through a session of the test's
    and check each request, each wait, the result or the FetchFailed against the contract.
    The body, or None when it raised FetchFailed (as it should have). `earlier`: what explains
    too few requests, when the test knows (an earlier call for the same URL)."""
    answers = web.answers[url]
    want = fetch_oracle(answers, attempts, base_delay)
    what = what or (
        f"fetch_page(session, {name(url)!r}, attempts={attempts}, base_delay={base_delay:.10g})"
        f" with answers {told(answers)}"
    )
    web.max_requests = attempts + 2
    failed = capstone.FetchFailed
    async with aiohttp.ClientSession() as session:
        call = web.run("fetch_page", session, url, attempts, base_delay)
        task = await within_patience(web, call, 2 * want.ends + 60, what)
        if task.cancelled():
            checks.fail(f"{what}: fetch_page() ended cancelled, though nothing cancelled it.")
        error = task.exception()
        if error is not None and not isinstance(error, failed):
            raise error
        sent = web.to(url)
        offsets = [round(r.start - sent[0].start, 6) for r in sent]
        if len(sent) != len(want.offsets):
            if len(sent) > len(want.offsets):
                last = answers[min(len(want.offsets) - 1, len(answers) - 1)]
                why = (
                    f"Answer {len(want.offsets)} was {last.told()}, which is not worth "
                    "retrying: raise FetchFailed at once (only 429, 500 and above, and "
                    "unreachable are retried)."
                    if not last.retryable and not last.ok
                    else f"Make at most `attempts` ({attempts}) requests in all, the first "
                    "one included."
                    if len(want.offsets) == attempts
                    else f"Answer {len(want.offsets)} was a success ({last.status}): every "
                    "status below 400 is one, not only 200: return its text at once."
                    if last.status != 200
                    else "A success is returned at once."
                )
            else:
                answer = sent[-1].page if sent else None
                why = (
                    earlier
                    or (
                        f"Answer {len(sent)} was {answer.told()}: a connection lost while the "
                        "body is read is worth retrying, as an unreachable server is"
                        if isinstance(answer, Cut)
                        else f"Answer {len(sent)} was {answer.told()}, which is worth retrying "
                        "(every status of 500 and above is, not only 500, 502, 503 and 504)"
                        if answer.status >= 500 and answer.status not in (500, 502, 503, 504)
                        else f"Answer {len(sent)} was {answer.told()}, which is worth retrying"
                    )
                    + f", and only {len(sent)} of the {attempts} attempts "
                    + ("was" if len(sent) == 1 else "were")
                    + " used: either "
                    "that answer was not taken as worth retrying, or the count of attempts "
                    "did not start from 0 in this call."
                    if answer is not None and answer.retryable
                    else "Every attempt counts."
                )
            checks.fail(
                f"{what}: {checks.count(len(sent), 'request was', 'requests were')} sent (at "
                f"{times(offsets)}); expected {len(want.offsets)} (at {times(want.offsets)}). {why}"
            )
        if offsets != want.offsets:
            likely = waits_likely(answers, sent, want.offsets, base_delay)
            checks.fail(
                f"{what}: the requests were sent at {times(offsets)}; expected at "
                f"{times(want.offsets)}. {likely}"
            )
        if want.body is not None:
            if error is not None:
                checks.fail(
                    f"{what}: fetch_page() raised {error!r}; the last answer was a success"
                    + (
                        f" ({sent[-1].page.status}: every status below 400 is one, not only 200)."
                        if sent and sent[-1].page.status != 200
                        else "."
                    )
                )
            body = task.result()
            checks.not_coroutine(body, "fetch_page()'s result")
            if isinstance(body, bytes):
                checks.fail(
                    f"{what}: fetch_page() returned bytes; the body is text: response.text()."
                )
            checks.equal(body, want.body, f"{what}: the body", "Return `await response.text()`.")
        else:
            if error is None:
                checks.fail(
                    f"{what}: fetch_page() returned {short(task.result())}; it should have raised "
                    f"FetchFailed({name(url)!r}, {want.reason!r}) (its last answer was "
                    f"{sent[-1].page.told()})."
                )
            reason = getattr(error, "reason", None)
            checks.equal(
                reason,
                want.reason,
                f"{what}: the FetchFailed's reason",
                "The last answer's status came, but its body could not be read: that is a "
                "connection error, told as 'unreachable', as when the server cannot be reached."
                if isinstance(sent[-1].page, Cut)
                else "The reason is a str: the status of the last answer as text (str(status)), "
                "or 'unreachable' when the server could not be reached.",
            )
            checks.equal(getattr(error, "url", None), url, f"{what}: the FetchFailed's url")
        checks.took(
            web.took(),
            want.ends,
            f"{what}: fetch_page()",
            {
                want.ends + base_delay * 2 ** (len(sent) - 1): "It waited once more after the last "
                "attempt: raise as soon as the last one fails."
            },
        )
        web.check(what, given=session)
    return want.body


@pytest.mark.task(1)
async def test_fetch_page_returns_the_text_of_a_success():
    async with Web(site({"/a": ok(2, "/b", "/c")})) as web:
        await fetching(web, u("/a"), 3, 1)


@pytest.mark.task(1)
async def test_server_errors_are_retried_with_exponential_backoff():
    async with Web(site({"/a": [status(503, 1), status(500), status(502, 0.5), ok(1)]})) as web:
        await fetching(web, u("/a"), 4, 1)


@pytest.mark.task(1)
async def test_the_backoff_follows_base_delay():
    async with Web(site({"/a": [status(503), status(503), status(503), ok(0)]})) as web:
        await fetching(web, u("/a"), 5, 2.5)


@pytest.mark.task(1)
async def test_the_attempts_are_limited_and_the_last_reason_raised():
    async with Web(site({"/a": [status(500, 1), status(503, 1)]})) as web:
        await fetching(web, u("/a"), 3, 1)
    async with Web(site({"/a": status(503, 1)})) as web:
        await fetching(web, u("/a"), 1, 1, "fetch_page(session, '/a', attempts=1) of a 503")


@pytest.mark.task(1)
async def test_a_404_is_not_retried():
    for code in (404, 403, 410, 400):
        async with Web(site({"/gone": [status(code, 1), ok(0)]})) as web:
            await fetching(web, u("/gone"), 3, 1)


@pytest.mark.task(1)
async def test_429_is_retried_after_its_retry_after():
    pages = {"/a": [status(429, 1, retry_after="5"), status(503, 0, retry_after="2"), ok(1)]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 3, 1)
    async with Web(site({"/a": [status(429, 0), ok(0)]})) as web:
        await fetching(web, u("/a"), 3, 1, "fetch_page() of a 429 without Retry-After, then 200")


@pytest.mark.task(1)
async def test_retry_after_counts_on_a_5xx_too_and_exactly():
    # Each Retry-After differs from the backoff it replaces (1, 2, 4 s with base_delay 1).
    pages = {"/a": [status(503, 1, retry_after="7"), status(500, 0, retry_after="1"), ok(1)]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 3, 1)
    pages = {"/a": [status(503, 0), status(429, 1, retry_after="1"), ok(0)]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 3, 4)


@pytest.mark.task(1)
async def test_every_status_of_500_and_above_is_retried():
    pages = {"/a": [status(501, 1), status(505), status(511, 0.5), status(507), ok(1)]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 5, 1)


@pytest.mark.task(1)
async def test_every_status_below_400_is_a_success():
    for code, body in ((201, "made"), (204, ""), (206, "part")):
        async with Web(site({"/a": [Page(1, body, code), ok(0)]})) as web:
            await fetching(web, u("/a"), 3, 1)


@pytest.mark.task(1)
async def test_retry_after_zero_and_a_base_delay_of_zero_mean_at_once():
    async with Web(site({"/a": [status(429, 1, retry_after="0"), ok(1)]})) as web:
        await fetching(web, u("/a"), 3, 1)
    async with Web(site({"/a": [status(503, 1), status(503, 1), ok(1)]})) as web:
        await fetching(web, u("/a"), 3, 0)


@pytest.mark.task(1)
async def test_an_unreachable_server_is_retried_then_reported_unreachable():
    async with Web(site({"/a": [down(1), down(0), ok(1, "/x")]})) as web:
        await fetching(web, u("/a"), 3, 1)
    async with Web(site({"/a": down(2)})) as web:
        await fetching(web, u("/a"), 2, 1)


@pytest.mark.task(1)
async def test_a_connection_lost_while_the_body_is_read_is_retried_as_unreachable():
    # The status (200) comes, then the connection is lost while the body is read: like an
    # unreachable server, retried with the same backoff (from the moment the read raised).
    pages = {"/a": [cut(1, 0.5), cut(0, 1.5, reset=True), ok(1, "/x")]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 3, 1)
    async with Web(site({"/a": cut(2, 1)})) as web:
        await fetching(web, u("/a"), 2, 1)


@pytest.mark.task(1)
async def test_an_empty_page_is_a_success():
    async with Web(site({"/empty": Page(1, "")})) as web:
        await fetching(web, u("/empty"), 2, 1)


@pytest.mark.task(1)
@pytest.mark.loop_limit(1_000_000)
async def test_fetch_page_waits_may_be_very_long():
    pages = {"/a": [status(503, 3600), status(429, 0, retry_after="86400"), ok(10_000)]}
    async with Web(site(pages)) as web:
        await fetching(web, u("/a"), 3, 3600)


@pytest.mark.task(1)
async def test_each_fetch_page_call_retries_on_its_own():
    pages = site({"/a": [status(503), status(503), ok(0)], "/b": [status(503), ok(1)]})
    async with Web(pages) as web, aiohttp.ClientSession() as session:
        web.name = "fetch_page"
        got = await asyncio.gather(
            capstone.fetch_page(session, u("/a"), 3, 1),
            capstone.fetch_page(session, u("/b"), 3, 2),
        )
        checks.equal(
            got,
            [html(), html()],
            "Two fetch_page() calls at the same time (/a: 503, 503, 200; /b: 503, 200)",
            "Each call counts its own attempts (nothing shared between calls).",
        )
        checks.equal(
            {url[len(SITE) :]: [r.start for r in web.to(url)] for url in (u("/a"), u("/b"))},
            {"/a": [0, 1, 3], "/b": [0, 2]},
            "When each call sent its requests (base_delay 1 for /a, 2 for /b)",
            "Each call waits by its own base_delay and counts its own attempts.",
        )
    # The same URL twice, one call after the other: the second starts its count from 0.
    for k in (1, 2):
        async with Web(site({"/same": [status(503), ok(0)]})) as web:
            await fetching(
                web,
                u("/same"),
                2,
                1,
                f"fetch_page(session, '/same', attempts=2, base_delay=1) with answers [503, a "
                f"success], call {k} of 2 for '/same', one after the other",
                "The first call for '/same' went as it should; in this second call for the same "
                "URL the attempts ran out early: the count of attempts was carried over from "
                "the earlier call (kept per URL, or at module level). Count them in each call."
                if k == 2
                else "",
            )


@pytest.mark.task(1)
async def test_a_cancelled_fetch_page_stops_at_once():
    for cancel_at, what in ((0.5, "while its request runs"), (3, "while it waits to retry")):
        async with Web(site({"/a": [status(503, 1), ok(1)]})) as web:
            async with aiohttp.ClientSession() as session:
                task = asyncio.create_task(web.run("fetch_page", session, u("/a"), 3, 10))
                await asyncio.sleep(cancel_at)
                if task.done():
                    checks.raise_unexpected(task)
                task.cancel()
                await asyncio.wait([task], timeout=100)
                story = f"fetch_page() cancelled at {cancel_at:g} s, {what}"
                if not task.done():
                    await checks.settle(task)
                    checks.fail(
                        f"{story}: it was still running 100 s later: it caught the "
                        "CancelledError and carried on. Let it reach the caller."
                    )
                if not task.cancelled():
                    checks.fail(
                        f"{story}: it ended with "
                        + (f"{task.exception()!r}" if task.exception() else repr(task.result()))
                        + ", not cancelled: let the CancelledError reach the caller (an "
                        "`except BaseException:` or a bare `except:` catches it)."
                    )
                late = [r for r in web.requests if r.start > cancel_at]
                if late:
                    checks.fail(f"{story}: it sent a request at {late[0].start:.10g} s, after.")
                web.check(story, given=session)


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_a_fetch_page_cancelled_while_it_reads_or_waits_ends_cancelled_at_once():
    cases = (  # a URL each: nothing of one case reaches the next
        ("/a", [Page(1, html("/x"), transfer=2), ok(0)], 3, 1, 1.875, "while it reads the body"),
        ("/b", [status(503, 1), status(503, 2), ok(0)], 3, 1, 2.375, "while request 2 runs"),
        ("/c", [status(503, 0.5), ok(0)], 2, 3600, 1234.625, "during an hour-long wait to retry"),
    )
    for path, answers, attempts, base_delay, cancel_at, what in cases:
        story = (
            f"fetch_page(session, {path!r}, attempts={attempts}, base_delay={base_delay:g}) with "
            f"answers {told(answers)}, cancelled at {cancel_at:g} s, {what}"
        )
        async with Web({u(path): answers}) as web, aiohttp.ClientSession() as session:
            call = web.run("fetch_page", session, u(path), attempts, base_delay)
            task = asyncio.create_task(call)
            await asyncio.sleep(cancel_at)
            if task.done():
                checks.raise_unexpected(task)
                checks.fail(
                    f"{story}: fetch_page() had already returned {short(task.result())} at "
                    f"{web.ended - web.began:.10g} s, before the cancel came."
                )
            task.cancel()
            cancelled, cancel_seq = web.now() - web.began, web.tick()
            await asyncio.wait([task], timeout=100)
            late = [r for r in web.requests if r.start_seq > cancel_seq]
            sent_late = (
                f" It sent a request at {late[0].start - web.began:.10g} s, after the cancel: "
                "likely the CancelledError was caught (`except BaseException:`, a bare "
                "`except:`) and taken for a failure worth retrying."
                if late
                else ""
            )
            if not task.done():
                await checks.settle(task)
                checks.fail(
                    f"{story}: it was still running 100 s after the cancel.{sent_late} Let the "
                    "CancelledError reach the caller."
                )
            if not task.cancelled():
                got = repr(task.exception()) if task.exception() else short(task.result())
                checks.fail(
                    f"{story}: it ended with {got}, not cancelled.{sent_late} Let the "
                    "CancelledError reach the caller: catch only aiohttp's errors."
                )
            if late:
                checks.fail(f"{story}: it ended cancelled, but{sent_late[:-1]}.")
            ended = round(web.ended - web.began, 6)
            if abs(ended - cancelled) > 1e-6:
                checks.fail(
                    f"{story}: it ended cancelled at {ended:.10g} s, {ended - cancelled:.10g} s "
                    "after the cancel: a cancelled fetch_page() stops at once, with no wait of "
                    "its own."
                )
            web.check(story, given=session)


ANSWERS = st.lists(
    st.sampled_from(
        [
            ok(0.5, "/x"),
            Page(1, ""),
            status(404, 0.5),
            status(503),
            status(500, 1),
            status(429, 0, retry_after="3"),
            status(429, 0.5, retry_after="0"),
            status(503, 0, retry_after="2"),
            status(501, 0.5),
            Page(0.5, "", 204),
            down(0.5),
        ]
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    answers=ANSWERS, attempts=st.integers(1, 4), base_delay=st.sampled_from([0, 1]), max_examples=25
)
async def test_fetch_page_in_any_scenario(answers, attempts, base_delay):
    scenarios.describe(f"with answers {told(answers)}, attempts={attempts}")
    async with Web({u("/p"): answers}) as web:
        await fetching(web, u("/p"), attempts, base_delay)


# Tasks 2, 3 and 4: crawl


def crawl_parts(result: object, what: str) -> tuple[dict, dict, set]:
    """The result's pages, failures and unfinished, once they are known to be of the types
    the contract names."""
    checks.not_coroutine(result, "crawl()'s result")
    kind = getattr(capstone, "Crawl", None)
    if not isinstance(kind, type) or not isinstance(result, kind):
        checks.fail(
            f"{what}: crawl() returned {type(result).__name__} {short(result)}; it returns a "
            "Crawl, the dataclass at the top of capstone.py: `Crawl(pages, failures, unfinished)`."
        )
    pages, failures, unfinished = result.pages, result.failures, result.unfinished
    for field_, value, want in (("pages", pages, dict), ("failures", failures, dict)):
        if not isinstance(value, want):
            checks.fail(
                f"{what}: Crawl.{field_} is {type(value).__name__} {short(value)}; it is a dict "
                + ("URL -> depth (an int)." if field_ == "pages" else "URL -> reason (a str).")
            )
    for url, depth in pages.items():
        if type(depth) is not int:
            checks.fail(
                f"{what}: Crawl.pages[{url!r}] is {depth!r} ({type(depth).__name__}); each "
                "page's value is its depth, an int (the start page is 0)."
            )
    for url, reason in failures.items():
        if isinstance(reason, BaseException):
            checks.fail(
                f"{what}: Crawl.failures[{url!r}] is the exception {reason!r}; it is the reason, "
                "a str: `failures[url] = error.reason`."
            )
        if not isinstance(reason, str):
            checks.fail(
                f"{what}: Crawl.failures[{url!r}] is {reason!r} ({type(reason).__name__}); the "
                "reason is a str, as FetchFailed.reason gives it ('404', 'unreachable')."
            )
    if not isinstance(unfinished, set):
        checks.fail(
            f"{what}: Crawl.unfinished is {type(unfinished).__name__} {short(unfinished)}; it "
            "is a set of URLs."
        )
    return pages, failures, unfinished


def check_requests(web: Web, p: Plan, deadline: float | None, what: str) -> None:
    """Each URL the crawl should fetch requested as often as fetch_page() asks, no other."""
    for url, sent in web.by_url.items():
        if url not in p.depth:
            at = f"at {sent[0].start - web.began:.10g} s"
            if url in p.beyond:
                checks.fail(
                    f"{what}: {name(url)!r} was requested ({at}), but it is "
                    f"{checks.count(p.beyond[url], 'link')} from the start, deeper than "
                    f"max_depth={p.max_depth}: the pages at depth max_depth are fetched, their "
                    "links are not followed. Likely an off-by-one in the depth check (`<=` "
                    "where `<` is meant, or the start page counted as depth 1)."
                )
            checks.fail(
                f"{what}: {name(url)!r} was requested ({at}), but no page the crawl fetches "
                "links to it (a link on a page that failed is no link)."
            )
        want = len(p.fetch[url].offsets)
        if len(sent) > want and want == 1 and p.fetch[url].body is not None:
            how = times([r.start - web.began for r in sent])
            checks.fail(
                f"{what}: {name(url)!r} was requested {len(sent)} times (at {how}); every page "
                "is fetched exactly once. Likely it is marked as seen only once fetched (after "
                "an await), or a link is checked against pages (a page of its level still "
                "being fetched, or failed, is not there yet), so every page linking to it "
                "found it unseen: add each URL to the seen set (or dict of depths) the moment "
                "it is found, before fetching it."
            )
        if deadline is None and len(sent) < want and isinstance(sent[-1].page, Cut):
            checks.fail(
                f"{what}: {name(url)!r} was requested {checks.count(len(sent), 'time')}, and "
                f"its last answer was {sent[-1].page.told()}: a connection lost while the body "
                f"is read is worth retrying, as an unreachable server is (attempts="
                f"{p.attempts}): see task 1."
            )
        if len(sent) > want or (deadline is None and len(sent) < want):
            checks.fail(
                f"{what}: {name(url)!r} was requested {checks.count(len(sent), 'time')}; "
                f"fetch_page(session, url, attempts={p.attempts}, base_delay="
                f"{p.base_delay:.10g}) makes {checks.count(want, 'request')} of its answers "
                f"{told(web.answers[url])}. Fetch each page with fetch_page() and the crawl's "
                "own attempts and base_delay."
            )


def check_missing(web: Web, p: Plan, what: str) -> None:
    if True:
        missing = sorted((u for u in p.depth if u not in web.by_url), key=p.depth.get)
        if missing:
            url, depth = missing[0], p.depth[missing[0]]
            likely = (
                f"Likely the depth check stops one level early: the pages at depth max_depth "
                f"({p.max_depth}) are fetched; only their links are not followed."
                if depth == p.max_depth and depth > 0
                else "Likely pages lost: workers that stopped when the queue was empty for a "
                "moment (while other pages were still being fetched, about to add links), or "
                "links not followed from every page of a level, or a seen set kept from an "
                "earlier crawl (at module level)."
            )
            checks.fail(
                f"{what}: {name(url)!r} was never requested; it is at depth {depth} "
                f"({p.path(url)}), within max_depth={p.max_depth}. {likely}"
            )


def check_timelines(web: Web, p: Plan, what: str) -> None:
    for url, sent in web.by_url.items():
        want = p.fetch[url].offsets[: len(sent)]
        got = [round(r.start - sent[0].start, 6) for r in sent]
        if got != want:
            checks.fail(
                f"{what}: the requests to {name(url)!r} (answers {told(web.answers[url])}) were "
                f"sent at {times(got)} from the first; fetch_page(attempts={p.attempts}, "
                f"base_delay={p.base_delay:.10g}) sends them at {times(want)}: see task 1."
            )


def done_pages(web: Web, p: Plan, deadline: float | None, what: str) -> dict[str, float]:
    """The URLs whose fetch ran to its end, and when it ended (loop time from the call)."""
    done = {}
    for url, sent in web.by_url.items():
        end = round(sent[0].start - web.began + p.fetch[url].ends, 6)
        last = sent[-1]
        if len(sent) == len(p.fetch[url].offsets) and last.cancelled is None:
            if last.finished is not None:
                done[url] = end
                continue
        if deadline is None or end < deadline:
            checks.fail(
                f"{what}: the fetch of {name(url)!r} was cut (its request "
                f"{'cancelled' if last.cancelled is not None else 'never ended'} at "
                f"{(last.cancelled or web.now()) - web.began:.10g} s) before it ended at "
                f"{end:.10g} s"
                + (f", before the deadline ({deadline:.10g} s)." if deadline is not None else ".")
            )
    return done


def check_content(
    web: Web,
    p: Plan,
    result: object,
    done: dict[str, float],
    what: str,
    deadline: float | None = None,
) -> None:
    pages, failures, unfinished = crawl_parts(result, what)
    want_pages = {x: p.depth[x] for x in done if p.fetch[x].body is not None}
    want_failures = {x: p.fetch[x].reason for x in done if p.fetch[x].body is None}
    found = {p.start} | {link for x in done for link in p.new_links(x)}
    want_unfinished = found - done.keys()
    for url in [*want_pages, *want_failures] if deadline is not None else []:
        if url in unfinished and url not in pages and url not in failures:
            got = p.fetch[url]
            checks.fail(
                f"{what}: {name(url)!r} "
                + (
                    f"was fetched (done at {done[url]:.10g} s) but is not in Crawl.pages"
                    if got.body is not None
                    else f"failed ({got.reason}, at {done[url]:.10g} s) but is not in "
                    "Crawl.failures"
                )
                + "; it is in Crawl.unfinished. Either it was not recorded ("
                + (
                    "the pages done lost at the deadline"
                    if got.body is not None
                    else "record every failure, `failures[url] = error.reason`"
                )
                + "), or its fetch_page() was still running when the deadline came, after "
                "its last request had ended (a wait after the last attempt, a retry of what "
                "is not worth retrying, an error caught and retried?): see task 1."
            )
    for url, depth in want_pages.items():
        if url not in pages:
            checks.fail(
                f"{what}: {name(url)!r} was fetched (done at {done[url]:.10g} s) but is not in "
                "Crawl.pages"
                + (f"; it is in failures, as {failures[url]!r}." if url in failures else ".")
            )
        if pages[url] != depth:
            off = (
                " Likely the start page counted as depth 1: it is 0."
                if pages.get(p.start) == 1
                else " It was found first by a longer path: a page's depth is the fewest "
                "links from the start, which is what a level-by-level crawl gives."
            )
            checks.fail(
                f"{what}: Crawl.pages[{name(url)!r}] is {pages[url]!r}; it is "
                f"{checks.count(depth, 'link')} from the start ({p.path(url)}).{off}"
            )
    for url, reason in want_failures.items():
        if url not in failures:
            checks.fail(
                f"{what}: {name(url)!r} failed ({reason}, at {done[url]:.10g} s) but is not in "
                "Crawl.failures: record every failure, `failures[url] = error.reason`"
                + (" (not in pages)." if url in pages else ".")
            )
        checks.equal(failures[url], reason, f"{what}: Crawl.failures[{name(url)!r}]")
    extra = [x for x in pages if x not in want_pages] + [
        x for x in failures if x not in want_failures
    ]
    cut = [x for x in extra if x in failures and x in web.by_url]
    if cut:
        checks.fail(
            f"{what}: {name(cut[0])!r} is in Crawl.failures as {failures[cut[0]]!r}, but its "
            "fetch did not fail: it was cut by the deadline, so it is unfinished. Catch "
            "FetchFailed only: `except BaseException:` (or a bare `except:`) also catches the "
            "CancelledError of the deadline."
        )
    if extra:
        checks.fail(
            f"{what}: {name(extra[0])!r} is in the Crawl's "
            f"{'pages' if extra[0] in pages else 'failures'}, but its fetch "
            + ("did not end." if extra[0] in web.by_url else "was never even requested.")
        )
    if unfinished != want_unfinished:
        missing = sorted(want_unfinished - unfinished)
        if missing:
            checks.fail(
                f"{what}: Crawl.unfinished lacks {name(missing[0])!r} (depth "
                f"{p.depth[missing[0]]}): it was found but not done when the deadline came. "
                "unfinished is every URL found (the start, or a link on a page done, within "
                "max_depth) that is neither in pages nor in failures."
            )
        more = sorted(unfinished - want_unfinished)
        checks.fail(
            f"{what}: Crawl.unfinished holds {short(more[0])}, which "
            + (
                (
                    f"is done: it failed ({p.fetch[more[0]].reason}) before the deadline. "
                    "A failed page is done too: unfinished is what is in neither pages nor "
                    "failures."
                    if p.fetch[more[0]].body is None
                    else "is done: it was fetched before the deadline."
                )
                if more[0] in done
                else "was never found (not a link on any page done within max_depth)."
            )
        )


def check_schedule(
    web: Web, p: Plan, limit: int, deadline: float | None, done: dict[str, float], what: str
) -> float:
    """Replay the crawl's slots with the order the learner chose within each level: fail on
    a level started early, more than `limit` at once, or a slot left idle. The loop time the
    crawl should end at."""
    firsts = sorted((sent[0] for sent in web.by_url.values()), key=lambda r: r.start_seq)
    ends = {
        url: round(sent[0].start - web.began + p.fetch[url].ends, 6)
        for url, sent in web.by_url.items()
    }
    if deadline is not None:
        ends = {url: min(end, deadline) for url, end in ends.items()}
    level, free, waiting, running = 0, [0.0] * limit, set(p.levels[0]), []
    for r in firsts:
        start = round(r.start - web.began, 6)
        if deadline is not None and start >= deadline:
            checks.fail(
                f"{what}: {name(r.url)!r} was requested at {start:.10g} s, once the deadline "
                f"({deadline:.10g} s) had passed: nothing is sent after it. Possibly no time "
                "limit around the whole crawl (the deadline not applied), a new timeout for "
                "each level or each page (each counts from its own start), or a worker that "
                "caught the CancelledError (`except BaseException:`, a bare `except:`) and "
                "went on to the next URL."
            )
        while p.depth[r.url] > level:
            if waiting:
                checks.fail(
                    f"{what}: {name(r.url)!r} (depth {p.depth[r.url]}) was requested at "
                    f"{start:.10g} s, before {name(min(waiting))!r} (depth {level}) had even been "
                    "requested: the crawl goes level by level."
                )
            if any(x not in ends for x in p.levels[level]):
                return 0.0  # a page never requested: check_missing tells it
            last = max(p.levels[level], key=ends.get)
            if start < ends[last]:
                checks.fail(
                    f"{what}: {name(r.url)!r} (depth {p.depth[r.url]}) was requested at "
                    f"{start:.10g} s, while {name(last)!r} (depth {level}) was still being "
                    f"fetched (until {ends[last]:.10g} s): every page at depth {level} is done "
                    f"before any page at depth {level + 1} is requested. Likely each link "
                    "started the moment it was found (a worker pool fed by the pages, or a task "
                    "per link): then a page may be found first by a longer path, with the wrong "
                    "depth. Fetch one level (gather, or a queue joined), then the next."
                )
            level += 1
            free, waiting, running = [ends[last]] * limit, set(p.levels[level]), []
        slot = heapq.heappop(free)
        if start < slot:
            busy = [x for x in running if ends[x] > start]
            starts = {round(web.to(x)[0].start - web.began, 6) for x in [*running, r.url]}
            resting = [
                x
                for x in busy
                if not any(
                    q.start - web.began <= start
                    and (q.finished is None or q.finished - web.began > start)
                    for q in web.to(x)
                )
            ]
            if len(starts) == 1:
                likely = (
                    "They were all started at once: nothing held them back. Likely a gather over "
                    "the whole level, or tasks started (create_task) before the semaphore was "
                    "acquired: a task sends its request at once."
                )
            elif resting:
                likely = (
                    f"{name(resting[0])!r} was waiting to retry, and its slot was taken: a page "
                    "is being fetched from its first request until fetch_page() ends, waits "
                    "included. Hold the slot around the whole fetch_page() call."
                )
            else:
                likely = (
                    "Likely a semaphore (or pool) of another size than `limit`, or one kept "
                    "from an earlier call: make asyncio.Semaphore(limit) in each call."
                )
            checks.fail(
                f"{what}: {len(busy) + 1} pages were being fetched at once at {start:.10g} s "
                f"({name(r.url)!r} among them); at most limit={limit} may be. {likely}"
            )
        if start > slot:
            deeper = [
                q
                for q in firsts
                if p.depth.get(q.url, 0) > level and slot <= q.start - web.began < start
            ]
            if deeper:
                checks.fail(
                    f"{what}: {name(r.url)!r} (depth {level}) was requested at {start:.10g} s, "
                    f"but a slot had been free since {slot:.10g} s, and in between "
                    f"{name(deeper[0].url)!r} (depth {p.depth[deeper[0].url]}) was requested "
                    f"(at {deeper[0].start - web.began:.10g} s): the crawl goes level by level. "
                    "Likely a depth-first recursion (each page's links fetched before the rest "
                    "of its level): fetch one level, then the next."
                )
            checks.fail(
                f"{what}: {name(r.url)!r} (depth {level}) was requested at {start:.10g} s, but "
                f"a slot had been free since {slot:.10g} s, and it was waiting: a new page "
                "starts the moment one ends. Likely batches (a gather of `limit` pages at a "
                "time waits for the slowest of each), fewer workers than `limit` (a worker "
                "that stops when the queue is empty for a moment, while the pages being "
                "fetched are about to add links), a semaphore smaller than `limit` (one kept "
                "from an earlier call), a wait before each page, or a depth-first recursion."
            )
        waiting.discard(r.url)
        running.append(r.url)
        heapq.heappush(free, ends[r.url])
    if waiting and deadline is not None:
        slot = heapq.heappop(free)
        if slot < deadline:
            checks.fail(
                f"{what}: {name(min(waiting))!r} (depth {level}) was never requested, though a "
                f"slot was free at {slot:.10g} s."
            )
    elif deadline is not None and level + 1 < len(p.levels):
        last = max(ends[x] for x in p.levels[level])
        if last < deadline:
            nxt = min(p.levels[level + 1])
            checks.fail(
                f"{what}: {name(nxt)!r} (depth {level + 1}) was never requested, though depth "
                f"{level} was done at {last:.10g} s, before the deadline ({deadline:.10g} s)."
            )
    everything = all(x in done for x in p.depth)
    if deadline is None or everything:
        return max(done.values(), default=0.0)
    return deadline


def check_progress(
    web: Web, p: Plan, calls: list[tuple], done: dict[str, float], what: str
) -> None:
    told_ = f"{what}: on_page"
    for url, count, found, _ in calls:
        if not (type(count) is int and type(found) is int and isinstance(url, str)):
            checks.fail(
                f"{told_} was called as on_page({url!r}, {count!r}, {found!r}); it takes the "
                "page's URL (a str), the number of pages done so far and the number of URLs "
                "found so far (ints)."
            )
    reported = [c[0] for c in calls]
    for url in reported:
        if reported.count(url) > 1:
            checks.fail(f"{told_} was called {reported.count(url)} times for {name(url)!r}; once.")
        if url not in done:
            checks.fail(
                f"{told_}({name(url)!r}, ...) was called, but that page was not done (its fetch "
                "was cut at the deadline): report only the pages fetched or failed."
            )
    missing = sorted((x for x in done if x not in reported), key=done.get)
    if missing:
        checks.fail(
            f"{told_} was never called for {name(missing[0])!r}, done at "
            f"{done[missing[0]]:.10g} s: call it once for every page done, fetched or failed"
            + (", failures included." if p.fetch[missing[0]].body is None else ".")
        )
    level_end = {x: max(done.get(y, 0) for y in p.levels[p.depth[x]]) for x in reported}
    for url, _, _, at in calls:
        if abs(at - done[url]) > 1e-6:
            ends = max(done.values())
            likely = (
                "All of them came at the end: call on_page inside the crawl, as each page is "
                "done, not from the results afterwards."
                if all(abs(c[3] - ends) < 1e-6 for c in calls)
                else "It came once its whole level was done: call it in the coroutine that "
                "fetched the page, right after fetch_page(), not after the level's gather."
                if abs(at - level_end[url]) < 1e-6
                else ""
            )
            checks.fail(
                f"{told_}({name(url)!r}, ...) was called at {at:.10g} s; that page was done at "
                f"{done[url]:.10g} s, and on_page comes the moment a page is done. {likely}"
            )
    seen = {p.start}
    for k, (url, count, found, at) in enumerate(calls, start=1):
        seen |= set(p.new_links(url))
        if count != k:
            fetched = sum(1 for c in calls[:k] if p.fetch[c[0]].body is not None)
            level = sum(1 for c in calls[:k] if p.depth[c[0]] == p.depth[url])
            likely = (
                "It looks swapped with `found` (the call said found="
                f"{found}, which is the number of pages done): on_page(url, done, found)."
                if found == k and count == len(seen)
                else f"{checks.count(fetched, 'of them was', 'of them were')} fetched, and the "
                "rest failed: `done` counts the "
                "failed pages too (it is not len(pages))."
                if count == fetched
                else f"{checks.count(level, 'of them was', 'of them were')} at depth "
                f"{p.depth[url]}: keep one counter for the "
                "whole call, not one per level."
                if count == level
                else "Keep one counter in the call, counting each page once it is done (not "
                "per level, not in the module)."
            )
            checks.fail(
                f"{told_} call number {k}, for {name(url)!r} at {at:.10g} s, said done={count}; "
                f"{checks.count(k, 'page was', 'pages were')} done by then. `done` counts the "
                f"pages done so far in this call (1, 2, 3...), fetched or failed. {likely}"
            )
        if found != len(seen):
            checks.fail(
                f"{told_}({name(url)!r}, {count}, {found}) at {at:.10g} s: by then "
                f"{len(seen)} URLs had been found ({', '.join(sorted(map(name, seen))[:8])}"
                f"{', ...' if len(seen) > 8 else ''}), the start and {name(url)!r}'s new links "
                "included. `found` is the number of URLs found so far (the seen set's size), "
                "with the page's own new links added before on_page is called."
            )


async def crawling(
    web: Web,
    start: str,
    *,
    limit: int,
    max_depth: int,
    attempts: int = 1,
    base_delay: float = 1.0,
    deadline: float | None = None,
    progress: bool = False,
    what: str = "",
) -> object:
    """Run crawl() and check everything the contract promises."""
    p = plan(web, start, max_depth, attempts, base_delay)
    p.attempts, p.base_delay = attempts, base_delay
    what = what or f"crawl({name(start)!r}, limit={limit}, max_depth={max_depth})"
    web.max_requests = attempts + 3
    kwargs: dict = {"limit": limit, "max_depth": max_depth, "attempts": attempts}
    kwargs["base_delay"] = base_delay
    if deadline is not None:
        kwargs["deadline"] = deadline
    calls: list[tuple] = []
    if progress:

        def on_page(url, done, found):
            calls.append((url, done, found, round(web.now() - web.began, 6)))

        kwargs["on_page"] = on_page
    longest = sum(f.ends for f in p.fetch.values())
    task = await within_patience(web, web.run("crawl", start, **kwargs), 2 * longest + 60, what)
    if task.cancelled():
        checks.fail(f"{what}: crawl() ended cancelled, though nothing cancelled it.")
    result = task.result()
    check_requests(web, p, deadline, what)
    check_timelines(web, p, what)
    done = done_pages(web, p, deadline, what)
    end = check_schedule(web, p, limit, deadline, done, what)
    if deadline is None:
        check_missing(web, p, what)
    check_content(web, p, result, done, what, deadline)
    if deadline is not None and web.took() > deadline + 1e-6:
        checks.fail(
            f"{what}: crawl() returned at {web.took():.10g} s, after its deadline "
            f"({deadline:.10g} s): the deadline counts from the call, for the whole crawl: one "
            "asyncio.timeout(deadline) around all the levels, not one per level or per page."
        )
    checks.took(
        web.took(),
        end,
        f"{what}: crawl()",
        {deadline or -1: "It waited for its deadline, though everything was done: return then."},
    )
    if progress:
        check_progress(web, p, calls, done, what)
    web.check(what)
    return result


def small_site() -> dict[str, Page | list[Page]]:
    """A repeated link, a #fragment, a self-link, cycles, a 404 and an unreachable page."""
    return site(
        {
            "/": ok(1, "/a", "/b", "/a#top", "/", "/c"),
            "/a": ok(2, "/b", "/d"),
            "/b": ok(1, "/", "/e", "/b"),
            "/c": status(404, 1),
            "/d": ok(1, "/a", "/f"),
            "/e": down(1),
            "/f": ok(1),
        }
    )


@pytest.mark.task(2)
async def test_crawl_fetches_every_page_within_max_depth_once():
    async with Web(small_site()) as web:
        await crawling(web, u("/"), limit=2, max_depth=2)


@pytest.mark.task(2)
async def test_max_depth_counts_links_from_the_start():
    chain = site({"/": ok(1, "/1"), "/1": ok(1, "/2"), "/2": ok(1, "/3"), "/3": ok(1, "/4")})
    chain[u("/4")] = ok(1, "/")
    for max_depth in (0, 1, 3, 4, 10):
        async with Web(chain) as web:
            await crawling(
                web,
                u("/"),
                limit=3,
                max_depth=max_depth,
                what=f"crawl of the chain / → /1 → /2 → /3 → /4 → /, max_depth={max_depth}",
            )


@pytest.mark.task(2)
async def test_depth_is_the_fewest_links_even_when_a_longer_path_is_faster():
    # /target is 2 links away through /slow (3 s), and 3 through /fast and /mid (1 s each).
    pages = {
        "/": ok(1, "/slow", "/fast"),
        "/slow": ok(3, "/target"),
        "/fast": ok(1, "/mid"),
        "/mid": ok(1, "/target"),
        "/target": ok(1, "/deep"),
        "/deep": ok(1),
    }
    async with Web(site(pages)) as web:
        await crawling(
            web,
            u("/"),
            limit=4,
            max_depth=3,
            what="crawl of / → [/slow (3 s), /fast (1 s)], /fast → /mid → /target, /slow → "
            "/target → /deep, max_depth=3",
        )


@pytest.mark.task(2)
async def test_the_crawl_goes_level_by_level():
    pages = {"/": ok(0, "/slow", "/fast"), "/slow": ok(3), "/fast": ok(1, "/next"), "/next": ok(1)}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=5, max_depth=5, what="crawl of / → [/slow 3 s, /fast]")


@pytest.mark.task(2)
async def test_at_most_limit_pages_at_once_and_a_new_one_the_moment_one_ends():
    pages = {"/": ok(1, *(f"/p{i}" for i in range(12)))}
    pages |= {f"/p{i}": ok((i * 5 % 4 + 1) / 2) for i in range(12)}
    for limit in (1, 3, 5, 12, 50):
        async with Web(site(pages)) as web:
            await crawling(
                web,
                u("/"),
                limit=limit,
                max_depth=1,
                what=f"crawl of / linking to 12 pages of 0.5 to 2 s, limit={limit}",
            )
            checks.equal(web.peak, min(limit, 12), "Most requests in flight at once")


@pytest.mark.task(2)
async def test_a_page_linked_from_two_pages_is_fetched_once():
    pages = {"/": ok(1, "/a", "/b"), "/a": ok(1, "/x", "/b"), "/b": ok(2, "/x", "/a")}
    pages |= {"/x": ok(1, "/", "/a")}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=3, what="crawl of / → [/a, /b] → /x")


@pytest.mark.task(2)
async def test_failures_are_recorded_and_stop_nothing():
    pages = {
        "/": ok(0, "/404", "/503", "/down", "/ok", "/gone"),
        "/404": Page(1, html("/secret"), 404),  # a failure's body is no page: no links
        "/503": status(503, 2),
        "/down": down(0.5),
        "/ok": ok(1, "/after"),
        "/gone": status(410, 0),
        "/after": ok(1),
        "/secret": ok(1),
    }
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=3, what="crawl of / → 404, 503, down, ok")


@pytest.mark.task(2)
async def test_crawl_retries_each_page_with_fetch_page():
    pages = {
        "/": [status(503, 1), ok(1, "/a", "/b", "/c")],
        "/a": [status(429, 0, retry_after="3"), ok(1)],
        "/b": [down(1), down(1), down(1)],
        "/c": ok(1),
    }
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=1, attempts=3, base_delay=1)


@pytest.mark.task(2)
async def test_a_page_whose_connection_is_lost_in_mid_body_is_retried_then_recorded():
    pages = {
        "/": ok(1, "/a", "/b", "/c"),
        "/a": [cut(1, 0.5), cut(0, 1, reset=True)],  # lost twice: a failure, 'unreachable'
        "/b": [cut(0.5, 0.5), ok(1, "/d")],  # lost once, then a success
        "/c": ok(1),
        "/d": ok(1),
    }
    async with Web(site(pages)) as web:
        await crawling(
            web,
            u("/"),
            limit=2,
            max_depth=2,
            attempts=2,
            base_delay=1,
            what="crawl of / → /a (its body lost twice), /b (lost once, then → /d), /c, attempts=2",
        )


@pytest.mark.task(2)
async def test_a_start_page_that_fails_is_the_only_failure():
    async with Web(site({"/": Page(1, html("/a"), 404), "/a": ok(1)})) as web:
        await crawling(web, u("/"), limit=3, max_depth=2, what="crawl of a 404 start page")
    async with Web(site({"/": down(1)})) as web:
        await crawling(web, u("/"), limit=1, max_depth=0, attempts=2, what="crawl of a dead site")


@pytest.mark.task(2)
async def test_an_empty_start_page_and_max_depth_zero():
    async with Web(site({"/": Page(0, ""), "/a": ok(1)})) as web:
        await crawling(web, u("/"), limit=1, max_depth=3, what="crawl of an empty start page")
    async with Web(site({"/": ok(2, "/a"), "/a": ok(1)})) as web:
        await crawling(web, u("/"), limit=2, max_depth=0, what="crawl with max_depth=0")


@pytest.mark.task(2)
async def test_crawl_returns_a_new_crawl_of_the_right_types():
    async with Web(small_site()) as web:
        first = await crawling(web, u("/"), limit=3, max_depth=1)
    async with Web(small_site()) as web:
        second = await crawling(web, u("/"), limit=3, max_depth=1)
    if first is second or first.pages is second.pages or first.failures is second.failures:
        checks.fail(
            "Two crawls returned the same Crawl (or the same pages or failures dict): each call "
            "returns a new Crawl of its own."
        )


@pytest.mark.task(2)
async def test_each_crawl_is_its_own():
    # Two crawls after another, then two at the same time, each with limit 2.
    for _ in range(2):
        async with Web(small_site()) as web:
            await crawling(web, u("/"), limit=2, max_depth=3, what="a crawl after another")
    one = {f"/one/{i}": ok(1) for i in range(4)} | {
        "/one/": ok(0, *(f"/one/{i}" for i in range(4)))
    }
    two = {f"/two/{i}": ok(1) for i in range(4)} | {
        "/two/": ok(0, *(f"/two/{i}" for i in range(4)))
    }
    async with Web(site(one | two)) as web:
        web.name = "crawl"
        results = await asyncio.gather(
            capstone.crawl(u("/one/"), limit=2, max_depth=1, attempts=1, base_delay=1.0),
            capstone.crawl(u("/two/"), limit=2, max_depth=1, attempts=1, base_delay=1.0),
        )
        for result, prefix in zip(results, ("/one/", "/two/"), strict=True):
            pages, _, _ = crawl_parts(result, f"Two crawls at the same time ({prefix})")
            want = {u(prefix): 0} | {u(f"{prefix}{i}"): 1 for i in range(4)}
            checks.equal(
                pages,
                want,
                f"Crawl.pages of the crawl of {prefix}, run at the same time as another",
                "Each crawl keeps its own seen set and pages: nothing at module level.",
            )
        if web.peak < 4:
            checks.fail(
                f"Two crawls at the same time, each with limit 2 (their four pages of depth 1 "
                f"ready at 0 s): at most {web.peak} pages were fetched at once in all, where each "
                "crawl should have had 2 of its own, 4 in all. Likely one semaphore shared by "
                "every crawl (made at module level, or kept from an earlier call): a Semaphore "
                "made in each call."
            )
        per = [
            web.peak_of([r for r in web.requests if r.url.startswith(u(x))])
            for x in ("/one/", "/two/")
        ]
        checks.equal(
            per,
            [2, 2],
            "Most pages fetched at once by each of two crawls at the same time, limit 2 each",
            "Each crawl has its own limit: a Semaphore made in each call, not one shared.",
        )
        checks.equal(len(web.sessions), 2, "Sessions opened by two crawls at the same time")


@pytest.mark.task(2)
@pytest.mark.wall_limit(20)
async def test_three_hundred_pages_ten_at_a_time():
    pages = {"/": ok(1, *(f"/p/{i}" for i in range(300)))}
    pages |= {f"/p/{i}": ok((i * 7 % 4 + 1) / 4, f"/p/{(i + 1) % 300}") for i in range(300)}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=10, max_depth=2, what="crawl of 300 pages, limit 10")
        checks.equal(web.peak, 10, "Most requests in flight at once, for 300 pages and limit 10")


@pytest.mark.task(2)
@pytest.mark.loop_limit(1_000_000)
async def test_crawl_waits_for_pages_that_take_a_day():
    pages = {"/": ok(86_400, "/a", "/b"), "/a": ok(10_000), "/b": [status(503, 0), ok(3600)]}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=1, attempts=2, base_delay=3600)


NODES = ["/", "/a", "/b", "/c", "/d", "/e"]
LATENCY = st.sampled_from([0, 0.25, 0.5, 1, 2])


def node_pages():
    linked = st.lists(st.sampled_from([*NODES, "/a#x"]), max_size=4)
    return st.one_of(
        st.builds(lambda lat, hrefs: ok(lat, *hrefs), LATENCY, linked),
        st.builds(lambda lat, hrefs: ok(lat, *hrefs), LATENCY, linked),
        st.builds(lambda lat: status(404, lat), LATENCY),
        st.builds(lambda lat, hrefs: [status(503, lat), ok(lat, *hrefs)], LATENCY, linked),
        st.builds(down, LATENCY),
    )


GRAPHS = st.fixed_dictionaries({node: node_pages() for node in NODES})


def told_site(graph: dict) -> str:
    parts = []
    for node, page_ in graph.items():
        answers = page_ if isinstance(page_, list) else [page_]
        last = answers[-1]
        hrefs = links(last.body, u(node)) if last.ok and isinstance(last.body, str) else []
        parts.append(
            f"{node}: {told(answers)}" + (f" → {[name(h) for h in hrefs]}" if hrefs else "")
        )
    return "; ".join(parts)


@pytest.mark.task(2)
# A wrong answer's run shrinks its failing scenario: each example is a crawl through aiohttp.
@pytest.mark.wall_limit(15)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    max_examples=20,
    graph=GRAPHS,
    limit=st.integers(1, 3),
    max_depth=st.integers(0, 3),
    attempts=st.integers(1, 2),
)
async def test_crawl_in_any_scenario(graph, limit, max_depth, attempts):
    scene = (
        f"with the site {told_site(graph)}, limit={limit}, max_depth={max_depth}, "
        f"attempts={attempts}, base_delay=0.5"
    )
    scenarios.describe(scene)
    async with Web(site(graph)) as web:
        await crawling(
            web,
            u("/"),
            limit=limit,
            max_depth=max_depth,
            attempts=attempts,
            base_delay=0.5,
            what=f"crawl() {scene}",
        )


def wide_site() -> dict[str, Page | list[Page]]:
    """/ (1 s) links to /a (1 s), /b (2 s), /c (4 s), /d (1 s); each links to /x/<name>."""
    pages = {"/": ok(1, "/a", "/b", "/c", "/d")}
    for path, latency in (("/a", 1), ("/b", 2), ("/c", 4), ("/d", 1)):
        pages[path] = ok(latency, f"/x{path}", "/")
        pages[f"/x{path}"] = ok(1)
    return site(pages)


@pytest.mark.task(3)
async def test_the_deadline_cancels_the_fetches_in_flight_and_returns_what_was_done():
    # limit 2: /a and /b start at 1; /a ends at 2, /c starts; /b ends at 3, /d starts; the
    # deadline at 3.5 cuts /c and /d.
    async with Web(wide_site()) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, deadline=3.5)


@pytest.mark.task(3)
async def test_nothing_is_sent_after_the_deadline():
    # limit 1: / ends at 1, /a at 2; /b (2 s) is cut at 3.5, with /c and /d still to come.
    for limit, deadline in ((1, 3.5), (1, 5.5), (2, 2.5)):
        async with Web(wide_site()) as web:
            await crawling(
                web,
                u("/"),
                limit=limit,
                max_depth=2,
                deadline=deadline,
                what=f"crawl of / → /a (1 s), /b (2 s), /c (4 s), /d (1 s) → /x/..., "
                f"limit={limit}, deadline={deadline}",
            )


@pytest.mark.task(3)
async def test_unfinished_holds_every_url_found_but_not_done():
    for deadline in (2.5, 4.5, 5.5, 6.5):
        async with Web(wide_site()) as web:
            await crawling(
                web,
                u("/"),
                limit=4,
                max_depth=2,
                deadline=deadline,
                what=f"crawl of / → /a, /b, /c, /d → /x/... with deadline={deadline}",
            )


@pytest.mark.task(3)
async def test_a_deadline_during_a_retry_wait():
    pages = {"/": ok(0, "/a", "/b"), "/a": [status(503, 1), ok(1)], "/b": ok(1)}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=1, attempts=3, base_delay=4, deadline=3)


@pytest.mark.task(3)
async def test_a_crawl_done_before_its_deadline_returns_at_once():
    async with Web(small_site()) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, deadline=100)


@pytest.mark.task(3)
async def test_a_deadline_before_the_start_page_comes():
    async with Web(site({"/": ok(5, "/a"), "/a": ok(1)})) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, deadline=0.5)


@pytest.mark.task(3)
@pytest.mark.loop_limit(1_000_000)
async def test_a_deadline_may_be_very_long():
    pages = {"/": ok(3600, "/a", "/b"), "/a": ok(86_400), "/b": ok(7200, "/c"), "/c": ok(1)}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, deadline=86_400 + 3600.5)
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, deadline=7 * 86_400)


def returned_before_the_cancel(task: asyncio.Task, web: Web, story: str, though: str) -> None:
    """Fail if the crawl the test is about to cancel has already ended."""
    if task.done():
        checks.raise_unexpected(task)
        checks.fail(
            f"{story}: crawl() had already returned {short(task.result())} at "
            f"{web.ended - web.began:.10g} s, before the cancel came, though {though}."
        )


def ended_cancelled(task: asyncio.Task, story: str) -> None:
    """Fail if a crawl cancelled from outside ended any other way."""
    if not task.cancelled():
        got = repr(task.exception()) if task.exception() else short(task.result())
        checks.fail(
            f"{story}: it ended with {got} instead of being cancelled: a cancelled crawl does "
            "not return what it has (that is the deadline's job): let the CancelledError reach "
            "the caller, after cleaning up."
        )


@pytest.mark.task(3)
async def test_a_cancelled_crawl_ends_cancelled_and_stops_everything():
    # limit 2, cancelled at 3 s: /a and /b in flight (1 to 5 s), /c not sent.
    pages = site({"/": ok(1, "/a", "/b", "/c"), "/a": ok(4), "/b": ok(4), "/c": ok(4)})
    story = "crawl() of / → /a, /b, /c (4 s each), limit 2, cancelled at 3 s"
    for deadline in (None, 100):
        async with Web(pages) as web:
            kwargs = {"limit": 2, "max_depth": 1, "attempts": 1, "base_delay": 1.0}
            if deadline:
                kwargs["deadline"] = deadline
            task = asyncio.create_task(web.run("crawl", u("/"), **kwargs))
            await asyncio.sleep(3)
            returned_before_the_cancel(task, web, story, "'/a' and '/b' are fetched until 5 s")
            task.cancel()
            cancel_seq = web.tick()  # a request sent at 3 s, after the cancel, is late too
            await asyncio.wait([task], timeout=100)
            if not task.done():
                await checks.settle(task)
                checks.fail(
                    f"{story}: it was still running 100 s after: it caught the CancelledError "
                    "and carried on. Let it reach the caller."
                )
            late = [r for r in web.requests if r.start_seq > cancel_seq]
            if late:
                checks.fail(
                    f"{story}: it requested {name(late[0].url)!r} at {late[0].start:.10g} s, "
                    "after it had been cancelled: once cancelled it sends nothing more (a "
                    "worker that catches CancelledError, with `except BaseException:` or a bare "
                    "`except:`, goes on to the next URL)."
                )
            ended_cancelled(task, story)
            web.check(story + (f" (deadline={deadline})" if deadline else ""))


@pytest.mark.task(3)
async def test_a_crawl_cancelled_while_a_page_waits_to_retry_stops_everything_at_once():
    # limit 3: /a, /b, /c start at 1; /a's 503 comes at 1.5, its retry due at 3.5 (base_delay
    # 2); /c ends at 2 and /d (or /e) takes its slot. Cancelled at 2.625: /a waits to retry,
    # two requests run, one page waits for a slot.
    pages = {"/": ok(1, "/a", "/b", "/c", "/d", "/e"), "/a": [status(503, 0.5), ok(1)]}
    pages |= {"/b": ok(3), "/c": ok(1), "/d": ok(1), "/e": ok(1)}
    for deadline in (None, 50):
        story = (
            "crawl() of / → /a (503, then a success), /b (3 s), /c, /d, /e (1 s), limit 3, "
            "attempts=3, base_delay=2"
            + (f", deadline={deadline}" if deadline else "")
            + ", cancelled at 2.625 s (/a waiting to retry)"
        )
        async with Web(site(pages)) as web:
            kwargs = {"limit": 3, "max_depth": 1, "attempts": 3, "base_delay": 2.0}
            if deadline:
                kwargs["deadline"] = deadline
            task = asyncio.create_task(web.run("crawl", u("/"), **kwargs))
            await asyncio.sleep(2.625)
            returned_before_the_cancel(task, web, story, "'/b' is fetched until 4 s")
            running = {r.url for r in web.requests if r.finished_seq is None}
            asked = {r.url for r in web.requests}
            task.cancel()
            cancelled, cancel_seq = web.now() - web.began, web.tick()
            await asyncio.wait([task], timeout=100)
            if task.done() and web.left:  # it ended, leaving tasks: do they send more?
                await asyncio.wait(web.left, timeout=20)
            late = [r for r in web.requests if r.start_seq > cancel_seq]
            if late:
                first = late[0]
                why = (
                    "a new request to a page whose request the cancel had cut: the "
                    "CancelledError was taken for a failure worth retrying (a fetch_page() "
                    "that catches it, `except BaseException:` or a bare `except:`)"
                    if first.url in running
                    else "the retry of a page that was waiting to retry when the cancel came"
                    if first.url in asked
                    else "a page that had not been started: a worker (or a loop) that caught "
                    "the CancelledError and went on to the next URL"
                )
                await checks.settle(task, *web.left)
                checks.fail(
                    f"{story}: it requested {name(first.url)!r} at "
                    f"{first.start - web.began:.10g} s, after it had been cancelled: {why}. "
                    "Once cancelled, a crawl sends nothing more."
                )
            if not task.done():
                await checks.settle(task)
                checks.fail(
                    f"{story}: it was still running 100 s after the cancel, though it sent "
                    "nothing more: something caught the CancelledError and waits. Let it reach "
                    "the caller."
                )
            ended_cancelled(task, story)
            ended = round(web.ended - web.began, 6)
            if abs(ended - cancelled) > 1e-6:
                checks.fail(
                    f"{story}: it ended cancelled at {ended:.10g} s, {ended - cancelled:.10g} s "
                    "after the cancel: cancel what runs and wait for it, with no wait of your own."
                )
            deaf = [t for t in web.left if t.cancelling()]  # asked to cancel, yet still running
            if deaf:
                names = sorted({t.get_coro().__qualname__ for t in deaf})
                later = [t.exception() for t in deaf if t.done() and not t.cancelled()]
                await checks.settle(*web.left)
                checks.fail(
                    f"{story}: it ended cancelled at {ended:.10g} s, but "
                    f"{checks.count(len(deaf), 'task')} it started ({', '.join(names)}) had been "
                    "asked to cancel and "
                    + ("was" if len(deaf) == 1 else "were")
                    + " still running: likely the CancelledError was caught (`except "
                    "BaseException:` or a bare `except:`, in fetch_page() or around it) and the "
                    "page went on, so the gather that was cancelled gave up waiting for it"
                    + (f" (it later raised {later[0]!r})" if later and later[0] else "")
                    + ". Let the CancelledError through."
                )
            web.check(story)


@pytest.mark.task(3)
# A wrong answer's run shrinks its failing scenario: each example is a crawl through aiohttp.
@pytest.mark.wall_limit(15)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    max_examples=20,
    graph=GRAPHS,
    limit=st.integers(1, 3),
    max_depth=st.integers(0, 3),
    deadline=st.sampled_from([0.375, 1.125, 2.625, 4.875]),
)
async def test_crawl_with_a_deadline_in_any_scenario(graph, limit, max_depth, deadline):
    scene = (
        f"with the site {told_site(graph)}, limit={limit}, max_depth={max_depth}, "
        f"attempts=2, base_delay=0.5, deadline={deadline}"
    )
    scenarios.describe(scene)
    async with Web(site(graph)) as web:
        await crawling(
            web,
            u("/"),
            limit=limit,
            max_depth=max_depth,
            attempts=2,
            base_delay=0.5,
            deadline=deadline,
            what=f"crawl() {scene}",
        )


@pytest.mark.task(4)
async def test_on_page_is_called_the_moment_each_page_is_done():
    async with Web(wide_site()) as web:
        await crawling(web, u("/"), limit=2, max_depth=2, progress=True)


@pytest.mark.task(4)
async def test_on_page_counts_pages_done_and_urls_found():
    async with Web(small_site()) as web:
        await crawling(web, u("/"), limit=3, max_depth=3, progress=True)
    chain = site({"/": ok(1, "/1", "/1"), "/1": ok(1, "/2", "/"), "/2": ok(1, "/3"), "/3": ok(1)})
    async with Web(chain) as web:
        await crawling(web, u("/"), limit=1, max_depth=2, progress=True, what="crawl of a chain")


@pytest.mark.task(4)
async def test_a_page_linked_from_its_own_level_is_reported_once():
    # /a is done at 2, while /b, which /a links to, is still being fetched (until 3).
    pages = {"/": ok(1, "/a", "/b"), "/a": ok(1, "/b", "/c"), "/b": ok(2, "/c", "/a")}
    async with Web(site(pages | {"/c": ok(1)})) as web:
        await crawling(
            web,
            u("/"),
            limit=2,
            max_depth=2,
            progress=True,
            what="crawl of / → [/a (1 s), /b (2 s)], /a → [/b, /c], /b → [/c, /a], with on_page",
        )


@pytest.mark.task(4)
async def test_failed_pages_are_reported_too():
    pages = {"/": ok(0, "/404", "/down", "/ok"), "/404": status(404, 1), "/down": down(2)}
    pages |= {"/ok": ok(3)}
    async with Web(site(pages)) as web:
        await crawling(web, u("/"), limit=3, max_depth=1, attempts=2, progress=True)


@pytest.mark.task(4)
async def test_pages_cut_by_the_deadline_are_not_reported():
    for limit in (2, 1):
        async with Web(wide_site()) as web:
            await crawling(
                web,
                u("/"),
                limit=limit,
                max_depth=2,
                deadline=3.5,
                progress=True,
                what=f"crawl of / → /a (1 s), /b (2 s), /c (4 s), /d (1 s) → /x/..., "
                f"limit={limit}, deadline=3.5, with on_page",
            )


@pytest.mark.task(4)
async def test_each_crawl_counts_its_own_progress():
    for _ in range(2):
        async with Web(wide_site()) as web:
            await crawling(web, u("/"), limit=4, max_depth=1, progress=True)


@pytest.mark.task(4)
# A wrong answer's run shrinks its failing scenario: each example is a crawl through aiohttp.
@pytest.mark.wall_limit(15)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    max_examples=20,
    graph=GRAPHS,
    limit=st.integers(1, 3),
    max_depth=st.integers(0, 3),
    deadline=st.sampled_from([None, None, 1.125, 2.625]),
)
async def test_progress_in_any_scenario(graph, limit, max_depth, deadline):
    scene = (
        f"with the site {told_site(graph)}, limit={limit}, max_depth={max_depth}, attempts=2, "
        "base_delay=0.5" + (f", deadline={deadline}" if deadline else "")
    )
    scenarios.describe(scene)
    async with Web(site(graph)) as web:
        await crawling(
            web,
            u("/"),
            limit=limit,
            max_depth=max_depth,
            attempts=2,
            base_delay=0.5,
            deadline=deadline,
            progress=True,
            what=f"crawl() {scene}",
        )
