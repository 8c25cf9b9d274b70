"""Exercise 22, written otherwise: the handlers are closures over make_app's own state (no
AppKey), ids come from itertools.count, the body is read as text, and the quote gathers two
tasks and cancels them itself when one fails."""

import asyncio
import itertools
import json

from aiohttp import web


def make_app(services) -> web.Application:
    orders: dict[int, dict] = {}
    ids = itertools.count(1)

    def bad(status: int, text: str) -> web.Response:
        return web.json_response({"error": text}, status=status)

    async def item(request: web.Request) -> web.Response:
        sku = request.match_info["sku"]
        answer = await services.item(sku)
        return bad(404, f"{sku} not found") if answer is None else web.json_response(answer)

    async def create(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return bad(400, "not JSON")
        if type(body) is not dict:
            return bad(400, "not an object")
        if "sku" not in body:
            return bad(400, "sku is required")
        if "qty" not in body:
            return bad(400, "qty is required")
        if type(body["sku"]) is not str or body["sku"] == "":
            return bad(400, "bad sku")
        if type(body["qty"]) is not int or body["qty"] < 1:
            return bad(400, "bad qty")
        order = {"id": next(ids), "sku": body["sku"], "qty": body["qty"]}
        await services.save(dict(order))
        orders[order["id"]] = order
        return web.json_response(order, status=201)

    async def show(request: web.Request) -> web.Response:
        key = request.match_info["id"]
        for number, order in orders.items():
            if str(number) == key:
                return web.json_response(order)
        return bad(404, "no such order")

    async def quote(request: web.Request) -> web.Response:
        sku = request.match_info["sku"]
        calls = [
            asyncio.ensure_future(services.price(sku)),
            asyncio.ensure_future(services.stock(sku)),
        ]
        try:
            price, stock = await asyncio.gather(*calls)
        except Exception as exc:
            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            return bad(502, str(exc))
        return web.json_response({"sku": sku, "price": price, "stock": stock})

    app = web.Application()
    app.router.add_get("/items/{sku}", item)
    app.router.add_post("/orders", create)
    app.router.add_get("/orders/{id}", show)
    app.router.add_get("/quote/{sku}", quote)
    return app
