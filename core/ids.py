"""Identifiers: time-ordered UUIDv7 for rows, random URL-safe tokens for secrets."""

import secrets
import string
import uuid

from uuid_utils.compat import uuid7

_ALPHABET = string.ascii_letters + string.digits


def new_uuid7() -> uuid.UUID:
    return uuid7()


def random_token(length: int) -> str:
    """Base62 so tokens survive copy-paste, shells and URLs without quoting."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
