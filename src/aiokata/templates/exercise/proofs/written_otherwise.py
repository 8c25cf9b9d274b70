import asyncio


async def first(x: int) -> int:
    return await asyncio.sleep(0, x + 1)


async def second(x: int) -> int:
    return await asyncio.sleep(0, x + x)


async def third(x: int) -> str:
    return await asyncio.sleep(0, f"{x}")
