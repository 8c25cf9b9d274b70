"""The kit's cache of looptime's "is this fixture an event loop?" gives looptime's own answer."""

from types import SimpleNamespace

import pytest
import pytest_asyncio.plugin
from looptime._internal import plugin as looptime_plugin

from aiokata import looptime_cache


def fixture(module: str, name: str) -> SimpleNamespace:
    def func():
        pass

    func.__module__ = module
    return SimpleNamespace(func=func, argname=name)


def test_the_cached_answer_is_looptimes_own(pytestconfig: pytest.Config):
    assert looptime_cache.install(pytestconfig)  # the plugin installed it already: still true
    cached = looptime_plugin._should_patch
    original = cached.aiokata_original
    asyncio_fixtures = [
        name
        for name in dir(pytest_asyncio.plugin)
        if looptime_plugin._is_fixture(getattr(pytest_asyncio.plugin, name))
    ]
    assert "event_loop_policy" in asyncio_fixtures
    request = SimpleNamespace(config=pytestconfig)
    cases = [fixture(pytest_asyncio.plugin.__name__, "anything")]
    cases += [fixture("tests.conftest", name) for name in asyncio_fixtures]  # an override
    cases += [fixture("tests.conftest", name) for name in ("tmp_path", "kit", "looptime")]
    answers = [(cached(case, request), original(case, request)) for case in cases]
    assert all(mine == theirs for mine, theirs in answers), answers
    assert answers[0][0] and not answers[-1][0]


def test_installing_twice_keeps_one_wrapper(pytestconfig: pytest.Config):
    looptime_cache.install(pytestconfig)
    first = looptime_plugin._should_patch
    looptime_cache.install(pytestconfig)
    assert looptime_plugin._should_patch.aiokata_original is first.aiokata_original
