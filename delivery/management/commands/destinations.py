"""manage.py destinations add|list|disable|enable|test|delete."""

import json
import os

from django.core.management.base import CommandError

from core.cli import SubcommandCommand, add_json_flag, add_overlap_flag, format_table, require
from core.timeutil import isoformat_z
from delivery import selectors, services
from delivery.connectors import registry
from delivery.models import AuthMode, Destination, FilesAs
from tenants.cli import tenant_named

GENERATE = "generate"


def _destination_data(destination: Destination) -> dict:
    return {
        "id": str(destination.id),
        "tenant": destination.tenant_id,
        "name": destination.name,
        "kind": destination.kind,
        "url": destination.config.get("url"),
        "config": registry.shown_config(destination.kind, destination.config),
        "enabled": destination.enabled,
        "filter": destination.filter,
        "auth_mode": destination.auth_mode,
        "signed": bool(destination.signing_secret_encrypted),
        "retry_schedule": destination.retry_schedule,
        "max_attempts": destination.max_attempts,
        "consecutive_failures": destination.consecutive_failures,
        "circuit_open_until": destination.circuit_open_until,
        "disabled_reason": destination.disabled_reason,
    }


# Where each kind sends, as the list shows it (the first of these keys its config has).
_TARGET_KEYS = (
    "url", "queue_url", "event_bus", "bucket", "table", "channel", "webhook_url", "to",
    "login_url", "mode",
)  # fmt: skip


def _target(destination: Destination) -> str:
    shown = registry.shown_config(destination.kind, destination.config)
    value = next((shown[key] for key in _TARGET_KEYS if shown.get(key)), "")
    return ", ".join(value) if isinstance(value, list) else str(value)


