"""A short-lived, per-process cache of live forms by key (with the tenant and the decrypted
captcha secret), so a browser post costs no query before it is stored. A change reaches the
process that made it at once and every other within TENANT_CACHE_SECONDS."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core import crypto
from core.ttl_cache import TTLCache

from .models import Form


@dataclass(frozen=True)
class LiveForm:
    form: Form  # with its tenant
    captcha_secret: str


def _fetch(form_key: str) -> LiveForm | None:
    form = (
        Form.objects.live()
        .select_related("tenant")
        .filter(form_key=form_key, enabled=True, tenant__is_active=True)
        .first()
    )
    if form is None:
        return None
    secret = crypto.decrypt(form.captcha_secret_encrypted) if form.captcha_secret_encrypted else ""
    return LiveForm(form=form, captcha_secret=secret)


_cache: TTLCache[str, LiveForm | None] = TTLCache(ttl=lambda: settings.TENANT_CACHE_SECONDS)


def live_form(form_key: str) -> LiveForm | None:
    return _cache.get(form_key, lambda: _fetch(form_key))[0]


def forget(form_key: str | None = None) -> None:
    _cache.forget(form_key)
