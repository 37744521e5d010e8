from django.apps import AppConfig


class FormBridgeConfig(AppConfig):
    """The project shell as an app: its admin registrations and the commands that compose apps."""

    name = "formbridge"
    verbose_name = "FormBridge"
