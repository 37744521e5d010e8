from django.apps import AppConfig


class FormBridgeConfig(AppConfig):
    name = "formbridge_client.django"
    label = "formbridge_client"
    verbose_name = "FormBridge outbox"
    default_auto_field = "django.db.models.BigAutoField"
