"""The DynamoDB mirror's commands against moto's server: create-table from the one definition,
a resumable backfill, verify (counts and a sample), the global mirror setting and the attempt
log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError

from delivery import dispatcher, tasks
from delivery import services as delivery_services
from delivery.mirror import attempts as mirror_attempts
from delivery.mirror import backfill as mirror_backfill
from delivery.mirror import table as mirror_table
from delivery.models import Destination, MirrorCursor
from delivery.routes import forget_routes, tenant_routes
from formbridge.onboarding import tenant_onboard
from ingest.models import Submission
from tests.delivery.test_commands import run, run_json

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
TABLE = "formbridge-mirror"


def tenant_items(dynamodb, tenant: str = "t_acme") -> list[dict]:
    found, start = [], None
    while True:
        params = {
            "TableName": TABLE, "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :t AND begins_with(GSI1SK, :p)",
            "ExpressionAttributeValues": {":t": {"S": f"TENANT#{tenant}"}, ":p": {"S": "TS#"}},
        }  # fmt: skip
        if start:
            params["ExclusiveStartKey"] = start
        page = dynamodb.query(**params)
        found += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


@pytest.fixture(autouse=True)
def _table_granted(acme):
    """acme's own mirror destinations write TABLE, an operator's grant (test_tenant_bound_targets
    tests the binding itself)."""
    acme.tenant.target_grants = [f"arn:aws:dynamodb:*:*:table/{TABLE}"]
    acme.tenant.save()


@pytest.fixture
def dynamodb(aws_stack):
    return aws_stack.client("dynamodb")


def test_create_table_uses_the_one_definition(dynamodb):
    assert run_json("mirror", "create-table", "--table", TABLE) == {"table": TABLE, "created": True}
    assert run_json("mirror", "create-table", "--table", TABLE)["created"] is False

    described = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2"}
    assert described["KeySchema"] == mirror_table.DEFINITION["KeySchema"]
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")


def test_the_deploy_bundle_holds_the_same_definition():
    shipped = json.loads((ROOT / "deploy/aws/dynamodb-table.json").read_text())
    assert shipped == mirror_table.definition(mirror_table.DEFAULT_NAME)
    printed = json.loads(run("mirror", "table-definition")[0])
    assert printed == shipped


def test_backfill_then_verify_match_postgres(signed, acme, dynamodb, storage_dir):
    mirror_table.create_table(dynamodb, TABLE)
    signed.submit(acme, 120, payload={"email": "jane@example.com"})
    signed.submit(acme, 1, payload={"big": "x" * 400_000})  # offloaded to the object store
    run("destinations", "add", "t_acme", "mirror", "--kind", "dynamodb",
        "--config", json.dumps({"table": TABLE}))  # fmt: skip

    [result] = run_json("mirror", "backfill", "--tenant", "t_acme")

    assert (result["written"], result["resumed"]) == (121, False)
    assert len(tenant_items(dynamodb)) == 121
    [report] = run_json("mirror", "verify", "--tenant", "t_acme", "--sample", "50")
    assert (report["postgres"], report["dynamodb"], report["sampled"], report["ok"]) == (
        121, 121, 50, True,
    )  # fmt: skip
    big = Submission.objects.get(payload_object__isnull=False)
    [item] = [i for i in tenant_items(dynamodb) if i["SK"]["S"] == f"SUB#{big.submission_id}"]
    assert item["payload_offloaded"] == {"BOOL": True} and "payload" not in item
    assert item["payload_sha256"] == {"S": big.payload_object["sha256"]}


def test_backfill_resumes_after_an_interruption(signed, acme, dynamodb, monkeypatch):
    mirror_table.create_table(dynamodb, TABLE)
    signed.submit(acme, 45)
    destination = delivery_services.destination_create(
        tenant=acme.tenant, name="mirror", kind="dynamodb", config={"table": TABLE}
    ).destination
    monkeypatch.setattr(mirror_backfill, "PAGE", 10)
    pages = []

    def crash_after_two(count):
        pages.append(count)
        if len(pages) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, mid-run

    with pytest.raises(KeyboardInterrupt):
        mirror_backfill.backfill(destination, progress=crash_after_two)
    assert len(tenant_items(dynamodb)) == 20
    cursor = MirrorCursor.objects.get(destination=destination)
    assert cursor.finished_at is None and cursor.position["after"]

    resumed = mirror_backfill.backfill(destination)

    assert (resumed.written, resumed.resumed) == (25, True)
    assert len(tenant_items(dynamodb)) == 45


def test_verify_reports_what_is_missing_or_different(signed, acme, dynamodb):
    mirror_table.create_table(dynamodb, TABLE)
    signed.submit(acme, 5)
    run("destinations", "add", "t_acme", "mirror", "--kind", "dynamodb",
        "--config", json.dumps({"table": TABLE}))  # fmt: skip
    run("mirror", "backfill")
    first, second = tenant_items(dynamodb)[:2]
    dynamodb.delete_item(TableName=TABLE, Key={"PK": first["PK"], "SK": first["SK"]})
    dynamodb.update_item(
        TableName=TABLE, Key={"PK": second["PK"], "SK": second["SK"]},
        UpdateExpression="SET form_id = :f", ExpressionAttributeValues={":f": {"S": "tampered"}},
    )  # fmt: skip

    with pytest.raises(CommandError, match="differs"):
        run("mirror", "verify", "--sample", "5")


def test_the_global_mirror_setting_mirrors_every_tenant(signed, acme, globex, dynamodb, settings):
    mirror_table.create_table(dynamodb, TABLE)
    settings.DYNAMODB_MIRROR_TABLE = TABLE
    assert tasks.mirrors_ensure() == 2  # beat's, each minute: tenants made before the setting
    assert tasks.mirrors_ensure() == 0

    signed.submit(acme, 2)
    signed.submit(globex, 1)
    dispatcher.drain()

    assert set(Destination.objects.filter(kind="dynamodb").values_list("tenant_id", "name")) == {
        ("t_acme", "mirror"), ("t_globex", "mirror"),
    }  # fmt: skip
    assert len(tenant_items(dynamodb, "t_acme")) == 2
    assert len(tenant_items(dynamodb, "t_globex")) == 1
    # What the live connector wrote is exactly what a backfill would write.
    assert [r["ok"] for r in run_json("mirror", "verify")] == [True, True]


def test_reading_a_tenants_routes_makes_no_destination(signed, acme, settings):
    """The mirror's destination used to be made inside the routes cache's fill, without the
    destination service: a read that wrote. Now it is made where destinations are made."""
    settings.DYNAMODB_MIRROR_TABLE = TABLE
    forget_routes()

    assert tenant_routes("t_acme") == ()
    assert not Destination.objects.filter(tenant_id="t_acme").exists()


def test_a_tenant_onboarded_with_the_mirror_set_is_mirrored_from_its_first_lead(dynamodb, settings):
    mirror_table.create_table(dynamodb, TABLE)
    settings.DYNAMODB_MIRROR_TABLE = TABLE

    tenant_onboard(tenant_id="t_new", name="New")

    mirror = Destination.objects.get(tenant_id="t_new", name="mirror")
    assert (mirror.kind, mirror.config["table"], mirror.enabled) == ("dynamodb", TABLE, True)
    assert mirror.disabled_reason == "" and mirror.consecutive_failures == 0


def test_delivery_attempts_are_copied_to_the_mirror(signed, acme, dynamodb, receiver, monkeypatch):
    mirror_table.create_table(dynamodb, TABLE)
    delivery_services.destination_create(
        tenant=acme.tenant, name="mirror", kind="dynamodb", config={"table": TABLE}
    )
    hook = delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")}
    ).destination
    [submission_id] = signed.submit(acme)
    dispatcher.drain()
    monkeypatch.setattr(mirror_attempts, "LAG_SECONDS", 0)

    assert run_json("mirror", "copy-attempts") == {"copied": 2}
    assert run_json("mirror", "copy-attempts") == {"copied": 0}  # the cursor moved on

    items = dynamodb.query(
        TableName=TABLE, KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": f"SUB#{submission_id}"}},
    )["Items"]  # fmt: skip
    crm = [i for i in items if i["destination"]["S"] == "crm"]
    assert [i["SK"]["S"] for i in crm] == [f"DEST#{hook.id}#ATTEMPT#0001"]
    assert crm[0]["GSI2PK"] == {"S": f"DEST#{hook.id}"}
    assert crm[0]["GSI2SK"]["S"].startswith("STATUS#success#")
    assert crm[0]["status_code"] == {"N": "200"}


def test_batch_writes_retry_unprocessed_items_and_throttling(signed, acme, aws_stack, dynamodb):
    mirror_table.create_table(dynamodb, TABLE)
    signed.submit(acme, 30)
    run("destinations", "add", "t_acme", "mirror", "--kind", "dynamodb",
        "--config", json.dumps({"table": TABLE}))  # fmt: skip
    # The first batch of 25: 7 come back unprocessed; then a whole call is throttled.
    aws_stack.proxy.hold_back_next_batch(7)
    aws_stack.proxy.throttle_next_batch()

    [result] = run_json("mirror", "backfill")

    assert result["written"] == 30
    assert len(tenant_items(dynamodb)) == 30
    batches = [c for c in aws_stack.proxy.calls if "BatchWriteItem" in str(c.headers)]
    assert len(batches) >= 3  # the partial one, the throttled one, and the retries