def _headers(pairs: list[str]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise CommandError(f"--header takes NAME:VALUE, not {pair!r}")
        headers[name.strip()] = value.strip()
    return headers


def _schedule(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise CommandError(
            "--retry-schedule takes seconds separated by commas, e.g. 5,60,300"
        ) from None


class Command(SubcommandCommand):
    help = "Add, list, enable, disable, test and delete destinations."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        add = sub.add_parser("add", help="Add a destination.")
        add.add_argument("tenant")
        add.add_argument("name")
        add.add_argument("--url", help="Where to send (rest).")
        add.add_argument(
            "--kind",
            default=registry.DEFAULT_KIND,
            choices=registry.available_kinds(),
            help=f"{registry.DEFAULT_KIND} (default) or another connector's kind.",
        )
        add.add_argument(
            "--config",
            help="The kind's settings as JSON, e.g. "
            '\'{"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/leads"}\'.',
        )
        add.add_argument(
            "--auth-secret",
            help="The credential (token, password, client secret); stored encrypted, never shown. "
            "--auth-secret-env keeps it out of the shell history.",
        )
        add.add_argument("--method", default="POST")
        add.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
        add.add_argument("--mapping", help="JMESPath expression, or a JSON object of them.")
        add.add_argument(
            "--signing-secret",
            nargs="?",
            const=GENERATE,
            help="Sign with Standard Webhooks; bare: generate a whsec_ secret and print it once.",
        )
        for field in ("form-id", "source", "event-type"):
            add.add_argument(
                f"--{field}",
                action="append",
                default=[],
                help=f"Only submissions with this {field} (repeatable, * wildcards).",
            )
        add.add_argument("--max-attempts", type=int)
        add.add_argument("--retry-schedule", help="Seconds after each failure, e.g. 5,60,300.")
        add.add_argument("--timeout", type=float, default=15.0)
        add.add_argument("--max-concurrency", type=int, default=10)
        add.add_argument("--rate-limit", type=int, default=0, help="Requests per second (0: none).")
        add.add_argument(
            "--files-as",
            choices=FilesAs.values,
            default=FilesAs.LINK,
            help="Stored files and large payloads: a signed, expiring link (default) or inline.",
        )
        add.add_argument(
            "--ordered-by",
            default="",
            metavar="JMESPATH",
            help="Ordered (FIFO) delivery by this key, e.g. form_id or payload.customer_id.",
        )
        add.add_argument("--auth-mode", default=AuthMode.NONE, choices=AuthMode.values)
        add.add_argument("--auth-header", help="Header for api_key_header (default X-API-Key).")
        add.add_argument("--auth-username", help="Username for basic auth.")
        add.add_argument("--auth-secret-env", help="Read the auth secret from this env variable.")
        add.add_argument("--token-url")
        add.add_argument("--client-id")
        add.add_argument("--scope")
        sub.add_parser("list", help="List a tenant's destinations.").add_argument("tenant")
        for name in ("disable", "enable", "test", "delete"):
            action = sub.add_parser(name, help=f"{name.title()} a destination.")
            action.add_argument("tenant")
            action.add_argument("name")
        rotate = sub.add_parser(
            "rotate-secret",
            help="Issue a new signing secret; the old one keeps signing beside it for the overlap.",
        )
        rotate.add_argument("tenant")
        rotate.add_argument("name")
        add_overlap_flag(rotate, "the current secret keeps signing beside the new one")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def _destination(self, tenant, name):
        return require(
            selectors.destination_get(tenant=tenant_named(tenant), name=name),
            f"No destination {name!r} for {tenant}.",
        )

    def handle_add(self, *, tenant, name, **options):
        url = options["url"]
        try:
            config = json.loads(options["config"]) if options["config"] else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from None
        if not isinstance(config, dict):
            raise CommandError("--config takes a JSON object")
        if options["kind"] == registry.DEFAULT_KIND:
            config.setdefault("method", options["method"])
            config.setdefault("headers", _headers(options["header"]))
        if options["mapping"]:
            try:
                config["mapping"] = json.loads(options["mapping"])
            except json.JSONDecodeError:
                config["mapping"] = options["mapping"]  # a bare JMESPath expression
        if registry.is_pull(options["kind"]):
            url, config = None, {}
        config = {key: value for key, value in config.items() if value not in (None, {})}
        auth_config = {
            key: options[option]
            for key, option in (
                ("header", "auth_header"),
                ("username", "auth_username"),
                ("token_url", "token_url"),
                ("client_id", "client_id"),
                ("scope", "scope"),
            )
            if options[option]
        }
        secret_env = options["auth_secret_env"]
        auth_secret = os.environ.get(secret_env, "") if secret_env else ""
        if secret_env and not auth_secret:
            raise CommandError(f"${secret_env} is empty or unset")
        auth_secret = options["auth_secret"] or auth_secret
        signing = options["signing_secret"]
        created = services.destination_create(
            tenant=tenant_named(tenant),
            name=name,
            kind=options["kind"],
            url=url,
            config=config,
            auth_mode=options["auth_mode"],
            auth_config=auth_config,
            auth_secret=auth_secret,
            signing_secret=None if signing in (None, GENERATE) else signing,
            generate_signing_secret=signing == GENERATE,
            filter={
                "form_id": options["form_id"],
                "source": options["source"],
                "event_type": options["event_type"],
            },
            retry_schedule=_schedule(options["retry_schedule"]),
            max_attempts=options["max_attempts"],
            timeout_seconds=options["timeout"],
            max_concurrency=options["max_concurrency"],
            rate_limit_per_second=options["rate_limit"],
            files_as=options["files_as"],
            ordering_key=options["ordered_by"],
        )
        data = _destination_data(created.destination)
        text = f"Added {options['kind']} destination {name} for {tenant}."
        if created.signing_secret:
            data["signing_secret"] = created.signing_secret
            text += (
                f"\nSigning secret (shown once, give it to the receiver): {created.signing_secret}"
            )
        self.emit(options, data, text)

    def handle_list(self, *, tenant, **options):
        destinations = list(selectors.destination_list(tenant=tenant_named(tenant)))
        self.emit(
            options,
            [_destination_data(d) for d in destinations],
            format_table(
                ["NAME", "KIND", "TARGET", "ENABLED", "FAILURES", "DISABLED REASON"],
                [
                    [
                        d.name,
                        d.kind,
                        _target(d),
                        d.enabled,
                        d.consecutive_failures,
                        d.disabled_reason,
                    ]
                    for d in destinations
                ],
            ),
        )

    def handle_disable(self, *, tenant, name, **options):
        destination = services.destination_set_enabled(
            destination=self._destination(tenant, name), enabled=False
        )
        self.emit(options, _destination_data(destination), f"Disabled {name}.")

    def handle_enable(self, *, tenant, name, **options):
        destination = services.destination_set_enabled(
            destination=self._destination(tenant, name), enabled=True
        )
        self.emit(options, _destination_data(destination), f"Enabled {name}.")

    def handle_rotate_secret(self, *, tenant, name, overlap_hours, **options):
        rotated = services.destination_rotate_secret(
            destination=self._destination(tenant, name), overlap_hours=overlap_hours
        )
        until = [isoformat_z(moment) for moment in rotated.previous_secrets_expire_at]
        data = {"name": name, "signing_secret": rotated.signing_secret,
                "previous_secrets_expire_at": until}  # fmt: skip
        overlap = (
            f"The previous one signs too until {until[0]}." if until else "Nothing else signs."
        )
        self.emit(
            options,
            data,
            f"New signing secret for {name} (shown once, store it now): "
            f"{rotated.signing_secret}\n{overlap}",
        )

    def handle_delete(self, *, tenant, name, **options):
        cancelled = services.destination_delete(destination=self._destination(tenant, name))
        self.emit(
            options,
            {"deleted": name, "cancelled_deliveries": cancelled},
            f"Deleted {name}; {cancelled} open deliveries cancelled (history kept).",
        )

    def handle_test(self, *, tenant, name, **options):
        outcome = services.destination_test(destination=self._destination(tenant, name))
        data = {
            "outcome": outcome.outcome,
            "status_code": outcome.status_code,
            "duration_ms": outcome.duration_ms,
            "error": outcome.error,
            "response_body": outcome.response_body,
        }
        self.emit(
            options,
            data,
            f"{outcome.outcome}: HTTP {outcome.status_code or '-'} in {outcome.duration_ms} ms"
            + (f" ({outcome.error})" if outcome.error else ""),
        )
        if outcome.outcome != "success":
            raise CommandError(f"test delivery to {name} failed: {outcome.error}")
