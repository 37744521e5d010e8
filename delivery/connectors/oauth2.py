"""OAuth 2.0 client-credentials tokens for every connector that needs one (REST's oauth2 auth
mode, Salesforce): fetched through connectors/http.py, kept per process until shortly before
they expire, one fetch in flight per key (a batch of concurrent sends asks the token endpoint
once, not N times).

A key is a digest of what the token depends on (the destination and its credentials), so a
changed secret never reuses a token fetched with the old one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from delivery import aio
from delivery.models import AttemptOutcome
from delivery.retry import classify_status

from . import http

# Seconds before a token's expiry at which a new one is fetched.
EXPIRY_MARGIN = 30.0


class TokenRefused(Exception):
    """No token: `permanent` when asking again cannot help (bad credentials, a refused URL)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent

    @property
    def outcome(self) -> AttemptOutcome:
        return AttemptOutcome.PERMANENT if self.permanent else AttemptOutcome.RETRYABLE


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: float
    answer: dict[str, Any]  # the whole token response (Salesforce's instance_url...)


def key_of(*material: Any) -> str:
    return hashlib.sha256(json.dumps(material, default=str).encode()).hexdigest()


async def fetch(
    token_url: str,
    form: dict[str, str],
    *,
    timeout: float,
    connect_timeout: float,
    default_expires_in: float = 300.0,
    required: tuple[str, ...] = (),
) -> Token:
    """One client-credentials request (`form` holds grant_type, client_id, client_secret...)."""
    try:
        reply = await http.request(
            "POST", token_url, headers={"Accept": "application/json"}, form=form,
            timeout=timeout, connect_timeout=connect_timeout,
        )  # fmt: skip
    except http.Unreachable as exc:
        raise TokenRefused(f"token request: {exc}", permanent=not exc.transient) from None
    answer = reply.json() if isinstance(reply.json(), dict) else {}
    if reply.status != 200:
        reason = answer.get("error_description") or answer.get("error") or ""
        permanent = classify_status(reply.status) is not AttemptOutcome.RETRYABLE
        message = f"token endpoint answered {reply.status}" + (f": {reason}" if reason else "")
        raise TokenRefused(message, permanent=permanent)
    missing = [name for name in ("access_token", *required) if not answer.get(name)]
    if missing:
        raise TokenRefused(f"token endpoint answered without {', '.join(missing)}", permanent=True)
    try:
        expires_in = float(answer.get("expires_in", default_expires_in))
    except (TypeError, ValueError):
        expires_in = default_expires_in
    return Token(str(answer["access_token"]), expires_in, answer)


class TokenCache:
    """Tokens by key, per process; `get(key, fetcher)` answers a fresh one or fetches it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tokens: dict[str, tuple[Token, float]] = {}

    def _fresh(self, key: str) -> Token | None:
        cached = self._tokens.get(key)
        return cached[0] if cached and cached[1] > time.monotonic() else None

    async def get(
        self, key: str, fetcher: Callable[[], Awaitable[Token]], *, renew: bool = False
    ) -> Token:
        """The cached token; with `renew`, a new one unless another send renewed it meanwhile
        (a 401 with a token just fetched is the credentials' fault, not the token's age)."""
        stale = self._tokens.get(key)
        if not renew and (token := self._fresh(key)):
            return token
        locks = aio.loop_resource(f"oauth2.{self.name}.locks", dict)
        async with locks.setdefault(key, asyncio.Lock()):
            now = self._tokens.get(key)
            if now is not None and now is not stale and now[1] > time.monotonic():
                return now[0]
            if not renew and (token := self._fresh(key)):
                return token
            token = await fetcher()
            lifetime = max(0.0, token.expires_in - EXPIRY_MARGIN)
            self._tokens[key] = (token, time.monotonic() + lifetime)
            return token

    async def client_credentials(
        self,
        token_url: str,
        *,
        owner: str,
        client_id: str,
        client_secret: str,
        extra: dict[str, str] | None = None,
        timeout: float,
        connect_timeout: float,
        default_expires_in: float = 300.0,
        required: tuple[str, ...] = (),
        renew: bool = False,
    ) -> Token:
        """The client-credentials token of `owner` (a destination) at `token_url`, cached under
        everything it depends on (a changed secret or scope is a new key)."""
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": client_secret, **(extra or {})}  # fmt: skip
        key = key_of(owner, token_url, form)

        def fetcher() -> Awaitable[Token]:
            return fetch(token_url, form, timeout=timeout, connect_timeout=connect_timeout,
                         default_expires_in=default_expires_in, required=required)  # fmt: skip

        return await self.get(key, fetcher, renew=renew)

    def clear(self) -> None:
        self._tokens.clear()
