import asyncio


async def first(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


async def second(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


async def third(x: int) -> str:
    return str(x)
