"""What a site's form view would call: the lead and its outbox row commit together."""

from django.db import transaction

from formbridge_client.django import outbox_submit

from .models import Lead


def lead_save(*, email: str, message: str = "", fail_after_outbox: bool = False) -> Lead:
    with transaction.atomic():
        lead = Lead.objects.create(email=email, message=message)
        outbox_submit(
            form_id="contact",
            payload={"email": email, "message": message, "lead_id": lead.pk},
            submission_id=f"lead-{lead.pk}",
        )
        if fail_after_outbox:
            raise RuntimeError("the site's own code failed after queueing")
    return lead
