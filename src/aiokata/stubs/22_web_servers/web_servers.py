"""Exercise 22: web servers with aiohttp. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it

from aiohttp import web

# Keys for what the application keeps, e.g. SERVICES = web.AppKey("services", object).


async def get_item(request: web.Request) -> web.Response:
    """Task 1. GET /items/{sku}: the item, as the item service answers it.

    `sku` is the path's {sku}, exactly as it came (request.match_info["sku"]). Ask
    `await services.item(sku)` once per request (no cache): it answers a dict, the item, or
    None when there is no such item. Answer 200 with the dict as JSON, whatever it holds (an
    empty dict, "", 0 and [] are values too), or 404 with {"error": "<what is wrong>"} for
    None. Every answer is JSON: web.json_response(...). Set no time limit (a lookup may take
    a day), and never block the loop (no time.sleep, no synchronous calls that wait). If the
    client gives up on the request, the server cancels the handler: the lookup is cancelled
    with it (no asyncio.shield, no task of its own), and the CancelledError gets out of the
    handler (never caught and answered).
    """
    raise NotImplementedError("read the sku, await services.item(sku), answer 200 or 404")


async def post_order(request: web.Request) -> web.Response:
    """Tasks 2 and 4. POST /orders: validate the JSON body, make an order, save it.

    A good body is a JSON object with "sku", a non-empty string, and "qty", an integer of at
    least 1 (true/false and 2.0 are not integers). Any string but "" is a sku, kept as sent
    (no strip()), and the Content-Type header does not matter: the body does. Anything else
    is the client's mistake: answer 400 with {"error": "<what is wrong>"}, naming the missing
    field if one is missing, and save nothing. That includes a body that is not JSON at
    all: never let it become a 500.

    A good body makes the order {"id": id, "sku": sku, "qty": qty} (any other keys of the body
    are ignored): ids are 1, 2, 3... in each application, one per POST (the same body twice
    makes two orders). Await `services.save(order)` once, then keep the order in the
    application (not before: until its save has finished, GET /orders/{id} does not find it),
    and answer 201 with it.

    Task 4: requests run concurrently. While one POST awaits save(), another may run: two
    orders made at once must still get different ids, and both must be kept. And one
    application never waits for another (a Lock, if you use one, is the application's).
    """
    raise NotImplementedError(
        "await request.json() (a ValueError means 400), check each field, then take an id, "
        "await services.save(order) and answer 201"
    )


async def get_order(request: web.Request) -> web.Response:
    """Task 2. GET /orders/{id}: 200 with the order of that id, as POST answered it, or 404 with
    {"error": "<what is wrong>"} when there is none (an unknown id, 0, or no number at all).
    Reading "01" or "+1" as 1 (int() does) or not is yours to choose: the tests send neither."""
    raise NotImplementedError("look the id up in the application's orders: 200 or 404")


async def get_quote(request: web.Request) -> web.Response:
    """Task 3. GET /quote/{sku}: {"sku": sku, "price": price, "stock": stock}.

    Ask `services.price(sku)` and `services.stock(sku)` at the same time, once each per
    request (no cache): the
    answer comes when the slower one has answered, not after both one after the other. If
    either raises an exception, answer 502 with {"error": "<what is wrong>"} as soon as it
    does, and cancel the other call. If the client gives up on the request (the tests'
    server then cancels the handler), both calls are cancelled with it, and the handler ends
    cancelled (no `except BaseException`). No time limit of your own. Catch a TaskGroup's
    failure with `except ExceptionGroup:` (a `return` inside `except*` is a SyntaxError).
    """
    raise NotImplementedError("run both service calls at once (a TaskGroup), 502 if one fails")


def make_app(services) -> web.Application:
    """Build and return a new web.Application with the routes

        GET  /items/{sku}   get_item
        POST /orders        post_order
        GET  /orders/{id}   get_order
        GET  /quote/{sku}   get_quote

    `services` has the coroutines item(sku), save(order), price(sku) and stock(sku). Keep it,
    and the orders, in the application (app[key] with a web.AppKey), never at module level:
    two applications alive at once each have their own services, orders and ids.
    """
    raise NotImplementedError("make a web.Application, keep services in it, add the four routes")
