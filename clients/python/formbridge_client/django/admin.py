from django.contrib import admin, messages

from .models import OutboxMessage, OutboxStatus


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("submission_id", "form_id", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "form_id")
    search_fields = ("submission_id",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ("requeue",)

    @admin.action(description="Send the selected parked submissions again")
    def requeue(self, request, queryset):
        from .outbox import requeue_parked

        count = requeue_parked(queryset)
        skipped = queryset.exclude(status=OutboxStatus.PENDING).count()
        self.message_user(
            request,
            f"{count} parked submission(s) will be sent by the next flush"
            + (f"; {skipped} selected were not parked" if skipped else ""),
            messages.SUCCESS,
        )
