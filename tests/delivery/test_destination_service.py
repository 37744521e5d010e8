"""The destination service takes every field its entry points need, and names the field at fault."""

from __future__ import annotations

import pytest

from delivery import services
from delivery.admin_forms import DestinationForm
from delivery.models import Destination
from delivery.validation import DestinationInvalid


def test_url_and_enabled_are_service_fields(acme, receiver):
    created = services.destination_create(
        tenant=acme.tenant, name="crm", url=receiver.url("/hook"), enabled=False
    )

    stored = Destination.objects.get(pk=created.destination.pk)
    assert stored.config["url"] == receiver.url("/hook")
    assert stored.enabled is False
    assert stored.disabled_reason == "disabled by an operator"


def test_a_config_update_is_a_merge_patch_and_enabled_resets_health(acme, receiver):
    destination = services.destination_create(
        tenant=acme.tenant,
        name="crm",
        url=receiver.url("/hook"),
        config={"method": "PUT", "headers": {"X-Team": "a"}},
        enabled=False,
    ).destination

    services.destination_update(
        destination=destination, config={"method": "PATCH", "headers": None}, enabled=True
    )

    stored = Destination.objects.get(pk=destination.pk)
    assert stored.config == {"url": receiver.url("/hook"), "method": "PATCH", "headers": {}}
    assert stored.enabled is True
    assert stored.disabled_reason == ""


def test_headers_stay_behind_when_the_url_moves_host_unless_given_again(acme, receiver):
    destination = services.destination_create(
        tenant=acme.tenant,
        name="crm",
        url=receiver.url("/hook"),
        config={"headers": {"X-Token": "abc"}},
    ).destination
    elsewhere = receiver.url("/hook").replace("127.0.0.1", "localhost")

    services.destination_update(destination=destination, url=elsewhere)

    stored = Destination.objects.get(pk=destination.pk)
    assert stored.config["url"] == elsewhere
    assert stored.config["headers"] == {}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"url": "gopher://example.com"}, "config.url"),
        ({"config": {"method": "DELETE"}}, "config.method"),
        ({"config": {"mapping": "a.[["}}, "config.mapping"),
        ({"kind": "carrier-pigeon"}, "kind"),
    ],
)
def test_errors_name_their_field(acme, receiver, settings, field):
    settings = {"url": receiver.url("/hook"), **settings}

    with pytest.raises(DestinationInvalid) as refused:
        services.destination_create(tenant=acme.tenant, name="crm", **settings)

    assert refused.value.field == field
    assert not Destination.objects.filter(tenant=acme.tenant, name="crm").exists()


@pytest.mark.parametrize(
    ("data", "form_field"),
    [({"url": "gopher://example.com"}, "url"), ({"config": '{"method": "DELETE"}'}, "config")],
)
def test_the_admin_form_places_an_error_by_its_field(acme, receiver, data, form_field):
    form = DestinationForm(
        data={
            "tenant": acme.tenant.pk,
            "name": "crm",
            "kind": "rest",
            "enabled": "on",
            "url": receiver.url("/hook"),
            "config": "{}",
            "auth_mode": "none",
            "signing_action": "none",
            "timeout_seconds": "15",
            "connect_timeout_seconds": "5",
            "max_concurrency": "10",
            "rate_limit_per_second": "0",
            "files_as": "link",
            **data,
        }
    )

    assert not form.is_valid()
    assert list(form.errors) == [form_field], form.errors


def _bearer_destination(acme, receiver):
    return services.destination_create(
        tenant=acme.tenant,
        name="crm",
        url=receiver.url("/hook"),
        auth_mode="bearer",
        auth_secret="crm-token-123",
    ).destination


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "inbox"}, "kind"),
        ({"url": "http://localhost:9/elsewhere"}, "auth_secret"),  # the secret would follow
    ],
)
def test_validate_refuses_what_update_would(acme, receiver, changes, field):
    destination = _bearer_destination(acme, receiver)

    with pytest.raises(DestinationInvalid) as checked:
        services.destination_validate(
            tenant=acme.tenant, name="crm", destination=destination, **changes
        )
    with pytest.raises(DestinationInvalid) as updated:
        services.destination_update(destination=destination, **changes)

    assert checked.value.field == updated.value.field == field
    stored = Destination.objects.get(pk=destination.pk)
    assert (stored.kind, stored.config["url"]) == ("rest", receiver.url("/hook"))


def test_the_admin_form_asks_for_the_secret_again_when_the_host_moves(acme, receiver):
    destination = _bearer_destination(acme, receiver)
    data = {
        "tenant": acme.tenant.pk,
        "name": "crm",
        "kind": "rest",
        "enabled": "on",
        "url": "http://localhost:9/elsewhere",
        "config": "{}",
        "auth_mode": "bearer",
        "auth_config": "{}",
        "signing_action": "keep",
        "timeout_seconds": "15",
        "connect_timeout_seconds": "5",
        "max_concurrency": "10",
        "rate_limit_per_second": "0",
        "files_as": "link",
    }

    refused = DestinationForm(instance=destination, data=data)
    accepted = DestinationForm(instance=destination, data={**data, "auth_secret": "new-token"})

    assert not refused.is_valid()
    assert list(refused.errors) == ["auth_secret"], refused.errors
    assert accepted.is_valid(), accepted.errors
