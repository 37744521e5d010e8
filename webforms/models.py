"""Browser forms: a plain HTML <form> on any site posts to `/f/<form_key>`, with no secret in the
page. What protects it instead: allowed origins, a honeypot, an optional captcha, rate limits."""

from __future__ import annotations

from django.db import models

from core.models import SoftDeletedQuerySet, TimeStampedModel
from tenants.models import Tenant

DEFAULT_HONEYPOT_FIELD = "_gotcha"
MiB = 1024 * 1024


class CaptchaProvider(models.TextChoices):
    NONE = "", "None"
    TURNSTILE = "turnstile", "Cloudflare Turnstile"
    HCAPTCHA = "hcaptcha", "hCaptcha"
    RECAPTCHA = "recaptcha", "Google reCAPTCHA"


class Form(TimeStampedModel):
    """One HTML form's endpoint. Its submissions carry `form_id`; its JSON Schema, if any, is
    the form_id's (ingest.PayloadSchema), which every way in applies."""

    objects = SoftDeletedQuerySet.as_manager()

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="forms")
    form_id = models.CharField(max_length=128, help_text="e.g. contact; unique in the tenant.")
    # Public (it is in the page's action URL): it names the form, it does not authenticate.
    form_key = models.CharField(max_length=64, unique=True, editable=False)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Origins whose pages may post (https://www.example.com); empty: any origin.",
    )
    redirect_url = models.URLField(
        max_length=2048, blank=True, help_text="The thank-you page a browser is sent to."
    )
    honeypot_field = models.CharField(
        max_length=64,
        default=DEFAULT_HONEYPOT_FIELD,
        blank=True,
        help_text="A hidden field people leave empty; filled in, the post is spam.",
    )
    captcha_provider = models.CharField(
        max_length=16, choices=CaptchaProvider.choices, default="", blank=True
    )
    captcha_secret_encrypted = models.TextField(blank=True, default="")
    rate_limit_per_minute = models.PositiveIntegerField(
        default=120, help_text="Posts per minute to this form, from everyone (0: no limit)."
    )
    ip_rate_limit_per_minute = models.PositiveIntegerField(
        default=10, help_text="Posts per minute to this form from one client IP (0: no limit)."
    )
    max_files = models.PositiveIntegerField(default=5)
    max_file_bytes = models.PositiveIntegerField(default=10 * MiB)
    allowed_file_types = models.JSONField(
        default=list,
        blank=True,
        help_text="Content types (image/png) or families (image/*) a file may have; empty: any.",
    )
    enabled = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant_id", "form_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "form_id"],
                condition=models.Q(deleted_at__isnull=True),
                name="form_id_unique_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.form_id}"
