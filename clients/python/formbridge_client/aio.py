"""AsyncClient: Client's whole surface for asyncio code. Each call runs the standard library's
HTTP client on a worker thread (asyncio.to_thread), so the event loop never blocks and the
package keeps no dependency; retries, errors and results are Client's own."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

from .client import Client


class AsyncClient:
    """`await client.submit(...)`, `await client.inbox(...)`, ... as Client has them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync = Client(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.sync, name)
        if name.startswith("_") or not callable(method) or name.startswith("iter_"):
            return method

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

    async def iter_submissions(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        cursor = filters.pop("cursor", None)
        while True:
            page = await asyncio.to_thread(self.sync.list_submissions, **filters, cursor=cursor)
            for item in page.get("items", []):
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return
