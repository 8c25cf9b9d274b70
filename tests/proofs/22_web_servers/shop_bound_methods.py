"""Exercise 22, written otherwise: a Shop object per application whose bound methods are the
handlers, an asyncio.Lock held only while the id is taken, a KeyError caught to name the
missing field, and `await` of the TaskGroup's finished tasks."""

import asyncio

from aiohttp import web


class Shop:
    def __init__(self, services):
        self.services = services
        self.orders: dict[int, dict] = {}
        self.next_id = 1
        self.lock = asyncio.Lock()

    async def get_item(self, request):
        item = await self.services.item(request.match_info["sku"])
        return (
            web.json_response({"error": "item not found"}, status=404)
            if item is None
            else web.json_response(item)
        )

    async def post_order(self, request):
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "malformed JSON body"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be an object"}, status=400)
        try:
            sku = body["sku"]
            qty = body["qty"]
        except KeyError as e:
            return web.json_response({"error": f"missing field {e.args[0]}"}, status=400)
        if not (type(sku) is str and sku):
            return web.json_response({"error": "bad sku"}, status=400)
        if not (type(qty) is int and qty >= 1):
            return web.json_response({"error": "bad qty"}, status=400)
        async with self.lock:
            oid = self.next_id
            self.next_id += 1
        order = {"id": oid, "sku": sku, "qty": qty}
        await self.services.save(order)
        self.orders[oid] = order
        return web.json_response(order, status=201)

    async def get_order(self, request):
        raw = request.match_info["id"]
        if raw.isdecimal() and raw.isascii():
            order = self.orders.get(int(raw))
            if order is not None:
                return web.json_response(order)
        return web.json_response({"error": "order not found"}, status=404)

    async def get_quote(self, request):
        sku = request.match_info["sku"]
        try:
            async with asyncio.TaskGroup() as tg:
                p = tg.create_task(self.services.price(sku))
                s = tg.create_task(self.services.stock(sku))
        except ExceptionGroup:
            return web.json_response({"error": "a backend service failed"}, status=502)
        return web.json_response({"sku": sku, "price": await p, "stock": await s})


SHOP = web.AppKey("shop", Shop)


async def get_item(request):
    return await request.app[SHOP].get_item(request)


async def post_order(request):
    return await request.app[SHOP].post_order(request)


async def get_order(request):
    return await request.app[SHOP].get_order(request)


async def get_quote(request):
    return await request.app[SHOP].get_quote(request)


def make_app(services) -> web.Application:
    app = web.Application()
    shop = app[SHOP] = Shop(services)
    app.router.add_route("GET", "/items/{sku}", shop.get_item)
    app.router.add_route("POST", "/orders", shop.post_order)
    app.router.add_route("GET", "/orders/{id}", shop.get_order)
    app.router.add_route("GET", "/quote/{sku}", shop.get_quote)
    return app
