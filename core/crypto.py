"""Encryption at rest for secrets (Fernet; the first key encrypts, every key decrypts)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.cache
def _fernet() -> MultiFernet:
    keys = [key for key in settings.FORMBRIDGE_ENCRYPTION_KEYS if key]
    if not keys:
        raise ImproperlyConfigured("FORMBRIDGE_ENCRYPTION_KEYS must name at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"FORMBRIDGE_ENCRYPTION_KEYS holds an invalid key: {exc}"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


@contextmanager
def _readable() -> Iterator[None]:
    """A token no listed key opens is a configuration error: a key is missing."""
    try:
        yield
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: is FORMBRIDGE_ENCRYPTION_KEYS missing a key?"
        ) from exc


@functools.lru_cache(maxsize=4096)
def decrypt(token: str) -> str:
    """Decrypt a stored secret; cached because the same few secrets are checked on every request."""
    with _readable():
        return _fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret encrypted with the first (newest) key; any listed key may decrypt it."""
    with _readable():
        return _fernet().rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()
