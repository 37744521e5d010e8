"""A staff operator of tenant A sees none of tenant B's objects on any admin page, filter, search
or action: checked by URL, not only by what the list shows."""

from __future__ import annotations

import re

import pytest

from delivery.models import Delivery, Destination
from tenants.models import ApiKey, SigningSecret
from tests.admin.conftest import DESTINATION_FORM, objects_of

pytestmark = pytest.mark.django_db
OTHER = "t_globex"
# Strings that exist only in tenant B's rows.
B_MARKERS = (
    "t_globex",
    "sub-t_globex",
    "crm-t_globex",
    "dead-t_globex",
    "form-t_globex",
    "key-t_globex",
)


def assert_no_b(response, echoed: str = ""):
    """No B data on the page; `echoed` is what the user typed, which the admin may repeat."""
    html = response.content.decode()
    if echoed:
        # The exact term typed (in a URL, the search box, a "does not exist" message); B's data
        # that merely contains it ("sub-t_globex") still counts.
        html = re.sub(rf"(?<![_-]){re.escape(echoed)}(?![\w-])", "", html)
    for marker in B_MARKERS:
        assert marker not in html, f"{marker} leaked into {response.request['PATH_INFO']}"


def test_every_changelist_shows_a_and_none_of_b(client, alice):
    for prefix, ids in objects_of("t_acme").items():
        response = client.get(f"/admin/{prefix.replace('_', '/', 1)}/")
        assert response.status_code == 200, prefix
        assert_no_b(response)
        assert len(response.context["cl"].result_list) == len(ids), prefix


@pytest.mark.parametrize("suffix", ["change/", "history/", "delete/"])
def test_b_objects_are_not_found_by_url(client, alice, suffix):
    for prefix, ids in objects_of(OTHER).items():
        for pk in ids:
            response = client.get(
                f"/admin/{prefix.replace('_', '/', 1)}/{pk}/{suffix}", follow=True
            )
            assert_no_b(response, echoed=str(pk))
            # The admin answers "does not exist" (a redirect to the index) or 403/404.
            assert response.redirect_chain or response.status_code in (403, 404), (prefix, pk)


def test_custom_pages_of_b_are_404(client, alice):
    destination = Destination.objects.filter(tenant_id=OTHER).first()
    assert client.get(f"/admin/tenants/tenant/{OTHER}/rotate-secret/").status_code == 404
    assert (
        client.post(
            f"/admin/tenants/tenant/{OTHER}/rotate-secret/", {"overlap_hours": "1"}
        ).status_code
        == 404
    )
    assert client.get(f"/admin/delivery/destination/{destination.pk}/test/").status_code == 404
    assert client.post(f"/admin/delivery/destination/{destination.pk}/test/").status_code == 404
    assert SigningSecret.objects.filter(tenant_id=OTHER).count() == 1


def test_search_and_filters_never_reach_b(client, alice):
    for url in (
        "/admin/ingest/submission/?q=sub-t_globex",
        "/admin/ingest/submission/?tenant=t_globex",
        "/admin/ingest/submission/?form_id=form-t_globex",
        "/admin/delivery/delivery/?q=sub-t_globex",
        "/admin/delivery/deadletter/?tenant=t_globex",
        "/admin/delivery/destination/?q=crm-t_globex",
        "/admin/tenants/apikey/?q=key-t_globex",
        "/admin/tenants/tenant/?q=t_globex",
    ):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        if response.status_code == 200:
            assert len(response.context["cl"].result_list) == 0, url
            assert_no_b(response, echoed=url.rsplit("=", 1)[1])


def test_actions_on_b_objects_do_nothing(client, alice):
    b_dead = list(
        Delivery.objects.filter(tenant_id=OTHER, status="dead").values_list("pk", flat=True)
    )
    b_keys = list(ApiKey.objects.filter(tenant_id=OTHER).values_list("pk", flat=True))
    b_destinations = list(Destination.objects.filter(tenant_id=OTHER).values_list("pk", flat=True))
    b_submissions = objects_of(OTHER)["ingest_submission"]
    posts = [
        ("/admin/delivery/deadletter/", "redrive", b_dead),
        ("/admin/delivery/delivery/", "replay", b_dead),
        ("/admin/ingest/submission/", "replay", b_submissions),
        ("/admin/tenants/apikey/", "revoke_keys", b_keys),
        ("/admin/delivery/destination/", "disable_destinations", b_destinations),
        ("/admin/delivery/destination/", "send_test", b_destinations),
        ("/admin/tenants/tenant/", "disable_tenants", [OTHER]),
    ]
    for url, action, ids in posts:
        response = client.post(
            url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True
        )
        assert_no_b(response)

    assert set(Delivery.objects.filter(pk__in=b_dead).values_list("status", flat=True)) == {"dead"}
    assert not ApiKey.objects.filter(pk__in=b_keys, revoked_at__isnull=False).exists()
    assert all(Destination.objects.filter(pk__in=b_destinations).values_list("enabled", flat=True))
    from tenants.models import Tenant

    assert Tenant.objects.get(pk=OTHER).is_active


