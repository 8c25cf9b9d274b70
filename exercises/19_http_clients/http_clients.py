"""Exercise 19: HTTP clients with aiohttp. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it

import aiohttp  # noqa: F401 - you will need it


async def download_all(urls: list[str]) -> list[str]:
    """Task 1. Download every URL at the same time, through one session.

    Open one aiohttp.ClientSession for the whole call (`async with aiohttp.ClientSession()
    as session:`) and make every request through it, all at once. Return a new list of the
    pages in the order of `urls`: each is the response body as text, decoded with the
    charset the server names (`await response.text()` does that). Every URL answers 200.

    Request each URL once per entry of `urls`, exactly as given: a URL listed twice is
    requested twice and its page appears twice; an empty page "" is a page too. No URLs
    give []. `urls` is not changed. The call takes as long as the slowest request, however
    long that is (set no time limit, and no cap on how many requests run at once).

    Before you return, every response has been released (use each one as `async with
    session.get(url) as response:`) and the session is closed. If the caller cancels
    download_all(), the requests still running are cancelled and have ended before the
    session closes, and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "open one ClientSession, then gather one `async with session.get(url)` per url"
    )


async def fetch_json_report(urls: list[str]) -> tuple[dict[str, object], dict[str, int]]:
    """Task 2. GET every URL at once, through one session, and sort the answers by status.

    Every URL answers with some HTTP status. A status below 400 is a success: its body is
    JSON, and the decoded value (`await response.json()`) goes into `data[url]`, whatever
    it is (null, 0, false, "", [] and {} are values too). A status of 400 or more is an
    error, whatever its body holds (an HTML page, or JSON): its status itself, an int,
    goes into `errors[url]`. (`response.raise_for_status()` raises
    aiohttp.ClientResponseError for exactly those statuses; the error's `.status` is the
    status.) Return the tuple `(data, errors)`, two dicts keyed by each URL exactly as
    given.

    One error must not lose the other answers or cut their requests short. As in
    download_all(): one session for the call, closed before you return, and every response
    released; each URL requested once per entry of `urls`, exactly as given, all at once
    (an error is not retried; a URL listed twice is requested twice and has one entry); no
    URLs give `({}, {})`; `urls` is not changed; no time limit. (In the tests a URL gives the
    same answer each time it is asked.) If the caller cancels it, the requests still running
    are cancelled and have ended before the session closes, and the CancelledError reaches
    the caller.
    """
    raise NotImplementedError(
        "gather one request per url; put the JSON of each status below 400 in data, "
        "and the status of every other answer in errors"
    )


async def what_is_my_ip(services: list[tuple[str, str]]) -> str:
    """Task 3. Ask every "what is my IP" service at once; the first good answer wins.

    Each service is a pair `(url, field)`: a GET of `url` answers a JSON object whose key
    `field` holds your IP address, a string. ("http://ipify.test/?format=json", "ip")
    answers {"ip": "203.0.113.7"}, and ("http://ip-api.test/json", "query") answers
    {"query": "203.0.113.7", ...}. Ask every service at the same time, through one session.

    A service whose answer has a status of 400 or more (whatever its body holds), or whose
    request raises aiohttp.ClientError (the service cannot be reached), has failed: keep
    waiting for the others. Every status below 400 is a success, and a success always holds
    `field`; any other exception is not a failed service (the tests raise none). Return the
    IP (the string) of the first service that answers with a success, as soon as it does; if
    two answer at the same moment, either may win. If every service fails, raise LookupError
    as soon as the last one has failed; with no services at all, raise it at once.

    Before you return or raise, cancel the requests still running AND wait until they have
    ended; then close the session. Nothing may be left running. Each entry of `services` is
    asked exactly once (a failed service is not asked again; one listed twice is asked
    twice); `services` is not changed; no time limit. If the caller cancels it, every
    request still running is cancelled and has ended before the session closes, and the
    CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "start one task per service, asyncio.wait(..., return_when=FIRST_COMPLETED) until "
        "one succeeds, then cancel and await the others"
    )
