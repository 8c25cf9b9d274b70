"""Exercise 22, written otherwise: a RouteTableDef, a class-based view for /orders, an
asyncio.Lock held across the whole update, and tasks raced with asyncio.wait(FIRST_EXCEPTION)."""

import asyncio

from aiohttp import web

routes = web.RouteTableDef()
SERVICES = web.AppKey("services", object)
ORDERS = web.AppKey("orders", dict)
LOCK = web.AppKey("lock", asyncio.Lock)


def problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@routes.get("/items/{sku}")
async def item(request: web.Request) -> web.Response:
    found = await request.app[SERVICES].item(request.match_info["sku"])
    if found is None:
        return problem(404, "unknown item")
    return web.json_response(found)


@routes.view("/orders")
class Orders(web.View):
    async def post(self) -> web.Response:
        raw = await self.request.read()
        try:
            import json

            body = json.loads(raw)
        except ValueError:
            return problem(400, "invalid JSON")
        if not isinstance(body, dict):
            return problem(400, "expected a JSON object")
        missing = [name for name in ("sku", "qty") if name not in body]
        if missing:
            return problem(400, f"missing: {', '.join(missing)}")
        sku, qty = body["sku"], body["qty"]
        if not (isinstance(sku, str) and sku):
            return problem(400, "sku: a non-empty string")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return problem(400, "qty: a positive integer")
        app = self.request.app
        async with app[LOCK]:  # nobody else reads or writes the orders meanwhile
            order = {"id": len(app[ORDERS]) + 1, "sku": sku, "qty": qty}
            await app[SERVICES].save(order.copy())
            app[ORDERS][order["id"]] = order
        return web.json_response(order, status=201)


@routes.get("/orders/{id}")
async def one_order(request: web.Request) -> web.Response:
    try:
        order = request.app[ORDERS][int(request.match_info["id"])]
    except (KeyError, ValueError):
        return problem(404, "unknown order")
    return web.json_response(order)


@routes.get("/quote/{sku}")
async def quote(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    services = request.app[SERVICES]
    price = asyncio.create_task(services.price(sku))
    stock = asyncio.create_task(services.stock(sku))
    try:
        done, _ = await asyncio.wait({price, stock}, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                return problem(502, f"service failed: {task.exception()}")
        return web.json_response({"sku": sku, "price": price.result(), "stock": stock.result()})
    finally:
        for task in (price, stock):
            task.cancel()
        await asyncio.wait({price, stock})


def make_app(services) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[ORDERS] = {}
    app[LOCK] = asyncio.Lock()
    app.add_routes(routes)
    return app
