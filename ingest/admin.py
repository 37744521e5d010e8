"""Admin for submissions: find them (tenant, form, source, delivery status, time, id), read the
payload and every delivery with its attempts, replay or erase them. Submissions are never
edited."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from core import blobs, storable
from core.admin_pages import pretty_json
from core.errors import Invalid
from delivery import services as delivery_services
from delivery.admin import ReadOnlyAdmin, attempts_table
from delivery.models import Delivery, DeliveryStatus
from reporting.models import DailyMetric
from tenants.admin_scope import TenantFilter, TenantScopedAdmin, scope
from tenants.models import Tenant
from tenants.operators import operated_tenant_ids

from . import erasure, services
from .models import PayloadSchema, Submission, SubmissionStatus


class DeliveryStatusFilter(admin.SimpleListFilter):
    """Submissions with at least one delivery in this status (status=dead: dead letters)."""

    title = "delivery status"
    parameter_name = "delivery_status"

    def lookups(self, request, model_admin):
        return DeliveryStatus.choices

    def queryset(self, request, queryset):
        if self.value() not in DeliveryStatus.values:
            return queryset
        matching = Delivery.objects.filter(submission=OuterRef("pk"), status=self.value())
        return queryset.filter(Exists(matching))


class FormFilter(admin.SimpleListFilter):
    """Forms seen in the daily figures of the user's tenants (no scan of submissions)."""

    title = "form"
    parameter_name = "form_id"

    def lookups(self, request, model_admin):
        forms = scope(DailyMetric.objects.all(), request).exclude(form_id="")
        return [
            (f, f)
            for f in forms.values_list("form_id", flat=True).distinct().order_by("form_id")[:100]
        ]

    def queryset(self, request, queryset):
        return queryset.filter(form_id=self.value()) if self.value() else queryset


class SourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        known = ("ingest", "api", "wordpress", "django", "github", "stripe")
        return [(s, s) for s in known]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


