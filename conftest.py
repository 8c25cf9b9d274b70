"""The kit's engine is the `aiokata` pytest plugin (src/aiokata/plugin.py); this file only
makes sure it is installed, so a forgotten install step says so instead of failing oddly."""

import pytest

try:
    import aiokata.plugin  # noqa: F401
except ImportError:  # pragma: no cover - only without the install step
    raise pytest.UsageError(
        "aiokata is not installed in this Python: run `pip install -e .` in the kit's folder"
    ) from None
