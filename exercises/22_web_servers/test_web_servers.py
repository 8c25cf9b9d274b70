"""Exercise 22 tests. Run them with `pytest exercises/22`.

Each test builds the learner's application with `make_app(services)`, where `services` is a
fake of the test's own: its coroutines answer after a delay of loop time and record when each
call began, ended or was cancelled. aiohttp's TestServer serves the application on 127.0.0.1
inside the test's event loop and its TestClient makes the requests, so every duration is exact
loop time. A handler that raises is caught on its way out (an outer middleware of the test's):
the message then shows the handler's exception and the line it came from, not just "500".
"""

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aiokata import checks, exercise_module, guards
from aiokata.checks import fail
from aiokata.web import warm_up

web_servers = exercise_module(__file__)


async def warm_up_once() -> None:
    """Pay aiohttp's first-use costs (the server's and the client's first request, JSON both
    ways) once, at import: see aiokata.web.warm_up."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(await request.json(), status=201)

    app = web.Application()
    app.router.add_post("/{name}", answer)
    async with TestClient(TestServer(app)) as client:
        async with client.post("/warm-up", json={"a": [1]}) as response:
            await response.json()


warm_up(warm_up_once)


# --- the fake services ---------------------------------------------------------------------


class ServiceDown(Exception):
    """What a fake service raises when the test makes it fail."""


@dataclass
class Call:
    name: str  # "item", "save", "price", "stock"
    arg: object
    start: float
    end: float | None = None
    cancelled: float | None = None


@dataclass
class Services:
    """The fake services the test hands to make_app(). `items` maps a sku to what item()
    answers (a missing sku answers None); each *_delay is the loop time a call takes, or a
    function of its argument. `price_fails`/`stock_fails` make that service raise
    ServiceDown when its delay is over."""

    items: dict = field(default_factory=dict)
    item_delay: object = 0
    save_delay: object = 0
    prices: dict = field(default_factory=dict)
    price_delay: object = 0
    price_fails: bool = False
    stocks: dict = field(default_factory=dict)
    stock_delay: object = 0
    stock_fails: bool = False
    calls: list = field(default_factory=list)
    saved: list = field(default_factory=list)
    save_started: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.t0 = asyncio.get_running_loop().time()

    def now(self) -> float:
        return round(asyncio.get_running_loop().time() - self.t0, 6)

    def of(self, name: str) -> list:
        return [c for c in self.calls if c.name == name]

    async def _call(self, name: str, arg: object, delay: object, fails: bool = False) -> None:
        call = Call(name, arg, self.now())
        self.calls.append(call)
        wait = delay(arg) if callable(delay) else delay
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            call.cancelled = self.now()
            raise
        call.end = self.now()
        if fails:
            raise ServiceDown(f"the {name} service is down")

    async def item(self, sku: str) -> dict | None:
        await self._call("item", sku, self.item_delay)
        found = self.items.get(sku)
        return json.loads(json.dumps(found)) if found is not None else None  # a fresh copy

    async def save(self, order: dict) -> None:
        self.save_started.set()
        copy = json.loads(json.dumps(order)) if _jsonable(order) else order
        await self._call("save", copy, self.save_delay)
        self.saved.append(copy)

    async def price(self, sku: str) -> float:
        await self._call("price", sku, self.price_delay, self.price_fails)
        return self.prices[sku]

    async def stock(self, sku: str) -> int:
        await self._call("stock", sku, self.stock_delay, self.stock_fails)
        return self.stocks[sku]


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# --- the server and the client -------------------------------------------------------------


@dataclass
class Reply:
    method: str
    path: str
    status: int
    content_type: str
    text: str
    at: float  # loop time the answer came, since the server started
    label: str = ""  # how the messages name the request, when not "METHOD path"

    @property
    def what(self) -> str:
        return self.label or f"{self.method} {self.path}"

    def json(self) -> object:
        try:
            return json.loads(self.text)
        except ValueError:
            fail(
                f"{self.what} answered {self.status} with a body that is not JSON: "
                f"{self.text[:200]!r}. Answer with web.json_response(...)."
            )


def _raised(exc: BaseException) -> str:
    """An exception as "KeyError: 'sku'", or just "TimeoutError" when it has no text."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    """The learner's line an exception came from, as "web_servers.py:12, in get_item"."""
    mine = "web_servers.py"  # the learner's file, wherever it is (a solution, a submission)
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if mine and Path(frame.filename).name == mine:
            return f"{mine}:{frame.lineno}, in {frame.name}: `{(frame.line or '').strip()}`"
    if frames:
        last = frames[-1]
        return f"{Path(last.filename).name}:{last.lineno}, in {last.name}"
    return "an unknown place"


_APPS_MADE: list[web.Application] = []  # every app make_app() returned in this test's process