class ReceivedFilter(admin.SimpleListFilter):
    """Presets; any range also works as ?received_at__gte=...&received_at__lt=... (ISO dates)."""

    title = "received"
    parameter_name = "received"
    PRESETS = {
        "1h": timedelta(hours=1),
        "24h": timedelta(days=1),
        "7d": timedelta(days=7),
        "30d": timedelta(days=30),
    }

    def lookups(self, request, model_admin):
        return [
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("older", "Older than 30 days"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() in self.PRESETS:
            return queryset.filter(received_at__gte=now - self.PRESETS[self.value()])
        if self.value() == "older":
            return queryset.filter(received_at__lt=now - self.PRESETS["30d"])
        return queryset


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = (
        "destination",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "attempt_log",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="attempts (read-only)")
    def attempt_log(self, delivery: Delivery) -> str:
        return attempts_table(delivery)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("destination")
            .prefetch_related("attempt_log")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = (
        "submission_id",
        "tenant",
        "form_id",
        "source",
        "event_type",
        "received_at",
        "status",
        "payload_bytes",
    )
    list_filter = (
        TenantFilter,
        "status",
        FormFilter,
        SourceFilter,
        DeliveryStatusFilter,
        ReceivedFilter,
    )
    search_fields = ("submission_id",)
    search_help_text = "Exact submission id (or the internal row id)."
    inlines = (DeliveryInline,)
    actions = ("replay", "release", "erase")
    readonly_fields = ("payload_pretty",)
    exclude = ("payload",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "payload"] + [
            "payload_pretty",
            "stored_objects",
        ]

    @admin.display(description="stored files")
    def stored_objects(self, submission: Submission) -> str:
        """Download links (an hour) to its stored files and its payload kept out of the row."""
        items = [
            (a.get("filename") or a["key"], a["key"], a.get("size"))
            for a in submission.attachments
            if isinstance(a, dict) and "key" in a
        ]
        if submission.payload_object:
            items.append(("payload (JSON)", submission.payload_object["key"], None))
        if not items:
            return "-"
        links = [
            (blobs.link(tenant_id=submission.tenant_id, key=key, ttl_seconds=3600)[0], name, size)
            for name, key, size in items
        ]
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> {}',
            (
                (url, name, f"({size} bytes)" if size is not None else "")
                for url, name, size in links
            ),
        )

    @admin.display(description="payload")
    def payload_pretty(self, submission: Submission) -> str:
        return pretty_json(submission.payload)

    def get_search_results(self, request, queryset, search_term):
        """Exact id lookups through the (tenant, submission_id) unique index, not a LIKE scan."""
        term = search_term.strip()
        if not term:
            return queryset, False
        tenants = operated_tenant_ids(request.user)
        if tenants is None:
            tenants = set(Tenant.objects.values_list("id", flat=True))
        if not storable.is_public_id(term):  # a NUL or a 100-character term matches no id
            matches = queryset.none()
        else:
            matches = queryset.filter(tenant_id__in=tenants, submission_id=term)
        with contextlib.suppress(ValueError):
            matches = matches | queryset.filter(id=uuid.UUID(term))
        return matches, False

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("received_at__gte", "received_at__lt") or super().lookup_allowed(
            lookup, value, request
        )

    @admin.action(
        description="Erase (delete) selected submissions' personal data — GDPR Art. 17",
        permissions=["change"],
    )
    def erase(self, request, queryset):
        erased = 0
        chosen = scope(queryset, request).filter(erased_at__isnull=True)
        for tenant_id in set(chosen.values_list("tenant_id", flat=True)):
            result = erasure.submissions_erase(
                tenant=Tenant.objects.get(pk=tenant_id),
                submissions=chosen.filter(tenant_id=tenant_id),
                actor=f"operator {request.user.get_username()} (admin)",
            )
            erased += len(result.submission_ids)
        self.message_user(
            request,
            f"Erased {erased} submission(s): payload, attachments and attempt bodies removed; "
            "their ids stay so a resend is a duplicate.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Release selected spam: accept it and send it to its destinations",
        permissions=["change"],
    )
    def release(self, request, queryset):
        released = deliveries = 0
        for submission in scope(queryset, request).filter(status=SubmissionStatus.SPAM):
            made = services.submission_release(submission=submission)
            released += submission.status == SubmissionStatus.ACCEPTED
            deliveries += made
        self.message_user(
            request,
            f"Released {released} submission(s) from spam; {deliveries} delivery(ies) queued.",
            messages.SUCCESS if released else messages.WARNING,
        )

    @admin.action(
        description="Replay selected submissions to all their destinations", permissions=["change"]
    )
    def replay(self, request, queryset):
        requeued = 0
        for submission in scope(queryset, request).select_related("tenant"):
            result = delivery_services.deliveries_replay(
                tenant=submission.tenant, submission_ids=[submission.submission_id], status="all"
            )
            requeued += result.requeued
        self.message_user(request, f"Queued {requeued} delivery(ies) again.", messages.SUCCESS)


class PayloadSchemaForm(forms.ModelForm):
    schema = forms.JSONField(help_text="A JSON Schema (Draft 2020-12).")

    class Meta:
        model = PayloadSchema
        fields = ("tenant", "subject_kind", "subject", "schema")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.payload_schema_check(
                subject_kind=data["subject_kind"], subject=data["subject"], schema=data["schema"]
            )
        except Invalid as exc:
            field = {"form_id": "subject", "event_type": "subject"}.get(exc.field, exc.field)
            self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(PayloadSchema)
class PayloadSchemaAdmin(TenantScopedAdmin):
    """Schemas payloads must match; a form's can also be set with the form (API, command)."""

    form = PayloadSchemaForm
    list_display = ("subject", "subject_kind", "tenant", "updated_at")
    list_filter = (TenantFilter, "subject_kind")
    search_fields = ("subject",)

    def get_readonly_fields(self, request, obj=None):
        return ("tenant", "subject_kind", "subject") if obj else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        row = services.payload_schema_set(
            tenant=obj.tenant,
            subject_kind=obj.subject_kind,
            subject=obj.subject,
            schema=data["schema"],
        )
        obj.pk = row.pk

    def delete_model(self, request, obj):
        services.payload_schema_delete(
            tenant=obj.tenant, subject_kind=obj.subject_kind, subject=obj.subject
        )

    def delete_queryset(self, request, queryset):
        for row in queryset:
            self.delete_model(request, row)
