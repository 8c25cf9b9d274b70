"""A mocked web for the exercise tests that call aiohttp (19, 20, and the crawler of 26).

A test double, for exercise authors. No request leaves the machine: aioresponses answers
every aiohttp GET made inside `async with Web(pages) as web:`.

What it serves: `pages` maps each URL to a `Page` (or a list of Pages: the n-th request to
the URL gets the n-th, the last one again after that). A Page answers after `latency` seconds
of loop time with its `status`, `body`, `content_type` and `headers` (`retry_after` adds a
Retry-After header); reading its body then takes `transfer` seconds more. An `unreachable`
Page raises aiohttp.ClientConnectionError after its latency instead; a Page with `after`
(a URL) answers at the same loop time, but only once every task that requested `after` has
ended. A URL not served is refused at once (ClientConnectionError "Connection refused").

What it records, with the loop time since the Web was entered (`web.now()`) and an event
number (`web.tick()`, one order for everything): every `Request` (sent, answered, cancelled,
out of flight, through which session, whether a response was made, released, read), every
`Session` made and closed (with its timeout and connector limits), the URLs not served
(`unknown`), requests other than GET (`other_methods`), each request's own `timeout=`
(`request_timeouts`), and the requests in flight (`in_flight`, the `peak` and when).

How to use it: subclass `Web` in the test module, add the exercise's own `run()`, checks and
messages there (they stay the exercise's), and override the hooks `throw()` (raise the
connection errors from a function of the test module, so that an error escaping the
learner's code is told as the test's own) and `too_many()` (the message for a request
beyond `max_requests`). On the way out it cancels the requests the learner's code left
running, closes the sessions it left open and undoes every patch. Call `warm_up()` at import.

The hygiene checks are shared: call `note_end()` when the learner's call returns or raises,
then, in the order the exercise wants its stories told, `check_own_session()` (or
`check_given_session()`), `check_running()`, `check_closed_sessions()`,
`check_sessions_closed()` and `check_released()`. Each fails the test with what was left
(which request, which session, when) and how to avoid it.

Where a session counts as the learner's (src/aiokata/resources.py), nothing changes: the
patched ClientSession.__init__ lives here, outside the learner's file, as it lived in the
test modules before.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NoReturn
from unittest import mock

import aiohttp
import pytest
from aiohttp import hdrs
from aiohttp.client_proto import ResponseHandler
from aioresponses import CallbackResult, aioresponses
from aioresponses.compat import normalize_url
from aioresponses.core import RequestCall, RequestMatch
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from aiokata import checks


def warm_up(once: Callable[[], Coroutine[Any, Any, object]]) -> None:
    """Run `once()` on a loop of its own, here, at import, to pay aiohttp's (and
    aioresponses') first-use costs once: every test then runs in a fresh process forked from
    this one, and its first step stays a few milliseconds long even on a busy machine (a step
    that holds the loop for 0.5 s of real time counts as blocking). Never breaks the import."""
    try:
        loop = asyncio.new_event_loop()
    except Exception:  # pragma: no cover - nothing to gain, then
        return
    try:
        loop.run_until_complete(once())
    except BaseException:  # pragma: no cover - only an optimisation: never break the import
        pass
    finally:
        loop.close()


@dataclass
class Page:
    """What one request to a URL gets: after `latency` seconds of loop time, `status` and its
    headers; reading the body then takes `transfer` seconds more. `unreachable`: the request
    raises aiohttp.ClientConnectionError after `latency` seconds instead."""

    latency: float
    body: str | bytes = ""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    transfer: float = 0
    retry_after: str | None = None  # the Retry-After header of the answer, if any
    headers: dict[str, str] = field(default_factory=dict)  # more headers of the answer
    unreachable: bool = False
    after: str = ""  # a URL: answer at the same loop time as its request, but only once the
    # task that made it has ended (a step or two later: after the winner of a race)

    @property
    def ok(self) -> bool:
        return not self.unreachable and self.status < 400

    @property
    def retryable(self) -> bool:
        return self.unreachable or self.status == 429 or self.status >= 500

    @property
    def takes(self) -> float:
        return self.latency + self.transfer

    def told(self) -> str:
        """The answer in a few words: "503", "429 (Retry-After: 3)", "unreachable"."""
        if self.unreachable:
            return "unreachable"
        if self.retry_after is not None:
            return f"{self.status} with Retry-After: {self.retry_after}"
        return str(self.status)

    def json(self) -> object:
        return json.loads(self.body)

    def text(self) -> str:
        if isinstance(self.body, str):
            return self.body
        charset = re.search(r"charset=([\w-]+)", self.content_type)
        return self.body.decode(charset.group(1) if charset else "utf-8")


@dataclass
class Request:
    """One request the learner's code sent to a URL the test serves."""

    web: Web
    url: str  # the URL as the test serves it (the key of its Page)
    attempt: int  # 0 for the first request to this URL, 1 for the second...
    page: Page
    start: float
    start_seq: int
    session: object
    task: asyncio.Task | None
    answered: float | None = None  # when its status and headers came (or it failed)
    answered_seq: int | None = None
    end_seq: int | None = None  # the event number of its answer or its cancellation
    finished: float | None = None  # out of flight: body read, response released, failed...
    finished_seq: int | None = None
    cancelled: float | None = None
    response: bool = False  # a response object was made for it
    released: bool = False  # release() or close() was called on that response
    read: bool = False  # its body was read to the end
    read_at: float | None = None

    @property
    def end(self) -> float | None:
        """When its answer came (or its connection failed)."""
        return self.answered

    @property
    def seq(self) -> int:
        return self.start_seq

    @property
    def done_seq(self) -> int | None:
        """When it stopped running, as its Web counts it (`held_until_read`)."""
        return self.finished_seq if self.web.held_until_read else self.end_seq

    def leave(self) -> None:
        """Out of flight (once): its body was read, its response released or closed, its
        connection failed, or it was cancelled."""
        if self.finished_seq is None:
            self.finished, self.finished_seq = self.web.now(), self.web.tick()
            self.web.in_flight -= 1