class Server:
    """`async with Server(services) as server:` builds make_app(services), serves it on
    127.0.0.1 and makes requests with server.get/post; it notes every exception a handler
    let out."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.raised: list[tuple[str, BaseException]] = []
        # How each handler ended, in the order they ended: (request, outcome), the outcome
        # "cancelled", or the status it answered with after a cancel() ("answered 499 ...").
        self.ended: list[tuple[str, str]] = []

    async def __aenter__(self) -> "Server":
        app = web_servers.make_app(self.services)
        if not isinstance(app, web.Application):
            fail(
                f"make_app() returned {type(app).__name__} ({app!r}); the contract promises "
                "an aiohttp.web.Application: build one with web.Application() and return it."
            )
        if any(app is made for made in _APPS_MADE) or app.frozen:
            fail(
                "make_app() returned an Application it had returned before (one that a "
                "server already runs): each call builds and returns a new web.Application(), "
                "with its own services and orders. Do not keep the app in a global."
            )
        _APPS_MADE.append(app)
        server = self

        @web.middleware
        async def note_errors(request, handler):
            what = f"{request.method} {request.path}"
            try:
                response = await handler(request)
            except web.HTTPException:
                raise
            except asyncio.CancelledError:
                server.ended.append((what, "cancelled"))
                raise
            except Exception as exc:
                server.raised.append((what, exc))
                raise
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                text = getattr(response, "text", None) or ""
                server.ended.append((what, f"answered {response.status} {text[:200]!r}"))
            return response

        app.middlewares.insert(0, note_errors)
        # aiohttp logs each exception a handler lets out; note_errors has it already, and
        # the message shows it: the log's traceback would only repeat it.
        self.server_log = logging.getLogger("aiohttp.server")
        self.server_log_was = self.server_log.disabled
        self.server_log.disabled = True
        self.client = TestClient(TestServer(app))
        await self.client.__aenter__()
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        return self

    async def __aexit__(self, *exc_info) -> None:
        try:
            await self.client.__aexit__(*exc_info)
        finally:
            self.server_log.disabled = self.server_log_was
        stopped = guards.current().blocking_calls
        if exc_info[0] is None and stopped:  # a blocking call the handler caught and hid
            fail(stopped[0])

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    def check_the_cancel_got_out(self, what: str, story: str) -> None:
        """Fail if the handler of `what`, cancelled because its client gave up, answered
        instead of ending cancelled. `story` says what happened, for the message."""
        for request, outcome in self.ended:
            if request == what and outcome != "cancelled":
                fail(
                    f"{story}, and aiohttp cancelled its handler; the handler did not end "
                    f"cancelled: the CancelledError never got out of it, and it {outcome} "
                    "instead, to a client that had gone. Likely an `except "
                    "asyncio.CancelledError:` or `except BaseException:` that answers instead "
                    "of letting the cancellation out. "
                    "Let it out: clean up if you must, then `raise` it again."
                )

    async def request(self, method: str, path: str, label: str = "", **kwargs) -> Reply:
        async with self.client.request(method, path, **kwargs) as response:
            text = await response.text()
            reply = Reply(
                method, path, response.status, response.content_type, text, self.now(), label
            )
        if reply.status >= 500:
            self.explain_500(reply)
        return reply

    def explain_500(self, reply: Reply) -> None:
        for what, exc in reversed(self.raised):  # the latest first: this reply's
            if what.split(" ")[0] != reply.method:
                continue
            if type(exc).__name__ == "BlockingCallError":
                fail(f"{reply.what} answered {reply.status}: {exc}")
            hint = ""
            if isinstance(exc, NotImplementedError):
                hint = " That handler is not written yet."
            elif isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
                hint = (
                    " The body was not valid JSON: catch that (json.JSONDecodeError and "
                    "UnicodeDecodeError are both ValueErrors) and answer 400 with a JSON error."
                )
            elif isinstance(exc, BaseExceptionGroup):
                inner = exc.exceptions[0]
                hint = (
                    f" It holds {_raised(inner)}. A TaskGroup raises what its tasks raised in "
                    "an ExceptionGroup: catch it with `except ExceptionGroup:` and answer 502 "
                    "with a JSON error. (With `except* Exception:`, set a flag in the block "
                    "and answer after it: a `return` inside `except*` is a SyntaxError.)"
                )
            elif isinstance(exc, TimeoutError):
                hint = (
                    " A time limit ran out (asyncio.wait_for, asyncio.timeout): the contract "
                    "sets none, since a service may legally take a day. Set no time limit of "
                    "your own."
                )
            elif isinstance(exc, KeyError):
                hint = " A key that is not there: a missing field, or an unknown id."
            fail(
                f"{reply.what} answered {reply.status}: your handler raised {_raised(exc)} "
                f"(at {_where(exc)}).{hint} A handler never lets an exception out: it answers "
                "with the status and JSON error the contract names."
            )
        if reply.status == 500:
            fail(
                f"{reply.what} answered 500 {reply.text[:200]!r}; the contract never asks "
                "for a 500."
            )

    async def get(self, path: str, **kwargs) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> Reply:
        return await self.request("POST", path, **kwargs)


def expect(
    reply: Reply,
    status: int,
    body: object,
    likely: str = "",
    likely_body: str | Callable[[object], str] = "",
) -> None:
    """Fail unless the reply has this status, a JSON content type and this body. `likely`
    names the probable mistake when the status is wrong; `likely_body` (or a function of the
    body that came) when the status is right but the body is not."""
    if reply.status != status:
        fail(
            f"{reply.what} answered {reply.status} {reply.text[:200]!r}; expected {status}"
            + (f" with {body!r}." if body is not ... else ".")
            + (f" {likely}" if likely else "")
        )
    if reply.content_type != "application/json":
        fail(
            f"{reply.what} answered with Content-Type {reply.content_type!r}; expected "
            "'application/json'. Answer with web.json_response(data, status=...), which sets "
            "it: web.Response(text=json.dumps(...)) says text/plain, and so does a bare "
            "web.HTTPNotFound() or other web.HTTPException."
        )
    got = reply.json()
    if body is not ... and got != body:
        hint = likely_body(got) if callable(likely_body) else likely_body
        fail(
            f"{reply.what} answered {status} with {got!r}; expected {body!r}."
            + difference(got, body)
            + (f" {hint}" if hint else "")
        )


def difference(got: object, expected: object) -> str:
    """What sets a JSON answer apart from the expected one, in a sentence (or "")."""
    if isinstance(got, dict) and len(got) == 1 and next(iter(got.values())) == expected:
        (key,) = got
        return f" The expected answer came wrapped in {{{key!r}: ...}}: answer it as it is."
    if not (isinstance(got, dict) and isinstance(expected, dict)):
        return ""
    parts = []
    extra = [k for k in got if k not in expected]
    missing = [k for k in expected if k not in got]
    if extra:
        parts.append(f"it has {_keys(extra)} that the expected answer has not")
    if missing:
        parts.append(f"it lacks {_keys(missing)}")
    for key in expected:
        if key in got and got[key] != expected[key]:
            parts.append(f"its {key!r} is {got[key]!r}, not {expected[key]!r}")
    return f" Compared with it, {'; '.join(parts)}." if parts else ""


def _keys(keys: list) -> str:
    names = ", ".join(repr(k) for k in keys)
    return f"the key{'s' if len(keys) > 1 else ''} {names}"


def expect_error(reply: Reply, status: int, likely: str = "") -> str:
    """Fail unless the reply is `status` with a JSON object {"error": a non-empty str}."""
    expect(reply, status, ..., likely)
    got = reply.json()
    if not (isinstance(got, dict) and isinstance(got.get("error"), str) and got["error"]):
        fail(
            f"{reply.what} answered {status} with {got!r}; expected a JSON object whose "
            "'error' is a non-empty string that says what went wrong."
        )
    return got["error"]


TEA = {"sku": "tea", "name": "Green tea", "price": 3.5, "tags": ["hot", "green"]}


def calls_likely(services: Services, name: str, expected: list) -> str:
    got = [c.arg for c in services.of(name)]
    if len(got) < len(expected):
        return (
            f"The {name} service was asked {checks.count(len(got), 'time')}, not "
            f"{len(expected)}: each request asks it afresh (no cache of earlier answers)."
        )
    if len(got) > len(expected):
        return f"The {name} service was asked more often than once per request: {got!r}."
    return f"The {name} service is asked with the path's value exactly as it came."


# --- Task 1: GET /items/{sku} --------------------------------------------------------------


@pytest.mark.task(1)
async def test_an_item_is_answered_as_json():
    services = Services(items={"tea": TEA})
    async with Server(services) as server:
        expect(
            await server.get("/items/tea"),
            200,
            TEA,
            "item('tea') answered an item: answer it with 200.",
            "Answer the item() service's dict as it is.",
        )
        checks.equal(
            [c.arg for c in services.of("item")],
            ["tea"],
            "The skus the item service was asked for by GET /items/tea",
            calls_likely(services, "item", ["tea"]),
        )


@pytest.mark.task(1)
async def test_an_unknown_item_is_a_404_with_a_json_error():
    async with Server(Services(items={"tea": TEA})) as server:
        expect_error(
            await server.get("/items/coffee"),
            404,
            "item() answered None: no such item. Answer 404 with {'error': '...'}.",
        )


@pytest.mark.task(1)
async def test_an_item_of_falsy_values_is_an_item():
    items = {"zero": {"name": "", "qty": 0, "tags": [], "note": None}, "blank": {}}
    async with Server(Services(items=items)) as server:
        for sku, item in items.items():
            expect(
                await server.get(f"/items/{sku}"),
                200,
                item,
                f"item({sku!r}) answered {item!r}, an item all the same: only None means "
                "no such item (`if item is None:`, not `if not item:`).",
                "Answer the item() service's dict as it is.",
            )


@pytest.mark.task(1)
async def test_the_sku_is_taken_from_the_path_exactly():
    skus = ["café au lait", "Tea-01", "茶", "0"]
    items = {sku: {"sku": sku, "n": n} for n, sku in enumerate(skus)}
    services = Services(items=items)
    async with Server(services) as server:
        for sku in skus:
            expect(await server.get(f"/items/{sku}"), 200, items[sku])
        checks.equal(
            [c.arg for c in services.of("item")],
            skus,
            "The skus the item service was asked for",
            calls_likely(services, "item", skus),
        )


@pytest.mark.task(1)
async def test_each_request_asks_the_item_service_once():
    services = Services(items={"tea": TEA}, item_delay=1)
    async with Server(services) as server:
        for _ in range(2):
            expect(await server.get("/items/tea"), 200, TEA)
        checks.equal(
            [c.arg for c in services.of("item")],
            ["tea", "tea"],
            "The skus the item service was asked for by GET /items/tea twice",
            calls_likely(services, "item", ["tea", "tea"]),
        )


@pytest.mark.task(1)
async def test_three_requests_at_once_take_the_time_of_one():
    items = {sku: {"sku": sku} for sku in ("a", "b", "c")}
    services = Services(items=items, item_delay=1)
    async with Server(services) as server:
        replies = await asyncio.gather(*(server.get(f"/items/{sku}") for sku in items))
        for reply, sku in zip(replies, items, strict=True):
            expect(reply, 200, items[sku])
        last = max(r.at for r in replies)
        if last != 1:
            calls = services.of("item")
            starts = sorted(c.start for c in calls)
            fail(
                "Three GET /items/... at once, with an item service that takes 1 s: the last "
                f"answer came at {last:g} s of loop time; expected 1 s."
                + (
                    f" The item service was asked {checks.count(len(calls), 'time')} for "
                    "three requests: once each."
                    if len(calls) != 3
                    else " The three lookups began at "
                    + ", ".join(f"{t:g}" for t in starts)
                    + " s: each waited for the one before it (a lock held across the lookup, "
                    "or one request waiting for another). Await the service directly in each "
                    "request: requests run at the same time."
                    if starts != [0, 0, 0]
                    else ""
                )
            )


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_item_lookup_is_waited_for():
    services = Services(items={"tea": TEA}, item_delay=86_400)
    async with Server(services) as server:
        reply = await server.get("/items/tea", timeout=aiohttp.ClientTimeout(total=None))
        expect(
            reply,
            200,
            TEA,
            "A lookup may legally take a day: set no time limit of your own.",
            "Answer the item() service's dict as it is.",
        )
        asked = len(services.of("item"))
        checks.took(
            reply.at,
            86_400,
            "GET /items/tea with a lookup that takes a day",
            {reply.at: f"The item service was asked {asked} times for one request."}
            if asked > 1
            else {},
        )


@pytest.mark.task(1)
async def test_two_apps_use_their_own_services():
    first = Services(items={"tea": {"from": "the first app's services"}})
    second = Services(items={"tea": {"from": "the second app's services"}})
    async with Server(first) as one, Server(second) as two:
        for server, services in ((one, first), (two, second), (one, first)):
            other = second if services is first else first
            expect(
                await server.get("/items/tea"),
                200,
                services.items["tea"],
                likely_body=lambda got, other=other: (
                    "That is what the other application's item service answers. Two "
                    "applications at once, each made with its own services: keep each app's "
                    "services in the app (app[key] = services) or a closure, not in a global "
                    "that the next make_app() call overwrites."
                    if got == other.items["tea"]
                    else "Answer the item() service's dict as it is."
                ),
            )


@pytest.mark.task(1)
async def test_a_request_its_client_gave_up_on_cancels_the_lookup():
    services = Services(items={"tea": TEA}, item_delay=5)
    async with Server(services) as server:
        with contextlib.suppress(asyncio.TimeoutError):
            reply = await server.get("/items/tea", timeout=aiohttp.ClientTimeout(total=1))
            fail(f"GET /items/tea answered {reply.status} before the client's 1 s timeout.")
        await asyncio.sleep(1)
        story = "The client gave up on GET /items/tea at 1 s (the item service takes 5 s)"
        calls = services.of("item")
        checks.equal(len(calls), 1, "Calls of item() for one GET /items/tea")
        (call,) = calls
        if call.cancelled is None:
            fail(
                f"{story}, which cancels its handler; yet the item() call was "
                + (f"left running and ended at {call.end:g} s." if call.end else "still running.")
                + " Await the service inside the handler (no shield, no task of its own)."
            )
        server.check_the_cancel_got_out("GET /items/tea", story)


# --- Task 2: POST /orders and GET /orders/{id} ---------------------------------------------


def order_likely(got: object, order: dict) -> str:
    """What an answer that is not `order` (the order a good POST makes) says, when it can."""
    if not isinstance(got, dict):
        return "A good POST answers the new order, a JSON object."
    hints = []
    if any(k not in order for k in got):
        hints.append("other keys of the body are ignored: the order is {'id', 'sku', 'qty'}")
    if got.get("id") != order["id"] and type(got.get("id")) is int:
        hints.append(
            "every POST makes a new order (the same body twice makes two), with the next id: "
            "1, 2, 3 in each application"
        )
    return (hints[0][0].upper() + "; ".join(hints)[1:] + ".") if hints else ""


def saved_likely(services: Services, expected: list) -> str:
    if len(services.saved) > len(expected):
        if all(order in expected for order in services.saved):
            return (
                "Some orders were saved more than once: await save() once per order (awaiting "
                "it twice, or a retry, saves it twice)."
            )
        return "save() was called for a body that is not a good order: validate first."
    if len(services.saved) < len(expected):
        return "Every good order is saved with `await services.save(order)`, once."
    return (
        "save() gets the order exactly as the 201 answers it: {'id': ..., 'sku': ..., 'qty': ...}."
    )


async def post_json(server: Server, body: object, label: str = "") -> Reply:
    return await server.post("/orders", json=body, label=label)


@pytest.mark.task(2)
async def test_a_good_order_is_created_with_201_and_saved():
    services = Services()
    async with Server(services) as server:
        order = {"id": 1, "sku": "tea", "qty": 2}
        expect(
            await post_json(server, {"sku": "tea", "qty": 2}),
            201,
            order,
            "A POST that creates something answers 201 Created (web.json_response(order, "
            "status=201)), with the order and its new id.",
            "The 201 answers the new order {'id': ..., 'sku': ..., 'qty': ...}, id an integer, "
            "and nothing else.",
        )
        checks.equal(
            services.saved, [order], "The orders save() was given", saved_likely(services, [order])
        )
        expect(
            await server.get("/orders/1"),
            200,
            order,
            "GET /orders/1 answers the order made.",
            "GET /orders/1 answers the order made, exactly as the POST answered it.",
        )


@pytest.mark.task(2)
async def test_orders_get_ids_one_two_three_even_for_the_same_body():
    services = Services()
    bodies = [
        {"sku": "tea", "qty": 1},
        {"sku": "tea", "qty": 1},
        {"sku": "茶 vert ☕", "qty": 10**12, "note": "a key no order has"},
    ]
    orders = [{"id": n, "sku": b["sku"], "qty": b["qty"]} for n, b in enumerate(bodies, 1)]
    async with Server(services) as server:
        for body, order in zip(bodies, orders, strict=True):
            expect(
                await post_json(server, body),
                201,
                order,
                "Every POST of a good body makes a new order and answers 201 with it.",
                lambda got, order=order: order_likely(got, order),
            )
        for order in orders:
            expect(await server.get(f"/orders/{order['id']}"), 200, order)
        checks.equal(
            services.saved, orders, "The orders save() was given", saved_likely(services, orders)
        )


@pytest.mark.task(2)
async def test_an_unknown_order_is_a_404():
    async with Server(Services()) as server:
        expect_error(await server.get("/orders/1"), 404, "No order has been made yet.")
        expect(
            await post_json(server, {"sku": "tea", "qty": 1}),
            201,
            {"id": 1, "sku": "tea", "qty": 1},
        )
        for path in ("/orders/2", "/orders/0", "/orders/-1", "/orders/abc", "/orders/1.0"):
            expect_error(
                await server.get(path),
                404,
                "Only /orders/1 exists. An id that is no order, or not a number at all, is a "
                "404 with a JSON error.",
            )


BAD_JSON = [b"not json", b'{"sku": "tea", "qty": 1', b"", b"\xff\xfe{}", b"{'sku': 'tea'}"]


@pytest.mark.task(2)
async def test_a_body_that_is_not_json_is_a_400_not_a_500():
    services = Services()
    async with Server(services) as server:
        for raw in BAD_JSON:
            reply = await server.post(
                "/orders",
                data=raw,
                headers={"Content-Type": "application/json"},
                label=f"POST /orders with the body {raw!r}",
            )
            expect_error(reply, 400, "A body that is not JSON is the client's mistake: 400.")
        checks.equal(services.saved, [], "The orders save() was given", saved_likely(services, []))


NOT_OBJECTS = ["[]", "null", "0", '"tea"', "true", '[{"sku": "tea", "qty": 1}]']


@pytest.mark.task(2)
async def test_json_that_is_not_an_object_is_a_400():
    services = Services()
    async with Server(services) as server:
        for raw in NOT_OBJECTS:
            reply = await server.post(
                "/orders",
                data=raw,
                headers={"Content-Type": "application/json"},
                label=f"POST /orders with the body {raw}",
            )
            expect_error(
                reply,
                400,
                "An order is a JSON object: check isinstance(body, dict) before you look inside.",
            )
        checks.equal(services.saved, [], "The orders save() was given", saved_likely(services, []))


@pytest.mark.task(2)
async def test_a_missing_field_is_a_400_that_names_it():
    services = Services()
    async with Server(services) as server:
        for body, missing in (({"qty": 1}, "sku"), ({"sku": "tea"}, "qty"), ({}, "sku")):
            reply = await post_json(server, body, f"POST /orders with {body!r}")
            message = expect_error(reply, 400, f"The field {missing!r} is missing.")
            if missing not in message:
                fail(
                    f"{reply.what} answered 400 {{'error': {message!r}}}; the error should "
                    f"name the missing field, {missing!r}."
                )
        checks.equal(services.saved, [], "The orders save() was given", saved_likely(services, []))


WRONG_TYPES = [
    {"sku": 5, "qty": 1},
    {"sku": None, "qty": 1},
    {"sku": "", "qty": 1},
    {"sku": ["tea"], "qty": 1},
    {"sku": "tea", "qty": "2"},
    {"sku": "tea", "qty": 2.5},
    {"sku": "tea", "qty": 2.0},
    {"sku": "tea", "qty": True},
    {"sku": "tea", "qty": 0},
    {"sku": "tea", "qty": -1},
    {"sku": "tea", "qty": None},
]


@pytest.mark.task(2)
async def test_a_field_of_the_wrong_type_or_value_is_a_400():
    services = Services()
    async with Server(services) as server:
        for body in WRONG_TYPES:
            reply = await post_json(server, body, f"POST /orders with {body!r}")
            qty = body["qty"]
            likely = (
                "True is a bool, not a quantity, though isinstance(True, int) holds: check "
                "`type(qty) is int`."
                if qty is True
                else "2.0 is a JSON number with a fraction part, a float: 'qty' must be an integer."
                if isinstance(qty, float) and qty == 2.0
                else "'sku' is a non-empty string and 'qty' an integer of at least 1."
            )
            expect_error(reply, 400, likely)
        checks.equal(services.saved, [], "The orders save() was given", saved_likely(services, []))


@pytest.mark.task(2)
async def test_the_201_comes_once_the_order_is_saved():
    services = Services(save_delay=1)
    async with Server(services) as server:
        reply = await post_json(server, {"sku": "tea", "qty": 3})
        expect(reply, 201, {"id": 1, "sku": "tea", "qty": 3})
        calls = services.of("save")
        checks.equal(
            len(calls),
            1,
            "Calls of save() for one POST /orders",
            "Await save() once per order.",
        )
        (call,) = calls
        checks.took(
            reply.at,
            1,
            "POST /orders with a save() that takes 1 s",
            {
                0: "The 201 came before save() had finished: await it (not a task left to run "
                "on its own)."
            },
        )
        checks.equal(call.end, 1.0, "Loop time save() ended")


@pytest.mark.task(2)
async def test_an_order_is_not_found_before_its_save_has_finished():
    services = Services(save_delay=2)
    async with Server(services) as server:
        posting = asyncio.create_task(post_json(server, {"sku": "tea", "qty": 3}))
        await save_begun(services, posting, "POST /orders with {'sku': 'tea', 'qty': 3}")
        early = await server.get(
            "/orders/1", label="GET /orders/1 (sent during the order's 2 s save())"
        )
        reply = await posting
        expect(reply, 201, {"id": 1, "sku": "tea", "qty": 3})
        expect_error(
            early,
            404,
            "The order is made once its save() has finished: until then (and if the save "
            "fails, ever) there is no order 1. Keep the order after `await "
            "services.save(order)`, not before.",
        )
        expect(await server.get("/orders/1"), 200, {"id": 1, "sku": "tea", "qty": 3})


@pytest.mark.task(2)
async def test_the_content_type_of_a_good_body_does_not_matter():
    services = Services()
    async with Server(services) as server:
        raw = b'{"sku": "tea", "qty": 2}'
        for n, headers in enumerate(({"Content-Type": "text/plain"}, {}), 1):
            label = headers.get("Content-Type", "application/octet-stream")
            reply = await server.post(
                "/orders",
                data=raw,
                headers=headers,
                label=f"POST /orders with {raw.decode()} labelled {label}",
            )
            expect(
                reply,
                201,
                {"id": n, "sku": "tea", "qty": 2},
                "The contract judges the body, not its label: a good JSON object is a good "
                "order whatever its Content-Type says (`await request.json()` reads it "
                "either way). Do not check request.content_type.",
            )


MIXES = [
    [{"sku": "tea", "qty": 1}, {"sku": "tea", "qty": 1}, {"sku": "tea", "qty": True}],
    [None, {"sku": "茶 vert", "qty": 2, "note": ""}, [], {"qty": 0}, {"sku": "0", "qty": 3}],
    [{"sku": "", "qty": 1}, {"sku": "cake", "qty": 2.0}, {"sku": "cake", "qty": 10**12}, "{}"],
    [{"sku": " ", "qty": 1}, {"sku": "\t tea \n", "qty": 2}],
]


def good_order(body: object) -> bool:
    """The oracle: is this body a good order?"""
    return (
        isinstance(body, dict)
        and isinstance(body.get("sku"), str)
        and body["sku"] != ""
        and type(body.get("qty")) is int
        and body["qty"] >= 1
    )


@pytest.mark.task(2)
async def test_a_mix_of_good_and_bad_orders():
    earlier = 0  # good orders made in the earlier applications of this test
    for bodies in MIXES:
        earlier += await mix_of_orders(bodies, earlier)


def mix_likely(got: object, order: dict, bad_since: int, earlier: int) -> str:
    """Why a good order of a mix got another id, from the id it got (or ""): `bad_since` bad
    bodies came since the last good order, and `earlier` good orders went to earlier apps."""
    if not (isinstance(got, dict) and type(got.get("id")) is int):
        return order_likely(got, order)
    jump = got["id"] - order["id"]  # the previous good orders got their right ids
    causes = []
    if 0 < jump <= bad_since:
        causes.append(
            f"the {checks.count(bad_since, 'bad body', 'bad bodies')} sent since the last "
            "good order used up ids: take the id only once the body is found good"
        )
    if order["id"] == 1 and earlier and jump == earlier:
        causes.append(
            "each list of bodies goes to a new application, whose ids start at 1: this one "
            f"went on from the {checks.count(earlier, 'order')} of the earlier ones. Keep the "
            "count (and the orders) in the app, not at module level"
        )
    if not causes:
        return "A good order gets the next id: ids count the good orders only, 1, 2, 3."
    if len(causes) == 1:
        return f"Likely {causes[0]}."
    return f"Either {causes[0]}; or {causes[1]}."


async def mix_of_orders(bodies: list, earlier: int) -> int:
    services = Services()
    expected = []
    bad_since = 0  # bad bodies since the last good one
    async with Server(services) as server:
        for body in bodies:
            reply = await post_json(
                server,
                body,
                f"POST /orders with {body!r} (after {checks.count(len(expected), 'good order')})",
            )
            if good_order(body):
                order = {"id": len(expected) + 1, "sku": body["sku"], "qty": body["qty"]}
                expected.append(order)
                sku = body["sku"]
                expect(
                    reply,
                    201,
                    order,
                    f"{sku!r} is a non-empty string, so a good sku: the contract asks nothing "
                    "more of it (no strip(): spaces are characters like any other)."
                    if not sku.strip()
                    else "It is a good order: a JSON object with 'sku', a non-empty string, and "
                    "'qty', an integer of at least 1.",
                    lambda got, order=order, bad=bad_since: mix_likely(got, order, bad, earlier),
                )
                bad_since = 0
            else:
                bad_since += 1
                qty = body.get("qty") if isinstance(body, dict) else None
                expect_error(
                    reply,
                    400,
                    "True and False are bools, not quantities, though isinstance(True, int) "
                    "holds: check `type(qty) is int`."
                    if isinstance(qty, bool)
                    else "An order is a JSON object with 'sku', a non-empty string, and 'qty', "
                    "an integer of at least 1.",
                )
        for order in expected:
            expect(await server.get(f"/orders/{order['id']}"), 200, order)
        expect_error(await server.get(f"/orders/{len(expected) + 1}"), 404)
    checks.equal(
        services.saved,
        expected,
        f"The orders save() was given, with the bodies {bodies!r}",
        saved_likely(services, expected),
    )
    return len(expected)


# --- Task 3: GET /quote/{sku} --------------------------------------------------------------


def quote_services(price_delay: float, stock_delay: float, **kwargs) -> Services:
    return Services(
        prices={"tea": 3.5, "free": 0},
        stocks={"tea": 12, "free": 0},
        price_delay=price_delay,
        stock_delay=stock_delay,
        **kwargs,
    )


def one_after_the_other(services: Services) -> str:
    """What the start times of the price and stock calls say, when they did not overlap."""
    price, stock = services.of("price"), services.of("stock")
    if not (price and stock):
        return ""
    first, second = sorted((price[0], stock[0]), key=lambda c: c.start)
    if first.end is not None and second.start >= first.end:
        return (
            f" The {second.name} call began at {second.start:g} s, when the {first.name} call "
            f"had answered: the two were awaited one after the other. Start both, then wait "
            "for both: asyncio.gather(...) or a TaskGroup."
        )
    return ""


@pytest.mark.task(3)
async def test_a_quote_asks_both_services_at_once():
    services = quote_services(2, 3)
    async with Server(services) as server:
        reply = await server.get("/quote/tea")
        expect(reply, 200, {"sku": "tea", "price": 3.5, "stock": 12})
        if reply.at != 3:
            fail(
                f"GET /quote/tea, with a price service that takes 2 s and a stock service that "
                f"takes 3 s, answered at {reply.at:g} s of loop time; expected 3 s, the slower "
                "of the two." + one_after_the_other(services)
            )


@pytest.mark.task(3)
async def test_the_quote_takes_the_slower_whichever_it_is():
    for price_delay, stock_delay in ((3, 1), (1, 3), (2, 2)):
        services = quote_services(price_delay, stock_delay)
        async with Server(services) as server:
            reply = await server.get("/quote/tea")
            expect(reply, 200, {"sku": "tea", "price": 3.5, "stock": 12})
            slower = max(price_delay, stock_delay)
            if reply.at != slower:
                fail(
                    f"GET /quote/tea with price taking {price_delay} s and stock {stock_delay} s "
                    f"answered at {reply.at:g} s; expected {slower} s."
                    + one_after_the_other(services)
                )


@pytest.mark.task(3)
async def test_a_quote_of_zeros_is_a_quote():
    async with Server(quote_services(1, 1)) as server:
        expect(
            await server.get("/quote/free"),
            200,
            {"sku": "free", "price": 0, "stock": 0},
            "A price of 0 and a stock of 0 are answers, not missing ones.",
        )


@pytest.mark.task(3)
async def test_each_quote_asks_each_service_once():
    services = quote_services(1, 2)
    async with Server(services) as server:
        replies = await asyncio.gather(*(server.get("/quote/tea") for _ in range(3)))
        for reply in replies:
            expect(reply, 200, {"sku": "tea", "price": 3.5, "stock": 12})
        last = max(r.at for r in replies)
        sequential = one_after_the_other(services).strip()
        checks.took(
            last,
            2,
            "Three GET /quote/tea at once, with services of 1 s and 2 s",
            {last: sequential} if sequential else {},
        )
        checks.equal(
            ([c.arg for c in services.of("price")], [c.arg for c in services.of("stock")]),
            (["tea"] * 3, ["tea"] * 3),
            "The skus each service was asked for by three quotes (price, stock)",
            "Each quote asks each service once, with the sku of its path.",
        )


@pytest.mark.task(3)
async def test_a_later_quote_asks_the_services_again():
    services = quote_services(1, 2)
    async with Server(services) as server:
        expect(await server.get("/quote/tea"), 200, {"sku": "tea", "price": 3.5, "stock": 12})
        services.prices["tea"], services.stocks["tea"] = 4.25, 7  # the shop changed meanwhile
        reply = await server.get("/quote/tea", label="A second GET /quote/tea")
        asked = (len(services.of("price")), len(services.of("stock")))
        expect(
            reply,
            200,
            {"sku": "tea", "price": 4.25, "stock": 7},
            likely_body=lambda got: (
                f"It was sent once the first had answered, and for the two quotes price() was "
                f"asked {checks.count(asked[0], 'time')} and stock() "
                f"{checks.count(asked[1], 'time')}: the second answer did not come from "
                "them. Each quote asks both services afresh: no cache of earlier answers (a "
                "price or a stock may change at any time)."
                if asked != (2, 2)
                else ""
            ),
        )
        checks.equal(
            asked,
            (2, 2),
            "Calls of price() and stock() for two quotes, one after the other",
            "Each quote asks each service once, afresh.",
        )


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_stock_count_is_waited_for():
    services = quote_services(1, 86_400)
    async with Server(services) as server:
        reply = await server.get("/quote/tea", timeout=aiohttp.ClientTimeout(total=None))
        expect(
            reply,
            200,
            {"sku": "tea", "price": 3.5, "stock": 12},
            "A service may legally take a day: set no time limit of your own.",
        )
        sequential = one_after_the_other(services).strip()
        checks.took(
            reply.at,
            86_400,
            "GET /quote/tea with a stock service that takes a day",
            {reply.at: sequential} if sequential else {},
        )


async def failed_service(failing: str) -> None:
    other = "stock" if failing == "price" else "price"
    services = quote_services(
        1 if failing == "price" else 5,
        1 if failing == "stock" else 5,
        price_fails=failing == "price",
        stock_fails=failing == "stock",
    )
    async with Server(services) as server:
        reply = await server.get(
            "/quote/tea", label=f"GET /quote/tea (the {failing} service failing)"
        )
        expect_error(
            reply,
            502,
            f"The {failing} service raised ServiceDown at 1 s: a service that fails is a 502 "
            "Bad Gateway with a JSON error (catch the exception; with a TaskGroup it comes in "
            "an ExceptionGroup).",
        )
        if not services.of(other):
            fail(
                f"{reply.what}: the 502 came at {reply.at:g} s, but the {other} service was "
                f"never asked: the price and stock calls were made one after the other, and "
                f"the {failing} call failed first. Ask both at once."
            )
        (call,) = services.of(other)
        (failed,) = services.of(failing)
        if reply.at != 1 and failed.start > 0:
            fail(
                f"{reply.what}: the 502 came at {reply.at:g} s; expected it at 1 s, when a "
                f"{failing} call made at once fails." + one_after_the_other(services)
            )
        if reply.at != 1:
            fail(
                f"{reply.what}: the {failing} service failed at {failed.end:g} s, but the 502 "
                f"came at {reply.at:g} s"
                + (
                    f", once the {other} call had answered: answer as soon as one fails. "
                    "gather(..., return_exceptions=True), or awaiting one call and then the "
                    "other, waits for both first."
                    if call.end is not None and reply.at >= call.end
                    else "."
                )
            )
        await asyncio.sleep(0.5)
        if call.cancelled is None:
            fail(
                f"{reply.what}: the {failing} service failed at 1 s and the 502 came then, "
                f"but the {other} call was still running after the answer (it had not been "
                "cancelled). Nothing cancels it by itself: a plain gather does not when one "
                "call raises, nor does a task of your own, and asyncio.shield keeps it from "
                "being cancelled at all. A TaskGroup cancels it for you; otherwise cancel it "
                "yourself."
            )


@pytest.mark.task(3)
async def test_a_failing_price_service_is_a_502_and_the_stock_call_is_cancelled():
    await failed_service("price")


@pytest.mark.task(3)
async def test_a_failing_stock_service_is_a_502_and_the_price_call_is_cancelled():
    await failed_service("stock")


@pytest.mark.task(3)
async def test_a_quote_its_client_gave_up_on_cancels_both_calls():
    services = quote_services(5, 10)
    async with Server(services) as server:
        with contextlib.suppress(asyncio.TimeoutError):
            reply = await server.get("/quote/tea", timeout=aiohttp.ClientTimeout(total=1))
            fail(f"GET /quote/tea answered {reply.status} before the client's 1 s timeout.")
        await asyncio.sleep(1)
        story = "The client gave up on GET /quote/tea at 1 s (services of 5 s and 10 s)"
        left = [c.name for c in services.calls if c.cancelled is None]
        if left:
            fail(
                f"{story}, which cancels its handler; yet the {' and '.join(left)} call"
                f"{'s were' if len(left) > 1 else ' was'} not cancelled with it. Tasks you "
                "create yourself are yours to cancel: gather or a TaskGroup does it for you."
            )
        server.check_the_cancel_got_out("GET /quote/tea", story)


# --- Task 4: shared state under concurrent requests ----------------------------------------


def slow_then_fast(order: dict) -> float:
    return {"slow": 2, "fast": 1}.get(order.get("sku") if isinstance(order, dict) else None, 0)


async def save_begun(services: Services, posting: asyncio.Task, what: str) -> None:
    """Wait until save() is called, failing if the POST answered first or 5 s went by."""
    started = asyncio.create_task(services.save_started.wait())
    try:
        await asyncio.wait({posting, started}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    finally:
        started.cancel()
        await asyncio.wait({started})
    if services.save_started.is_set():
        return
    if posting.done():
        reply = posting.result()
        expect(reply, 201, ...)
        fail(f"{reply.what} answered {reply.status} without calling save(); expected a save.")
    fail(f"{what} had not called save() after 5 s.")


def order_id(reply: Reply) -> int:
    """The id of the order a POST answered with 201, failing unless it has an integer one."""
    expect(reply, 201, ...)
    got = reply.json()
    if not (isinstance(got, dict) and type(got.get("id")) is int):
        fail(
            f"{reply.what} answered 201 with {got!r}; expected the new order "
            "{'id': ..., 'sku': ..., 'qty': ...}, its id an integer."
        )
    return got["id"]


@pytest.mark.task(4)
async def test_two_orders_at_once_get_different_ids():
    services = Services(save_delay=slow_then_fast)
    async with Server(services) as server:
        first = asyncio.create_task(post_json(server, {"sku": "slow", "qty": 1}))
        await save_begun(services, first, "POST /orders with {'sku': 'slow', 'qty': 1}")
        second = await post_json(server, {"sku": "fast", "qty": 1})
        first = await first
        ids = [order_id(reply) for reply in (first, second)]
        if ids[0] == ids[1]:
            fail(
                "Two POST /orders, the second sent while the first one's save() was still "
                f"running, both got id {ids[0]!r}: one request's update was lost. Likely the "
                "handler read the shared state (the next id, len(orders)) before an await "
                "and wrote it back after, while the other request ran. "
                "Take the id (and count it) before any await, or hold an asyncio.Lock "
                "across the whole update."
            )
        for reply, sku in ((first, "slow"), (second, "fast")):
            order = reply.json()
            expect(
                await server.get(f"/orders/{order['id']}"),
                200,
                {"id": order["id"], "sku": sku, "qty": 1},
                "Each order is kept under its own id.",
                lambda got, sku=sku: (
                    "That is the other order: a later one overwrote it under the same id."
                    if isinstance(got, dict) and got.get("sku") not in (sku, None)
                    else "GET /orders/{id} answers the order exactly as the POST answered it."
                ),
            )
        checks.equal(sorted(ids), [1, 2], "The ids of the first two orders")


@pytest.mark.task(4)
async def test_ten_orders_at_once_are_all_kept():
    services = Services(save_delay=lambda order: (order.get("qty", 0) % 4) / 2)
    bodies = [{"sku": f"sku{n}", "qty": n} for n in range(1, 11)]
    async with Server(services) as server:
        replies = await asyncio.gather(*(post_json(server, body) for body in bodies))
        got = {}
        for reply in replies:
            order_id(reply)
            order = reply.json()
            got.setdefault(order.get("id"), []).append(order)
        twice = {i: o for i, o in got.items() if len(o) > 1}
        if twice:
            i, orders = next(iter(twice.items()))
            fail(
                f"Ten POST /orders at once: {len(orders)} of them got id {i!r} "
                f"({[o.get('sku') for o in orders]!r}). Requests run concurrently, and "
                "updates were lost. Likely the handler read the shared state before an await "
                "and wrote it after. Take the id before any await, or use an asyncio.Lock."
            )
        checks.equal(sorted(got), list(range(1, 11)), "The ids of ten orders made at once")
        for i, (order,) in got.items():
            expect(
                await server.get(f"/orders/{i}"),
                200,
                order,
                "Every order is kept under its id.",
                lambda got, order=order: (
                    "That is another order: one overwrote the other under the same id."
                    if isinstance(got, dict) and got.get("sku") not in (order["sku"], None)
                    else "GET /orders/{id} answers the order exactly as the POST answered it."
                ),
            )
        checks.equal(len(services.saved), 10, "Orders saved")


@pytest.mark.task(4)
async def test_two_apps_save_at_the_same_time():
    first, second = Services(save_delay=2), Services(save_delay=2)
    async with Server(first) as one, Server(second) as two:
        replies = await asyncio.gather(
            post_json(one, {"sku": "tea", "qty": 1}, "POST /orders to the first app"),
            post_json(two, {"sku": "cake", "qty": 2}, "POST /orders to the second app"),
        )
        orders = ({"id": 1, "sku": "tea", "qty": 1}, {"id": 1, "sku": "cake", "qty": 2})
        for reply, order in zip(replies, orders, strict=True):
            expect(reply, 201, order)
        later = max(replies, key=lambda r: r.at)
        if later.at != 2:
            saves = sorted(first.of("save") + second.of("save"), key=lambda c: c.start)
            waited = (
                f" The {'first' if saves[1] in first.of('save') else 'second'} app's save() "
                f"began only at {saves[1].start:g} s, when the other app's had ended: one "
                "application waited for the other."
                if len(saves) == 2 and saves[0].end is not None and saves[1].start >= saves[0].end
                else ""
            )
            counts = (len(first.of("save")), len(second.of("save")))
            fail(
                "Two applications, each with a save() of 2 s, got one POST /orders each at the "
                f"same time; {later.what} answered at {later.at:g} s of loop time, expected 2 s."
                + (
                    f"{waited} Two applications share nothing: likely one asyncio.Lock (or "
                    "other state) at module level, used by every app. If you use a Lock, make "
                    "one per application, in make_app (app[LOCK] = asyncio.Lock())."
                    if waited
                    else f" save() was called {counts[0]} and {counts[1]} times (first app, "
                    "second app): once per order."
                    if counts != (1, 1)
                    else ""
                )
            )


@pytest.mark.task(4)
async def test_two_apps_keep_their_own_orders():
    async with Server(Services()) as one, Server(Services()) as two:
        expect(
            await post_json(one, {"sku": "tea", "qty": 1}), 201, {"id": 1, "sku": "tea", "qty": 1}
        )
        expect_error(
            await two.get("/orders/1"),
            404,
            "An order made in one application showed up in another: keep the orders in "
            "app[...] (created in make_app), not at module level.",
        )
        expect(
            await post_json(two, {"sku": "cake", "qty": 2}),
            201,
            {"id": 1, "sku": "cake", "qty": 2},
            likely_body=lambda got: (
                "Each application counts its own ids from 1: the count lives in the app, not "
                "at module level."
                if isinstance(got, dict) and got.get("id") == 2
                else order_likely(got, {"id": 1, "sku": "cake", "qty": 2})
            ),
        )
        expect(await one.get("/orders/1"), 200, {"id": 1, "sku": "tea", "qty": 1})
