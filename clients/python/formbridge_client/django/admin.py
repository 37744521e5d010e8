from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("submission_id", "form_id", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "form_id")
    search_fields = ("submission_id",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
