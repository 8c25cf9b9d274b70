"""Exercise 22, written otherwise: errors raised as web.HTTPException subclasses with JSON
bodies, routes given with app.add_routes([web.get(...)]), an `except*` around the TaskGroup,
and a dataclass-free counter kept in a one-item dict of the app."""

import asyncio
import json

from aiohttp import web

STATE = web.AppKey("state", dict)


def json_error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")


async def get_item(request: web.Request) -> web.Response:
    state = request.app[STATE]
    item = await state["services"].item(request.match_info["sku"])
    if item is None:
        raise json_error(web.HTTPNotFound, "no such item")
    return web.json_response(item)


def check(body: object) -> tuple[str, int]:
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "send a JSON object")
    for name in ("sku", "qty"):
        if name not in body:
            raise json_error(web.HTTPBadRequest, f"{name} is missing")
    sku, qty = body["sku"], body["qty"]
    if not isinstance(sku, str) or sku == "":
        raise json_error(web.HTTPBadRequest, "sku must be a non-empty string")
    if qty is True or qty is False or not isinstance(qty, int) or qty < 1:
        raise json_error(web.HTTPBadRequest, "qty must be a whole number, 1 or more")
    return sku, qty


async def post_order(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise json_error(web.HTTPBadRequest, "invalid JSON") from None
    sku, qty = check(body)
    state = request.app[STATE]
    state["last"] += 1  # the id is taken before the await: no other request gets it
    order = {"id": state["last"], "sku": sku, "qty": qty}
    await state["services"].save(dict(order))
    state["orders"][order["id"]] = order
    return web.json_response(order, status=201)


async def get_order(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    orders = request.app[STATE]["orders"]
    if not text.isdigit() or int(text) not in orders:
        raise json_error(web.HTTPNotFound, f"no order {text}")
    return web.json_response(orders[int(text)])


async def get_quote(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    services = request.app[STATE]["services"]
    failed = None
    try:
        async with asyncio.TaskGroup() as tg:
            price = tg.create_task(services.price(sku))
            stock = tg.create_task(services.stock(sku))
    except* Exception as group:
        failed = group.exceptions[0]
    if failed is not None:
        raise json_error(web.HTTPBadGateway, f"upstream failed: {failed}")
    return web.json_response({"sku": sku, "price": price.result(), "stock": stock.result()})


def make_app(services) -> web.Application:
    app = web.Application()
    app[STATE] = {"services": services, "orders": {}, "last": 0}
    app.add_routes(
        [
            web.get("/items/{sku}", get_item),
            web.post("/orders", post_order),
            web.get("/orders/{id}", get_order),
            web.get("/quote/{sku}", get_quote),
        ]
    )
    return app
