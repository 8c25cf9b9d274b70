"""aiokata: an asyncio kata kit driven by pytest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokata import compiled

compiled.keep_in_source_kit()  # first: before anything imports hypothesis

if TYPE_CHECKING:
    from aiokata.targets import exercise_module

__all__ = ["exercise_module"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Loaded on first use: exercise tests ask for it, the learner's verbs never do, and
    # targets brings pytest with it (a third of a second on every `aiokata hint`).
    if name == "exercise_module":
        from aiokata.targets import exercise_module

        return exercise_module
    raise AttributeError(f"module 'aiokata' has no attribute {name!r}")
