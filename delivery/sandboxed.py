"""Tenant-written code evaluated from the sender's event loop: the evaluations asked for in one
turn of the loop (a claim's messages all start together) go to a sandbox child as one batch
(core.sandbox.Pool.call_many), one round trip for many, each still with its own CPU bound. The
loop only awaits: the round trip runs on a blocking thread."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core import sandbox

from . import aio

# Evaluations in one round trip: a few milliseconds of a child's time, well inside its wall
# bound; more at once go as several batches, to every child of the pool.
MAX_BATCH = 32


@dataclass
class _Waiting:
    items: list[tuple[list[Any], asyncio.Future]] = field(default_factory=list)
    flush_scheduled: bool = False


async def evaluate(target: str, *args: Any) -> Any:
    """`target` applied to `args` in a sandbox child: its value, or the SandboxFailed raised."""
    loop = asyncio.get_running_loop()
    waiting = aio.loop_resource(f"sandboxed:{target}", _Waiting)
    future = loop.create_future()
    waiting.items.append((list(args), future))
    if not waiting.flush_scheduled:
        waiting.flush_scheduled = True
        loop.call_soon(_flush, loop, target, waiting)
    result = await future
    if isinstance(result, BaseException):
        raise result
    return result


def _flush(loop: asyncio.AbstractEventLoop, target: str, waiting: _Waiting) -> None:
    items, waiting.items, waiting.flush_scheduled = waiting.items, [], False
    for start in range(0, len(items), MAX_BATCH):
        loop.create_task(_evaluate_batch(target, items[start : start + MAX_BATCH]))


async def _evaluate_batch(target: str, batch: list[tuple[list[Any], asyncio.Future]]) -> None:
    try:
        results = await aio.blocking(sandbox.pool().call_many, target, [a for a, _ in batch])
    except Exception as exc:  # no child could start: every waiting evaluation fails with it
        results = [exc] * len(batch)
    for (_, future), result in zip(batch, results, strict=True):
        if not future.done():
            future.set_result(result)
