"""Admin for destinations, deliveries, dead letters and attempt logs; every write goes through
delivery.services, the same path as the API and the commands."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_pages import pretty_json, secret_once
from tenants.admin_scope import TenantFilter, TenantScopedAdmin, scope

from . import services
from .admin_forms import DestinationForm
from .connectors import registry
from .models import DeadLetter, Delivery, DeliveryAttempt, Destination

# What the admin shows of a destination's health (the circuit breaker and auto-disable).
HEALTH_FIELDS = (
    "health_state",
    "consecutive_failures",
    "failing_since",
    "circuit_open_until",
    "disabled_reason",
    "disabled_at",
)
ATTEMPT_COLUMNS = ("#", "started", "duration", "status", "outcome", "error", "response")


def attempts_table(delivery: Delivery) -> str:
    """A delivery's attempts as a small read-only table (inlines cannot nest)."""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td><code>{}</code></td></tr>",
        (
            (
                a.number,
                a.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                a.duration_ms,
                a.response_status or "—",
                a.outcome,
                a.error or "",
                a.response_body[:200],
            )
            for a in delivery.attempt_log.all()
        ),
    )
    head = format_html_join("", "<th>{}</th>", ((c,) for c in ATTEMPT_COLUMNS))
    return format_html('<table class="fb-attempts"><tr>{}</tr>{}</table>', head, rows)


def health(destination: Destination) -> str:
    now = timezone.now()
    if destination.deleted_at:
        return "deleted"
    if not destination.enabled:
        return f"disabled: {destination.disabled_reason or 'by an operator'}"
    if destination.circuit_open_until and destination.circuit_open_until > now:
        return f"circuit open until {destination.circuit_open_until:%H:%M:%S} UTC"
    if destination.consecutive_failures:
        return f"failing ({destination.consecutive_failures} in a row)"
    return "healthy"


def _test_result_page(request, model_admin, results) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Test send",
        "opts": model_admin.model._meta,
        "results": results,
    }
    return TemplateResponse(request, "admin/formbridge/destination_test.html", context)


