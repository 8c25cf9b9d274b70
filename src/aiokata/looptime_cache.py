"""A cache for one question looptime asks at every fixture set-up.

For each fixture, looptime's plugin decides whether it is one of pytest-asyncio's event loops
(`_should_patch`): the fixture is defined in pytest-asyncio's module, or has the name of one of
that module's fixtures, which it finds by testing every attribute of the module. That list
never changes in a run, yet it was made afresh for every fixture: about 5 ms of CPU an exercise
test, in every forked child. Here it is made once, in the parent, with looptime's own test
(`_is_fixture`). If looptime's internals are not as expected, nothing changes.
"""

from __future__ import annotations

from typing import Any

import pytest


def install(config: pytest.Config) -> bool:
    """Answer looptime's `_should_patch` from a list made now; False if that cannot be done."""
    try:
        from looptime._internal import plugin
    except ImportError:
        return False
    original = getattr(plugin, "_should_patch", None)
    is_fixture = getattr(plugin, "_is_fixture", None)
    asyncio_plugin = config.pluginmanager.getplugin("asyncio")
    if original is None or is_fixture is None or asyncio_plugin is None:
        return False
    original = getattr(original, "aiokata_original", original)
    names = {name for name in dir(asyncio_plugin) if is_fixture(getattr(asyncio_plugin, name))}
    module = asyncio_plugin.__name__

    def should_patch(fixturedef: Any, request: Any) -> bool:
        if request.config.pluginmanager.getplugin("asyncio") is not asyncio_plugin:
            return original(fixturedef, request)
        return fixturedef.func.__module__ == module or fixturedef.argname in names

    should_patch.aiokata_original = original  # type: ignore[attr-defined]
    plugin._should_patch = should_patch
    return True
