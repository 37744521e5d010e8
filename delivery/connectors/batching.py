"""Group the sends of one loop tick into an API's batches (SQS and EventBridge take 10 entries
per call), while every delivery still gets its own outcome.

The dispatcher starts a claimed batch's sends together; each `send()` hands its job here and
awaits its own result. The group goes out once the tick's sends have all queued (or once it is
full), so one delivery alone (a test send) goes at once, in a group of one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from delivery import aio

from .base import Job, Outcome

SendGroup = Callable[[list[Job]], Awaitable[list[Outcome]]]


class Batcher:
    def __init__(self, name: str, *, size: int, send_group: SendGroup) -> None:
        self.name = name
        self.size = size
        self.send_group = send_group

    def _waiting(self) -> dict[Hashable, list[tuple[Job, asyncio.Future]]]:
        return aio.loop_resource(f"batcher.{self.name}", dict)

    async def send(self, key: Hashable, job: Job) -> Outcome:
        """Queue `job` with the others of its key (a destination); its own outcome returns."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        waiting = self._waiting()
        group = waiting.setdefault(key, [])
        group.append((job, future))
        if len(group) >= self.size:
            self._flush(key)
        elif len(group) == 1:
            loop.call_soon(self._flush, key)
        return await future

    def _flush(self, key: Hashable) -> None:
        group = self._waiting().pop(key, [])
        for start in range(0, len(group), self.size):
            chunk = group[start : start + self.size]
            asyncio.get_running_loop().create_task(self._send(chunk))

    async def _send(self, chunk: list[tuple[Job, asyncio.Future]]) -> None:
        try:
            outcomes = await self.send_group([job for job, _ in chunk])
        except BaseException as exc:  # every waiting send gets the error (send_one records it)
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), outcome in zip(chunk, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