@admin.register(Destination)
class DestinationAdmin(TenantScopedAdmin):
    form = DestinationForm
    list_display = ("name", "tenant", "kind", "target", "enabled", "health_state")
    list_filter = (TenantFilter, "kind", "enabled")
    search_fields = ("name",)
    actions = ("send_test", "enable_destinations", "disable_destinations")
    change_form_template = "admin/formbridge/destination_change_form.html"
    readonly_fields = (*HEALTH_FIELDS, "signing", "config_redacted")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_fieldsets(self, request, obj=None):
        main = ["tenant", "name", "kind", "enabled"] if obj is None else ["name", "kind", "enabled"]
        # Who may only look sees custom header values redacted: they are often credentials.
        config = "config" if self.has_change_permission(request, obj) else "config_redacted"
        fieldsets = [
            (None, {"fields": main}),
            ("Where", {"fields": ["url", config]}),
            ("Authentication", {"fields": ["auth_mode", "auth_config", "auth_secret"]}),
            (
                "Signing (Standard Webhooks)",
                {"fields": ["signing_action"] + (["signing"] if obj else [])},
            ),
            ("Routing and retries", {"fields": ["filter", "retry_schedule", "max_attempts"]}),
            (
                "Limits",
                {
                    "fields": [
                        "timeout_seconds",
                        "connect_timeout_seconds",
                        "max_concurrency",
                        "rate_limit_per_second",
                        "files_as",
                    ]
                },
            ),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Health",
                    {"fields": list(HEALTH_FIELDS)},
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "kind") if obj else self.readonly_fields

    @admin.display(description="config")
    def config_redacted(self, destination: Destination) -> str:
        config = dict(destination.config)
        config.pop("url", None)
        if config.get("headers"):
            config["headers"] = {name: "[redacted]" for name in config["headers"]}
        return pretty_json(config)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    @admin.display(description="target")
    def target(self, destination: Destination) -> str:
        return (
            destination.config.get("url", "")
            if not registry.is_pull(destination.kind)
            else "pull (GET /v1/inbox)"
        )

    @admin.display(description="health")
    def health_state(self, destination: Destination) -> str:
        return health(destination)

    @admin.display(description="signing secret")
    def signing(self, destination: Destination) -> str:
        return (
            "set (write-only)"
            if destination.signing_secret_encrypted
            else "none: requests are not signed"
        )

    def save_model(self, request, obj, form, change):
        created = form.save_through_services()
        obj.pk = created.destination.pk
        if created.signing_secret:
            request._formbridge_secrets = [("Signing secret (whsec_)", created.signing_secret)]

    def save_related(self, request, form, formsets, change):
        pass  # no relations edited here; the service wrote everything

    def _secret_page_or(self, request, obj, fallback):
        shown = getattr(request, "_formbridge_secrets", None)
        if not shown:
            return fallback()
        return secret_once(
            request,
            title=f"Destination {obj.tenant_id}/{obj.name} saved",
            secrets=shown,
            back_url=reverse("admin:delivery_destination_change", args=[obj.pk]),
            note="The receiver verifies webhook-signature with it (Standard Webhooks).",
            admin_site=self.admin_site,
        )

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page_or(
            request,
            obj,
            lambda: super(DestinationAdmin, self).response_add(request, obj, post_url_continue),
        )

    def response_change(self, request, obj):
        return self._secret_page_or(
            request, obj, lambda: super(DestinationAdmin, self).response_change(request, obj)
        )

    def delete_model(self, request, obj):
        services.destination_delete(destination=obj)

    def delete_queryset(self, request, queryset):
        for destination in queryset:
            services.destination_delete(destination=destination)

    @admin.action(description="Send a test event to selected destinations", permissions=["change"])
    def send_test(self, request, queryset):
        results = [(d, services.destination_test(destination=d)) for d in queryset]
        return _test_result_page(request, self, results)

    @admin.action(
        description="Enable selected destinations (parked deliveries go at once)",
        permissions=["change"],
    )
    def enable_destinations(self, request, queryset):
        for destination in queryset:
            services.destination_set_enabled(destination=destination, enabled=True)
        self.message_user(request, f"Enabled {len(queryset)} destination(s).", messages.SUCCESS)

    @admin.action(description="Disable selected destinations", permissions=["change"])
    def disable_destinations(self, request, queryset):
        for destination in queryset:
            services.destination_set_enabled(destination=destination, enabled=False)
        self.message_user(request, f"Disabled {len(queryset)} destination(s).", messages.SUCCESS)

    def get_urls(self):
        test = path(
            "<path:object_id>/test/",
            self.admin_site.admin_view(self.test_view),
            name="delivery_destination_test",
        )
        return [test, *super().get_urls()]

    def test_view(self, request, object_id):
        destination = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, destination):
            raise PermissionDenied
        if request.method != "POST":
            return _test_result_page(request, self, [(destination, None)])
        return _test_result_page(
            request, self, [(destination, services.destination_test(destination=destination))]
        )


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "outcome",
        "error",
        "request_url",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(TenantScopedAdmin):
    """History is never edited: no add, no edit, no delete (actions may still replay)."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + list(self.readonly_fields)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "tenant",
        "submission_link",
        "destination",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "updated_at",
    )
    list_filter = (TenantFilter, "status")
    list_select_related = ("submission", "destination")
    search_fields = ("=submission__submission_id",)
    inlines = (AttemptInline,)
    actions = ("replay",)
    show_full_result_count = False

    @admin.display(description="submission")
    def submission_link(self, delivery: Delivery) -> str:
        url = reverse("admin:ingest_submission_change", args=[delivery.submission_id])
        return format_html('<a href="{}">{}</a>', url, delivery.submission.submission_id)

    @admin.display(description="last error")
    def short_error(self, delivery: Delivery) -> str:
        return delivery.last_error[:120]

    @admin.action(description="Replay selected deliveries", permissions=["change"])
    def replay(self, request, queryset):
        ids = list(scope(queryset, request).values_list("id", flat=True))
        result = services.deliveries_replay(delivery_ids=ids, status="all")
        self.message_user(
            request, f"Queued {result.requeued} delivery(ies) again.", messages.SUCCESS
        )


@admin.register(DeadLetter)
class DeadLetterAdmin(DeliveryAdmin):
    list_display = (
        "id",
        "tenant",
        "submission_link",
        "destination",
        "attempts",
        "last_status_code",
        "short_error",
        "updated_at",
    )
    list_filter = (TenantFilter,)
    actions = ("redrive",)

    @admin.action(
        description="Redrive selected dead letters (deliver again)", permissions=["change"]
    )
    def redrive(self, request, queryset):
        ids = list(scope(queryset, request).values_list("id", flat=True))
        result = services.deliveries_replay(delivery_ids=ids, status="dead")
        self.message_user(request, f"Redrove {result.requeued} dead letter(s).", messages.SUCCESS)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "delivery",
        "tenant",
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "outcome",
        "error",
    )
    list_filter = (TenantFilter, "outcome")
    list_select_related = ("delivery",)
    readonly_fields = ("request_headers_pretty", "response_headers_pretty")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="request headers (credentials redacted)")
    def request_headers_pretty(self, attempt: DeliveryAttempt) -> str:
        return pretty_json(attempt.request_headers)

    @admin.display(description="response headers")
    def response_headers_pretty(self, attempt: DeliveryAttempt) -> str:
        return pretty_json(attempt.response_headers)
