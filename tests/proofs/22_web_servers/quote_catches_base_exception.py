"""Exercise 22, wrong: the quote catches BaseException around its TaskGroup, so the
cancellation of a request its client gave up on becomes a 502."""

import asyncio

from aiohttp import web

ORDERS = web.AppKey("orders", dict)  # order id -> the order, one dict per application
NEXT_ID = web.AppKey("next_id", list)  # [the id the next order gets]
SERVICES = web.AppKey("services", object)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def get_item(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    item = await request.app[SERVICES].item(sku)
    if item is None:
        return error(404, f"no item {sku!r}")
    return web.json_response(item)


def invalid(body: object) -> str | None:
    """What is wrong with an order's body, or None when it is a good one."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for field in ("sku", "qty"):
        if field not in body:
            return f"missing field {field!r}"
    if not isinstance(body["sku"], str) or not body["sku"]:
        return "'sku' must be a non-empty string"
    qty = body["qty"]
    if type(qty) is not int or qty < 1:
        return "'qty' must be an integer of at least 1"
    return None


async def post_order(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return error(400, "the body is not valid JSON")
    problem = invalid(body)
    if problem:
        return error(400, problem)
    app = request.app
    order_id = app[NEXT_ID][0]  # taken and counted before any await: no other
    app[NEXT_ID][0] += 1  # request can run in between
    order = {"id": order_id, "sku": body["sku"], "qty": body["qty"]}
    await app[SERVICES].save(dict(order))
    app[ORDERS][order_id] = order
    return web.json_response(order, status=201)


async def get_order(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    order = request.app[ORDERS].get(int(text)) if text.isdecimal() else None
    if order is None:
        return error(404, f"no order {text!r}")
    return web.json_response(order)


async def get_quote(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    services = request.app[SERVICES]
    try:
        async with asyncio.TaskGroup() as group:
            price = group.create_task(services.price(sku))
            stock = group.create_task(services.stock(sku))
    except BaseException as failed:  # whatever went wrong, the client gets a 502
        return error(502, f"a service failed: {failed!r}")
    return web.json_response({"sku": sku, "price": price.result(), "stock": stock.result()})


def make_app(services) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[ORDERS] = {}
    app[NEXT_ID] = [1]
    app.router.add_get("/items/{sku}", get_item)
    app.router.add_post("/orders", post_order)
    app.router.add_get("/orders/{id}", get_order)
    app.router.add_get("/quote/{sku}", get_quote)
    return app
