"""Encryption at rest for secrets (Fernet; the first key encrypts, every key decrypts), and sealed
tokens for what leaves the building (file links: their claims hidden, not only signed)."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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


@functools.cache
def _siv(secret_key: str) -> AESSIV:
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"formbridge sealed tokens")
    return AESSIV(key.derive(secret_key.encode()))


def seal(plaintext: str, *, purpose: str) -> str:
    """A URL-safe token that hides and authenticates `plaintext` (AES-SIV under a key derived from
    SECRET_KEY): deterministic, so the same claims make the same token (a page rendered twice
    links the same way). `purpose` binds it: a token sealed for one use opens for no other."""
    sealed = _siv(settings.SECRET_KEY).encrypt(plaintext.encode(), [purpose.encode()])
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def unseal(token: str, *, purpose: str) -> str | None:
    """The plaintext of a token from the outside, or None when it was not sealed here for
    `purpose` (forged, damaged, or sealed under an earlier SECRET_KEY)."""
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return _siv(settings.SECRET_KEY).decrypt(sealed, [purpose.encode()]).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return None
