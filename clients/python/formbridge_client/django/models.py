"""The outbox: one row per submission, written with the site's data, sent after commit."""

from django.db import models


class OutboxStatus(models.TextChoices):
    PENDING = "pending"  # waiting to be sent (again)
    SENT = "sent"  # FormBridge answered accepted or duplicate
    PARKED = "parked"  # FormBridge refused it for good (a 4xx): kept with the error


class OutboxMessage(models.Model):
    submission_id = models.CharField(max_length=64, unique=True)
    form_id = models.CharField(max_length=128)
    # The whole canonical envelope, as it will be signed and sent.
    envelope = models.JSONField()
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Claimed by a flush until then: the HTTP send happens outside any transaction, so another
    # flush (cron and Celery at once) must not take the row meanwhile.
    leased_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="formbridge_outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.submission_id} ({self.status})"
