"""Exercise 22, written otherwise: a middleware of the app's own turns BadRequest and Upstream
exceptions (and aiohttp's own 404 for an unknown route) into JSON errors; the state is a
dataclass per app; an `except*` that raises instead of returning; GET /orders/{id} compares
str(id) with the path."""

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


class BadRequest(Exception):
    pass


class Upstream(Exception):
    pass


@dataclass
class State:
    services: object
    orders: dict = field(default_factory=dict)
    last_id: int = 0


STATE = web.AppKey("state", State)


@web.middleware
async def json_errors(request, handler):
    try:
        return await handler(request)
    except BadRequest as e:
        return web.json_response({"error": str(e)}, status=400)
    except Upstream as e:
        return web.json_response({"error": str(e)}, status=502)
    except web.HTTPNotFound:
        return web.json_response({"error": "no such route"}, status=404)


async def get_item(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    item = await request.app[STATE].services.item(sku)
    if item is None:
        return web.json_response({"error": f"no item {sku}"}, status=404)
    return web.json_response(item)


def _check(body) -> tuple[str, int]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    for name in ("sku", "qty"):
        if name not in body:
            raise BadRequest(f"missing field: {name}")
    sku, qty = body["sku"], body["qty"]
    if not isinstance(sku, str) or sku == "":
        raise BadRequest("sku must be a non-empty string")
    if type(qty) is not int or qty < 1:
        raise BadRequest("qty must be an integer >= 1")
    return sku, qty


async def post_order(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError as e:
        raise BadRequest(f"body is not JSON ({type(e).__name__})") from e
    sku, qty = _check(body)
    st = request.app[STATE]
    st.last_id += 1
    order = {"id": st.last_id, "sku": sku, "qty": qty}
    await st.services.save(order)
    st.orders[order["id"]] = order
    return web.json_response(order, status=201)


async def get_order(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    orders = request.app[STATE].orders
    for oid, order in orders.items():
        if str(oid) == raw:
            return web.json_response(order)
    return web.json_response({"error": f"no order {raw}"}, status=404)


async def get_quote(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    svc = request.app[STATE].services
    try:
        async with asyncio.TaskGroup() as tg:
            price = tg.create_task(svc.price(sku))
            stock = tg.create_task(svc.stock(sku))
    except* Exception as eg:
        raise Upstream(f"service failed: {eg.exceptions[0]}") from None
    return web.json_response({"sku": sku, "price": price.result(), "stock": stock.result()})


def make_app(services) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[STATE] = State(services)
    app.router.add_get("/items/{sku}", get_item)
    app.router.add_post("/orders", post_order)
    app.router.add_get("/orders/{id}", get_order)
    app.router.add_get("/quote/{sku}", get_quote)
    return app
