"""IAM coverage of the AWS connectors (moto enforces no IAM; tests/deploy/iam.py does): every
call the worker makes to send to an SQS queue, an EventBridge bus, an S3 bucket and a DynamoDB
table is allowed by the worker's role in deploy/aws/services.yaml, given the four targets as the
operator lists them in the stack's Connector*Arns; and a target left out of them is denied."""

from __future__ import annotations

from delivery.mirror import attempts as mirror_attempts
from delivery.mirror import table as mirror_table
from delivery.models import DeliveryStatus
from tests.deploy.iam import (
    CONNECTOR_TARGETS,
    allowed,
    judge,
    recorded_calls,
    role_statements,
    services_resolver,
)


def worker_statements(**targets: str) -> list[dict]:
    resolver = services_resolver(**targets)
    return role_statements(resolver, "WorkerTaskRole")


def test_the_worker_role_allows_every_call_of_the_four_aws_connectors(
    aws_stack, destination, deliver, capsys, monkeypatch
):
    monkeypatch.setattr(mirror_attempts, "LAG_SECONDS", 0)
    queue_url = aws_stack.client("sqs").create_queue(QueueName="leads")["QueueUrl"]
    aws_stack.client("events").create_event_bus(Name="forms")
    aws_stack.client("s3").create_bucket(Bucket="acme-archive")
    mirror_table.create_table(aws_stack.client("dynamodb"), "acme-leads")
    destination("sqs", {"queue_url": queue_url}, name="queue")
    destination("eventbridge", {"event_bus": "forms", "source": "acme.forms"}, name="bus")
    destination("s3", {"bucket": "acme-archive", "key_template": "{submission_id}.json"}, name="s3")
    destination("dynamodb", {"table": "acme-leads", "shards": 2}, name="table")

    with recorded_calls() as calls:
        deliveries = deliver(n=3)
        # A DynamoDB destination mirrors its tenant: beat's copy of the attempt log goes there.
        assert mirror_attempts.copy_all_attempts() == 12

    assert {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    with capsys.disabled():
        print("\nworker (WorkerTaskRole) connector calls, all allowed:",
              ", ".join(sorted({c.action for c in calls})))  # fmt: skip
    assert {c.action.split(":")[0] for c in calls} >= {"sqs", "events", "s3", "dynamodb"}
    assert judge({"worker": calls}) == {"worker": []}
    # A queue the operator did not list is denied: the evaluation can fail.
    unlisted = worker_statements(**{**CONNECTOR_TARGETS, "ConnectorQueueArns": ""})
    assert any(not allowed(unlisted, c) for c in calls if c.action.startswith("sqs:"))
