"""The admin's destination form: the fields of the API, validated by the same service
(delivery.services.destination_validate: SSRF guard, mapping compiles, auth fields, limits)."""

from __future__ import annotations

from typing import Any

from django import forms

from . import services
from .connectors import registry
from .models import Destination
from .validation import DestinationInvalid

SIGNING_CHOICES = (
    ("keep", "Keep as it is"),
    ("generate", "Generate a new whsec_ secret (shown once)"),
    ("none", "Do not sign requests"),
)
# Model fields the form edits directly and hands to the service as they are (the service's
# settings, but for kind and config, which the form shows its own way).
SETTINGS_FIELDS = tuple(f for f in services.DESTINATION_DEFAULTS if f not in ("kind", "config"))


class DestinationForm(forms.ModelForm):
    url = forms.CharField(
        required=False,
        max_length=2048,
        widget=forms.URLInput(attrs={"size": 80}),
        help_text="Where REST deliveries are sent (config.url). Private addresses are refused "
        "unless allow-listed (DELIVERY_ALLOWED_NETWORKS).",
    )
    config = forms.JSONField(
        required=False,
        initial=dict,
        help_text=f"The kind's settings as JSON. {registry.config_help()}. The README lists "
        "every key.",
    )
    auth_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Token, password or client secret. Write-only: empty keeps the stored one.",
    )
    signing_action = forms.ChoiceField(
        choices=SIGNING_CHOICES, initial="keep", label="Signing secret"
    )
    request = None  # set by the admin

    class Meta:
        model = Destination
        fields = ("tenant", "name", "kind", "enabled", *SETTINGS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            config = dict(self.instance.config)
            self.fields["url"].initial = config.pop("url", "")
            self.fields["config"].initial = config
        else:
            self.fields["signing_action"].choices = SIGNING_CHOICES[1:]
            self.fields["signing_action"].initial = "generate"
        if "kind" in self.fields:
            self.fields["kind"] = forms.ChoiceField(
                choices=registry.kind_choices(), initial=registry.DEFAULT_KIND
            )

    def _settings(self) -> dict[str, Any]:
        """The form's fields as the service's arguments, the same on validation and on save."""
        data = self.cleaned_data
        config = dict(data.get("config") or {})
        if not self.instance._state.adding:
            # The form shows the whole config: a key taken out of it is removed (merge patch).
            config = {**dict.fromkeys(self.instance.config), **config}
        settings = {
            "url": data.get("url") or None,
            "config": config,
            "enabled": data.get("enabled", True),
            **{name: data.get(name) for name in SETTINGS_FIELDS if name in data},
        }
        if self.instance._state.adding:
            settings["kind"] = data.get("kind", registry.DEFAULT_KIND)
        return settings

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        tenant = self.instance.tenant if not self.instance._state.adding else data.get("tenant")
        if tenant is None:
            return data
        try:
            services.destination_validate(
                tenant=tenant,
                name=data.get("name", ""),
                auth_secret=data.get("auth_secret") or None,
                destination=None if self.instance._state.adding else self.instance,
                **self._settings(),
            )
        except DestinationInvalid as exc:
            self.add_error(self._form_field(exc.field), exc.message)
        return data

    def _form_field(self, field: str | None) -> str | None:
        """The form field showing a service's field: config.url is the url box, any other
        config key the config box, a field the form lacks the form as a whole."""
        if field == "config.url":
            return "url"
        if field and field.startswith("config."):
            return "config"
        return field if field in self.fields else None

    def save_through_services(self) -> services.DestinationWithSecret:
        """Create or update through the service (never ModelForm.save)."""
        data, settings = self.cleaned_data, self._settings()
        action = data.get("signing_action", "keep")
        if self.instance._state.adding:
            return services.destination_create(
                tenant=data["tenant"],
                name=data["name"],
                auth_secret=data.get("auth_secret") or "",
                generate_signing_secret=action == "generate",
                **settings,
            )
        stored = Destination.objects.get(pk=self.instance.pk)
        signing: dict[str, Any] = {}
        if action == "generate":
            signing["generate_signing_secret"] = True
        elif action == "none":
            signing["signing_secret"] = ""
        return services.destination_update(
            destination=stored,
            name=data["name"],
            auth_secret=data.get("auth_secret") or None,
            **signing,
            **settings,
        )
