"""IAM coverage of the DynamoDB mirror (moto enforces no IAM; tests/deploy/iam.py does): the
release task creates the table, backfills and verifies it (one-off commands); the worker writes
each stored submission live and copies the attempt log (beat's schedule); web only stores. Each
call is evaluated against that process's role in deploy/aws/services.yaml with the stack's
MirrorTableName."""

from __future__ import annotations

import pytest

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.mirror import attempts as mirror_attempts
from delivery.mirror import table as mirror_table
from delivery.mirror.scope import ensure_mirrors
from tests.delivery.test_commands import run, run_json
from tests.deploy.iam import CONNECTOR_TARGETS, MIRROR_TABLE, judge, recorded_calls

pytestmark = pytest.mark.django_db


# acme's own DynamoDB destination, one of the stack's ConnectorTableArns: a mirror as well.
ACME_TABLE = CONNECTOR_TARGETS["ConnectorTableArns"]


@pytest.fixture(autouse=True)
def _tables_granted(acme, globex):
    for tenant in (acme.tenant, globex.tenant):
        tenant.target_grants = [f"arn:aws:dynamodb:*:*:table/{MIRROR_TABLE}", ACME_TABLE]
        tenant.save()


def test_every_mirror_call_of_each_process_is_allowed_by_its_role(
    aws_stack, signed, acme, globex, receiver, settings, monkeypatch
):
    signed.submit(globex, 2)  # stored before the mirror existed: only a backfill copies them
    dispatcher.drain()
    settings.DYNAMODB_MIRROR_TABLE = MIRROR_TABLE
    monkeypatch.setattr(mirror_attempts, "LAG_SECONDS", 0)
    delivery_services.destination_create(tenant=acme.tenant, name="crm", url=receiver.url("/h"))
    acme_table = ACME_TABLE.rsplit("/", 1)[1]
    mirror_table.create_table(aws_stack.client("dynamodb"), acme_table)
    delivery_services.destination_create(
        tenant=acme.tenant, name="leads", kind="dynamodb", config={"table": acme_table}
    )
    calls = {}

    with recorded_calls() as calls["release"]:  # before the first deploy that mirrors
        assert run_json("mirror", "create-table")["created"] is True
    with recorded_calls() as calls["worker"]:  # beat's ensure_mirrors: each tenant's mirror
        assert ensure_mirrors() == 2
    with recorded_calls() as calls["web"]:
        signed.submit(acme, 3)
    with recorded_calls() as made:  # the live writes, then beat's attempt copy
        assert dispatcher.drain() == 9  # crm, leads and the instance's mirror, 3 leads each
        assert mirror_attempts.copy_all_attempts() == 18  # 9 attempts, to each acme mirror
    calls["worker"] += made
    with recorded_calls() as made:  # one-off commands after an outage or a migration
        filled = run_json("mirror", "backfill", "--restart")
        checked = run_json("mirror", "verify", "--sample", "3")
        run("mirror", "copy-attempts")
    calls["release"] += made

    assert sorted(r["written"] for r in filled) == [2, 3, 3]  # globex's shard count recorded
    assert [r["ok"] for r in checked] == [True, True, True]
    assert calls["web"] == []  # storing a lead calls no AWS API: the worker mirrors it
    assert {c.action for c in calls["worker"]} >= {"dynamodb:BatchWriteItem"}
    assert {c.action for c in calls["release"]} >= {
        "dynamodb:CreateTable", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:PutItem",
    }  # fmt: skip
    assert judge(calls) == {"release": [], "web": [], "worker": []}
