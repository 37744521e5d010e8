from django.apps import AppConfig


class WebformsConfig(AppConfig):
    name = "webforms"
    verbose_name = "Browser forms"
