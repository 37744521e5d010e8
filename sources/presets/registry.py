"""Every preset, by name. Adding a provider is one module and one line here."""

from __future__ import annotations

from .base import Preset
from .generic_hmac import GenericHmac
from .github import GitHub
from .shopify import Shopify
from .slack import Slack
from .standard_webhooks import StandardWebhooks
from .stripe import Stripe
from .twilio import Twilio
from .typeform import Typeform

PRESETS: tuple[Preset, ...] = (
    Stripe(),
    GitHub(),
    Shopify(),
    Slack(),
    StandardWebhooks(),
    Twilio(),
    Typeform(),
    GenericHmac(),
)
_BY_NAME = {preset.name: preset for preset in PRESETS}


def preset_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def preset_choices() -> list[tuple[str, str]]:
    return [(preset.name, preset.label) for preset in PRESETS]


def preset_for(name: str) -> Preset:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no preset {name!r}; presets: {', '.join(_BY_NAME)}") from None