@dataclass
class Session:
    session: aiohttp.ClientSession
    made: float
    seq: int
    closed: float | None = None
    closed_seq: int | None = None
    cancelling: tuple = ()  # requests still running, already asked to cancel, when it closed
    timeout: object = None  # session.timeout, as made
    limit: int = 0  # its connector's limit and limit_per_host (0: none)
    limit_per_host: int = 0


_SESSION: contextvars.ContextVar[object] = contextvars.ContextVar("session", default=None)
# The request whose answer aioresponses is building: set by the serving callback, read by the
# response's __init__, which aioresponses calls right after the callback, in the same task.
_ANSWERING: contextvars.ContextVar[Request] = contextvars.ContextVar("answering")


@functools.cache
def _protocol(loop: asyncio.AbstractEventLoop) -> ResponseHandler:
    """One protocol object for every mocked body of a loop (aioresponses makes one each)."""
    return ResponseHandler(loop=loop)


class _Match(RequestMatch):
    """aioresponses' matcher, building its response on the running loop (aioresponses' own
    builds it on a Mock loop, whose attribute look-ups cost a millisecond a response: a
    thousand requests would cost a second of real time)."""

    def _build_response(
        self,
        url,
        method=hdrs.METH_GET,
        request_headers=None,
        status=200,
        body="",
        content_type="application/json",
        payload=None,
        headers=None,
        response_class=None,
        reason=None,
    ):
        loop = asyncio.get_running_loop()
        info = aiohttp.RequestInfo(
            url=url,
            method=method,
            headers=CIMultiDictProxy(self._prepare_request_headers(request_headers)),
            real_url=url,
        )
        resp = (response_class or aiohttp.ClientResponse)(
            method,
            url,
            request_info=info,
            writer=None,
            continue100=None,
            timer=None,
            traces=[],
            loop=loop,
            session=None,
        )
        all_headers = CIMultiDict({hdrs.CONTENT_TYPE: content_type})
        all_headers.update(headers or {})
        resp._headers = all_headers
        resp._raw_headers = self._build_raw_headers(all_headers)
        resp.status = status
        resp.reason = reason
        resp.content = aiohttp.StreamReader(_protocol(loop), limit=2**16, loop=loop)
        resp.content.feed_data(body.encode() if isinstance(body, str) else body)
        resp.content.feed_eof()
        return resp


