"""aiokata: an asyncio kata kit driven by pytest."""

from aiokata import compiled

compiled.keep_in_source_kit()  # first: before anything imports hypothesis

from aiokata.targets import exercise_module  # noqa: E402

__all__ = ["exercise_module"]
__version__ = "0.1.0"
