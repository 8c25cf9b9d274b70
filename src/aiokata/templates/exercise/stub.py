"""Exercise $NN: $slug. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it


async def first(x: int) -> int:
    """Task 1. FILL IN: what first must do, exactly (types, timing, errors)."""
    raise NotImplementedError("FILL IN: one line saying what to write")


async def second(x: int) -> int:
    """Task 2. FILL IN: what second must do."""
    raise NotImplementedError("FILL IN: one line saying what to write")


async def third(x: int) -> str:
    """Task 3. FILL IN: what third must do."""
    raise NotImplementedError("FILL IN: one line saying what to write")