class _Mocked(aioresponses):
    """aioresponses that also notes which session each request went through, and what
    `timeout=` each request was given."""

    def __init__(self, web: Web) -> None:
        super().__init__()
        self.web = web
        mocked = self

        def _request(session, method, url, *args, **kwargs):
            _SESSION.set(session)  # read by the serving callback, in the same task
            if kwargs.get("timeout") is not None:  # session.get(url, timeout=...)
                web.request_timeouts.append((str(url), kwargs["timeout"]))
            if str(method).upper() != "GET":
                web.other_methods.append(f"{str(method).upper()} {url}")
            return mocked._request_mock(session, method, url, *args, **kwargs)

        # The same patch as aioresponses' own, without its autospec: building that spec costs
        # milliseconds in every test's first step, and a step is timed in real time. (A plain
        # function that returns aioresponses' coroutine: one coroutine less per request.)
        self.patcher = mock.patch.object(aiohttp.ClientSession, "_request", _request)

    def _build_request_call(self, method: str = hdrs.METH_GET, *args, **kwargs):
        """The call as aioresponses records it, without its deep copy of every argument."""
        kwargs.setdefault("allow_redirects", True)
        return RequestCall(args, kwargs)

    def serve(self, callback) -> None:
        """One matcher for every GET: a list of a thousand matchers is searched in turn."""
        self._matches["every GET"] = _Match(
            re.compile(r".*"), method=hdrs.METH_GET, callback=callback, repeat=True
        )


