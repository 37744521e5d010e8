"""Captcha checks for browser forms: the token the widget put in the form, verified with the
provider's siteverify endpoint (a setting per provider, so tests use a local verifier)."""

from __future__ import annotations

import enum
import logging

import httpx
from django.conf import settings

from .models import CaptchaProvider

logger = logging.getLogger(__name__)

# The field each provider's widget adds to the form.
TOKEN_FIELD = {
    CaptchaProvider.TURNSTILE: "cf-turnstile-response",
    CaptchaProvider.HCAPTCHA: "h-captcha-response",
    CaptchaProvider.RECAPTCHA: "g-recaptcha-response",
}
_VERIFY_URL_SETTING = {
    CaptchaProvider.TURNSTILE: "TURNSTILE_VERIFY_URL",
    CaptchaProvider.HCAPTCHA: "HCAPTCHA_VERIFY_URL",
    CaptchaProvider.RECAPTCHA: "RECAPTCHA_VERIFY_URL",
}
MAX_TOKEN_LENGTH = 4096


class Verdict(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"  # the provider says no (or there is no token): refused
    UNVERIFIED = "unverified"  # the provider could not answer: kept as spam for review


def verify(provider: str, secret: str, token: str, remote_ip: str | None) -> Verdict:
    """All three providers take the same form-encoded POST and answer {"success": bool}."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return Verdict.FAILED
    data = {"secret": secret, "response": token}
    if remote_ip:
        data["remoteip"] = remote_ip
    try:
        response = httpx.post(
            getattr(settings, _VERIFY_URL_SETTING[provider]),
            data=data,
            timeout=settings.CAPTCHA_TIMEOUT_SECONDS,
        )
        if response.status_code >= 500:
            raise httpx.HTTPStatusError("server error", request=response.request, response=response)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("captcha unverified", extra={"provider": provider, "error": str(exc)[:200]})
        return Verdict.UNVERIFIED
    solved = isinstance(answer, dict) and answer.get("success") is True
    return Verdict.PASSED if solved else Verdict.FAILED
