"""aiokata: an asyncio kata kit driven by pytest."""

from aiokata.targets import exercise_module

__all__ = ["exercise_module"]
__version__ = "0.1.0"