class _Response(aiohttp.ClientResponse):
    """A response whose body takes its page's `transfer` seconds to read, and that tells its
    request when it was read or released."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record = _ANSWERING.get()
        self.record.response = True

    def release(self):
        self.record.released = True
        self.record.leave()
        return super().release()

    def close(self) -> None:
        self.record.released = True
        self.record.leave()
        super().close()

    async def read(self) -> bytes:
        record = self.record
        if self._body is None and record.page.transfer and record.finished_seq is None:
            try:
                await asyncio.sleep(record.page.transfer)
            except asyncio.CancelledError:
                record.cancelled = record.web.now()
                record.leave()
                raise
        body = await super().read()
        if not record.read:
            record.read, record.read_at = True, record.web.now()
        record.leave()
        return body


class Task(asyncio.Task):  # named Task, as asyncio's own: its log says "Task exception was ..."
    """A task whose hash is the number it was made with, so that a set of a few of them (the
    `done` of asyncio.wait) is iterated in the order they were made, every run."""

    def __init__(self, *args, order: int, **kwargs) -> None:
        self._aiokata_order = order  # before asyncio.Task.__init__, which hashes the task
        super().__init__(*args, **kwargs)

    def __hash__(self) -> int:
        return self._aiokata_order


class Web:
    """`async with Web(pages) as web:` serves `pages` (URL -> Page, or a list of Pages: the
    n-th request to the URL gets the n-th, the last one again after that) to every aiohttp
    request made inside, records what happened, and cleans up whatever the learner's code left.

    - `tasks_in_order`: every task made inside hashes in the order it was made.
    - `max_requests`: a request beyond that many to one URL fails the test at once, with
      `too_many(url)`.
    - `cancel_steps`: the steps of the loop a cancelled request takes to end (like a real
      connection winding down: only waiting for it, not one sleep(0), sees it end).
    - `loose_urls`: a requested URL matches a page as aioresponses matches URLs (yarl's
      equality: `http://a.test` is `http://a.test/`); otherwise by its exact text (after
      aioresponses' normalisation, which sorts the query).
    - `held_until_read`: a request runs until its body is read or its response released (a
      connection held); otherwise until its answer comes (or it is cancelled).
    """

    def __init__(
        self,
        pages: dict[str, Page] | dict[str, Page | list[Page]],
        *,
        tasks_in_order: bool = False,
        max_requests: int = 0,
        cancel_steps: int = 0,
        loose_urls: bool = False,
        held_until_read: bool = True,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.pages = pages  # as given
        self.answers = {u: list(p) if isinstance(p, list) else [p] for u, p in pages.items()}
        self.by_key = {str(normalize_url(URL(u))): u for u in self.answers}
        self.by_url_key: dict[URL, str] = {}
        for u in self.answers:
            self.by_url_key.setdefault(normalize_url(URL(u)), u)  # the first one, as aioresponses
        self.tasks_in_order = tasks_in_order
        self.max_requests = max_requests
        self.cancel_steps = cancel_steps
        self.loose_urls = loose_urls
        self.held_until_read = held_until_read
        self.requests: list[Request] = []
        self.by_url: dict[str, list[Request]] = {}
        self.sent: Counter = Counter()  # requests per URL
        self.sessions: list[Session] = []
        self.unknown: list[str] = []  # requests to URLs the test does not serve
        self.other_methods: list[str] = []  # requests other than GET (HEAD, POST...)
        self.request_timeouts: list[tuple[str, object]] = []  # (url, timeout=) of a request
        self.in_flight = 0
        self.peak = 0
        self.peak_at = 0.0
        self.peak_seq = 0
        self._seq = 0
        self.began: float = 0.0  # when the learner's call began (set by the test's run())
        self.ended: float | None = None  # when the learner's call returned or raised
        self.ended_seq: int | None = None
        self.verb = "returned"
        self.runaway = ""  # the message of a request beyond max_requests
        # noted by note_end(), when the learner's call returned or raised:
        self.held: list[Request] = []  # responses neither released nor read
        self.running: list[Request] = []  # requests not ended (a held response: in `held`)
        self.cancelling: list[Request] = []  # ... of which a cancel had been asked

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    def tick(self) -> int:
        self._seq += 1
        return self._seq

    def page_for(self, url: str, attempt: int = 0) -> Page:
        pages = self.answers[url]
        return pages[min(attempt, len(pages) - 1)]

    # hooks for the test module

    def throw(self, error: aiohttp.ClientConnectionError, refused: bool) -> NoReturn:
        """Raise a connection error of the mocked web: `refused` for a URL not served, else
        an unreachable page's. Override it to raise from a function of the test module."""
        raise error

    def too_many(self, url: str) -> str:
        """The message for a request beyond `max_requests` to `url`."""
        return f"request number {self.sent[url]} to {url!r}: more than {self.max_requests}"

    def shown(self, url: str) -> str:
        """A URL as the hygiene messages name it (quoted by them): override to shorten it."""
        return url

    one_session = "Open one session for the whole call and make every request through it"
    # ... the advice of the "one session per request" message (a crawler says where it goes)

    # set-up and clean-up

    async def __aenter__(self) -> Web:
        web = self
        original_init = aiohttp.ClientSession.__init__
        original_close = aiohttp.ClientSession.close

        @functools.wraps(original_init)
        def init(session, *args, **kwargs):
            original_init(session, *args, **kwargs)
            connector = getattr(session, "connector", None)
            web.sessions.append(
                Session(
                    session,
                    web.now(),
                    web.tick(),
                    timeout=getattr(session, "timeout", None),
                    limit=getattr(connector, "limit", 0) or 0,
                    limit_per_host=getattr(connector, "limit_per_host", 0) or 0,
                )
            )

        @functools.wraps(original_close)
        async def close(session):
            for made in web.sessions:
                if made.session is session and made.closed_seq is None:
                    made.closed, made.closed_seq = web.now(), web.tick()
                    made.cancelling = tuple(
                        r
                        for r in web.requests
                        if r.session is session
                        and r.done_seq is None
                        and r.task is not None
                        and r.task.cancelling()
                    )
            return await original_close(session)

        self._patches = [
            mock.patch.object(aiohttp.ClientSession, "__init__", init),
            mock.patch.object(aiohttp.ClientSession, "close", close),
        ]
        for patch in self._patches:
            patch.start()
        self._factory = self.loop.get_task_factory()
        if self.tasks_in_order:
            count = itertools.count()
            self.loop.set_task_factory(
                lambda loop, coro, **kwargs: Task(coro, loop=loop, order=next(count), **kwargs)
            )
        self.mock = _Mocked(self)
        self.mock.start()
        self.mock.serve(self._serve)
        await asyncio.sleep(0)  # the set-up and the learner's first step: two short steps
        return self

    async def __aexit__(self, *exc_info) -> None:
        try:
            left = {
                r.task
                for r in self.requests
                if r.done_seq is None and r.task is not None and not r.task.done()
            }
            left.discard(asyncio.current_task())
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left, timeout=1)
            for made in self.sessions:
                if not made.session.closed:
                    await made.session.close()
        finally:
            self.mock.stop()
            for patch in reversed(self._patches):
                patch.stop()
            if self.tasks_in_order:
                self.loop.set_task_factory(self._factory)

    def served_url(self, requested: URL) -> str | None:
        """The served URL that a requested one (as aioresponses normalised it) stands for."""
        if self.loose_urls:
            return self.by_url_key.get(requested)
        return self.by_key.get(str(requested))

    async def _serve(self, requested: URL, **kwargs) -> CallbackResult:
        url = self.served_url(requested)
        if url is None:
            self.unknown.append(str(requested))
            self.throw(aiohttp.ClientConnectionError(f"Connection refused: GET {requested}"), True)
        attempt = self.sent[url]
        self.sent[url] += 1
        served = self.page_for(url, attempt)
        request = Request(
            self,
            url,
            attempt,
            served,
            self.now(),
            self.tick(),
            _SESSION.get(),
            asyncio.current_task(),
        )
        self.requests.append(request)
        self.by_url.setdefault(url, []).append(request)
        self.in_flight += 1
        if self.in_flight > self.peak:
            self.peak, self.peak_at, self.peak_seq = self.in_flight, request.start, self._seq
        if self.max_requests and self.sent[url] > self.max_requests:
            request.leave()
            self.runaway = self.too_many(url)
            pytest.fail(self.runaway, pytrace=False)
        try:
            await asyncio.sleep(served.latency)
            if served.after:
                await self.just_after(served.after)
        except asyncio.CancelledError:
            try:
                for _ in range(self.cancel_steps):
                    await asyncio.sleep(0)
            finally:
                request.cancelled = self.now()
                request.leave()
                request.end_seq = request.finished_seq
            raise
        request.answered, request.answered_seq = self.now(), self.tick()
        request.end_seq = request.answered_seq
        if served.unreachable:
            request.leave()
            self.throw(
                aiohttp.ClientConnectionError(f"Cannot connect to host {requested.host}"), False
            )
        _ANSWERING.set(request)
        headers = dict(served.headers)
        if served.retry_after is not None:
            headers["Retry-After"] = served.retry_after
        return CallbackResult(
            status=served.status,
            body=served.body,
            content_type=served.content_type,
            headers=headers or None,
            response_class=_Response,
            reason=HTTPStatus(served.status).phrase,  # aiohttp's raise_for_status needs one
        )

    async def just_after(self, url: str) -> None:
        """Wait, without loop time, until every task that requested `url` has ended."""
        for _ in range(100):  # bounded: the task may be the caller's own, which waits for this
            tasks = [r.task for r in self.requests if r.url == url and r.task is not None]
            if tasks and all(task.done() for task in tasks):
                return
            await asyncio.sleep(0)

    # what happened

    def took(self) -> float:
        assert self.ended is not None
        return round(self.ended - self.began, 6)

    def calls(self) -> Counter:
        return Counter(r.url for r in self.requests)

    def to(self, url: str) -> list[Request]:
        """The requests sent to `url`, in the order they were sent."""
        return self.by_url.get(url, [])

    def in_flight_at(self, seq: int, requests: list[Request] | None = None) -> list[Request]:
        """The requests in flight just after event number `seq`."""
        return [
            r
            for r in (self.requests if requests is None else requests)
            if r.start_seq <= seq and (r.finished_seq is None or r.finished_seq > seq)
        ]

    def peak_of(self, requests: list[Request]) -> int:
        """The most of `requests` in flight at the same moment."""
        return max((len(self.in_flight_at(r.start_seq, requests)) for r in requests), default=0)

    # hygiene: sessions, requests and responses the learner's call left behind. Each check
    # fails the test (pytest.fail, no traceback) with `where` (the scene, e.g. "3 pages: ")
    # before the story, and `fn` naming the learner's function as "crawl()".

    def note_end(self, verb: str = "returned") -> None:
        """Note the moment the learner's call ended (`verb`: "returned", "raised"...), and
        what was still running, held and being cancelled then."""
        self.ended, self.ended_seq, self.verb = self.now(), self.tick(), verb
        self.held = [r for r in self.requests if r.response and not (r.released or r.read)]
        self.running = [
            r
            for r in self.requests
            if r.done_seq is None and not (self.held_until_read and r.response)
        ]
        self.cancelling = [r for r in self.running if r.task is not None and r.task.cancelling()]

    def check_own_session(self, where: str, fn: str) -> None:
        """A call that opens its own session: every request through one session it opened."""
        mine = [made.session for made in self.sessions]
        foreign = [r for r in self.requests if not any(r.session is s for s in mine)]
        if foreign:
            pytest.fail(
                f"{where}{fn} made its request to {self.shown(foreign[0].url)!r} through a "
                "session that it had not opened during this call (one made when the module was "
                "imported, or kept from an earlier call?). Open the session in each call, "
                "make every request through it and close it before you return.",
                pytrace=False,
            )
        if len(self.sessions) > 1:
            per = Counter(id(r.session) for r in self.requests)
            each = len(self.requests) > 1 and all(n == 1 for n in per.values())
            pytest.fail(
                f"{where}{fn} opened {len(self.sessions)} aiohttp.ClientSession objects for "
                f"{checks.count(len(self.requests), 'request')}"
                + (", one per request" if each else "")
                + f". {self.one_session}: a session is a pool of connections, meant to be "
                "shared (aiohttp's docs: don't create a session per request).",
                pytrace=False,
            )

    def check_given_session(self, where: str, fn: str, given: aiohttp.ClientSession) -> None:
        """A call handed a session: it opens none, uses that one only, and leaves it open."""
        if [s for s in self.sessions if s.session is not given]:
            pytest.fail(
                f"{where}{fn} opened an aiohttp.ClientSession of its own, though it was given "
                "one: make every request through the session it is given (the caller's pool "
                "of connections), and open none.",
                pytrace=False,
            )
        foreign = [r for r in self.requests if r.session is not given]
        if foreign:
            pytest.fail(
                f"{where}{fn} made its request to {self.shown(foreign[0].url)!r} through "
                "another session than the one it was given (one kept at module level?): use "
                "the `session` argument.",
                pytrace=False,
            )
        if given.closed:
            pytest.fail(
                f"{where}{fn} closed the session it was given: the session is the caller's, "
                "who goes on using it for other requests. Use it, don't close it (no `async "
                "with session:` inside the function).",
                pytrace=False,
            )

    def check_running(self, where: str, fn: str, cancelled: bool = False) -> None:
        """No request still running when the call ended (`cancelled`: the test had cancelled
        the call)."""
        if not self.running:
            return
        first = self.running[0]
        url, when = self.shown(first.url), f"when {fn} {self.verb} at {self.ended:.10g} s"
        if first in self.cancelling:
            pytest.fail(
                f"{where}the request to {url!r} had been cancelled but had not yet ended "
                f"{when}: task.cancel() only asks. Wait for the cancelled tasks too (`await "
                "asyncio.wait(pending)`, or `await asyncio.gather(*pending, "
                "return_exceptions=True)`) before you return, so that nothing is left running.",
                pytrace=False,
            )
        sent = f"(sent at {first.start:.10g} s, it takes {first.page.latency:.10g} s)"
        if cancelled:
            pytest.fail(
                f"{where}the request to {url!r} {sent} was still running {when}, though {fn} "
                "had been cancelled: the tasks you start are yours to cancel. gather and "
                "TaskGroup cancel their tasks when they are cancelled; asyncio.wait, "
                "as_completed and a plain create_task do not: cancel your tasks in a "
                "`finally:` and wait for them there.",
                pytrace=False,
            )
        pytest.fail(
            f"{where}the request to {url!r} {sent} was still running {when}, and nothing had "
            "cancelled it: the requests you no longer need are yours to cancel (task.cancel()) "
            "and to wait for, before you return.",
            pytrace=False,
        )

    def check_closed_sessions(self, where: str) -> None:
        """No request still running when the session it went through was closed."""
        for request in self.requests:
            made = next((s for s in self.sessions if s.session is request.session), None)
            if made is None or made.closed_seq is None:
                continue
            if request.done_seq is not None and request.done_seq <= made.closed_seq:
                continue
            if self.held_until_read and request.response:
                continue  # a response left unreleased: check_released tells it
            url = self.shown(request.url)
            if request in made.cancelling:
                pytest.fail(
                    f"{where}the request to {url!r} had been cancelled but had not yet ended "
                    f"when its session was closed (at {made.closed:.10g} s): task.cancel() "
                    "only asks. Wait for the cancelled tasks (`await asyncio.wait(pending)`, "
                    "or `await asyncio.gather(*pending, return_exceptions=True)`) before the "
                    "session closes, so that nothing is left running.",
                    pytrace=False,
                )
            pytest.fail(
                f"{where}the request to {url!r} was still running when its session was closed "
                f"(at {made.closed:.10g} s): a request must have ended (answered, or been "
                "cancelled AND awaited) before its session closes.",
                pytrace=False,
            )

    def check_sessions_closed(self, where: str, fn: str) -> None:
        """Every session the call opened was closed before it ended."""
        assert self.ended_seq is not None, "note_end() first"
        if [s for s in self.sessions if s.closed_seq is None or s.closed_seq > self.ended_seq]:
            pytest.fail(
                f"{where}the aiohttp.ClientSession that {fn} opened was still open when it "
                f"{self.verb}: close it before you return. `async with "
                "aiohttp.ClientSession() as session:` closes it on the way out, whatever "
                "happens (an error, a cancellation).",
                pytrace=False,
            )

    def check_released(self, where: str, fn: str) -> None:
        """Every response released or read to its end when the call ended."""
        if self.held:
            first = self.held[0]
            pytest.fail(
                f"{where}the response to GET {self.shown(first.url)!r} (status "
                f"{first.page.status}) had been neither released nor read to its end when "
                f"{fn} {self.verb}: it still held its connection. Use every response as "
                "`async with session.get(url) as response:`, which releases it on the way "
                "out, whatever you did with it.",
                pytrace=False,
            )