def test_add_forms_offer_only_a_and_refuse_b(client, alice):
    form = client.get("/admin/tenants/apikey/add/")
    assert_no_b(form)
    response = client.post(
        "/admin/tenants/apikey/add/", {"tenant": OTHER, "name": "sneaky", "scopes": ["read"]}
    )
    assert response.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.filter(name="sneaky").exists()
    response = client.post(
        "/admin/delivery/destination/add/",
        {**DESTINATION_FORM, "tenant": OTHER, "name": "sneaky", "url": "http://127.0.0.1:9/x"},
    )
    assert response.status_code == 200
    assert not Destination.objects.filter(name="sneaky").exists()
    assert client.get("/admin/tenants/tenant/add/").status_code == 403  # superusers only


def test_dashboard_shows_only_a(client, alice):
    for url in ("/admin/dashboard/", "/admin/dashboard/?tenant=t_globex"):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_b(response)
        assert 'data-tenant="t_acme"' in response.content.decode()


def test_a_viewer_may_look_but_not_act(client, world):
    from django.contrib.auth import get_user_model

    from tenants.operators import operator_grant

    viewer = get_user_model().objects.create_user("val", password="val-pass-123")
    operator_grant(user=viewer, tenant=world["t_acme"].tenant, role="viewer")
    client.force_login(viewer)
    dead = list(
        Delivery.objects.filter(tenant_id="t_acme", status="dead").values_list("pk", flat=True)
    )

    assert client.get("/admin/ingest/submission/").status_code == 200
    client.post(
        "/admin/delivery/deadletter/",
        {"action": "redrive", "_selected_action": [str(p) for p in dead]},
    )

    assert set(Delivery.objects.filter(pk__in=dead).values_list("status", flat=True)) == {"dead"}
    assert client.get("/admin/delivery/destination/add/").status_code == 403


def test_a_staff_user_without_tenants_sees_nothing(client, world):
    from django.contrib.auth import get_user_model

    from tenants.operators import role_group

    nobody = get_user_model().objects.create_user("nobody", password="x-pass-123", is_staff=True)
    nobody.groups.add(role_group("operator"))
    client.force_login(nobody)

    for prefix in objects_of("t_acme"):
        response = client.get(f"/admin/{prefix.replace('_', '/', 1)}/")
        assert response.status_code == 403, prefix


TENANT_INLINES = {
    f"{p}-{n}": "0"
    for p in ("signing_secrets", "api_keys")
    for n in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def test_an_operator_may_not_widen_what_their_tenant_reaches(client, alice):
    """Grants are the instance's authority: a tenant's own operator (an agency's client) may
    not grant it another tenant's secrets, queues or the relay's From (issue 27)."""
    from tenants.models import Tenant

    response = client.post("/admin/tenants/tenant/t_acme/change/", {
        "name": "Acme", "secret_grants": '["formbridge/refs/t_globex/*"]',
        "target_grants": '["arn:aws:sqs:*:*:*"]', "mail_senders": '["ceo@bank.example"]',
        **TENANT_INLINES,
    })  # fmt: skip

    assert response.status_code == 302
    after = Tenant.objects.get(pk="t_acme")
    assert (after.secret_grants, after.target_grants, after.mail_senders) == ([], [], [])


def test_a_superuser_grants_in_the_admin_and_a_bad_grant_is_shown_not_saved(client, root):
    from tenants.models import Tenant

    base = {"name": "Acme", "is_active": "on", "rate_limit_per_second": "50",
            "daily_quota": "0", "max_payload_bytes": "1048576", "retention_days": "30",
            "secret_grants": "[]", "mail_senders": "[]", **TENANT_INLINES}  # fmt: skip

    refused = client.post(
        "/admin/tenants/tenant/t_acme/change/", {**base, "target_grants": '["*"]'}
    )
    granted = client.post(
        "/admin/tenants/tenant/t_acme/change/",
        {**base, "target_grants": '["arn:aws:sqs:eu-west-1:123456789012:acme-*"]'},
    )

    assert refused.status_code == 200 and b"ARN" in refused.content
    assert granted.status_code == 302, granted.content[:500]
    assert Tenant.objects.get(pk="t_acme").target_grants == [
        "arn:aws:sqs:eu-west-1:123456789012:acme-*"
    ]


def test_an_operator_may_rename_their_tenant_but_not_lift_its_limits(client, alice):
    from tenants.models import Tenant

    form = {
        "name": "Acme Renamed",
        "daily_quota": "999999",
        "rate_limit_per_second": "999",
        "max_payload_bytes": "99999999",
        "retention_days": "3650",
        **{
            f"{p}-{n}": "0"
            for p in ("signing_secrets", "api_keys")
            for n in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
    }
    before = Tenant.objects.get(pk="t_acme")

    response = client.post("/admin/tenants/tenant/t_acme/change/", form)

    assert response.status_code == 302
    after = Tenant.objects.get(pk="t_acme")
    assert after.name == "Acme Renamed"
    limits = ("daily_quota", "rate_limit_per_second", "max_payload_bytes", "retention_days")
    assert [getattr(after, f) for f in limits] == [getattr(before, f) for f in limits]
