"""SQS, EventBridge, S3 and the DynamoDB mirror through the engine, against moto's server (real
HTTP, real boto3), with AWS's throttling and errors injected by a proxy in front of it."""

from __future__ import annotations

import json

import pytest

from delivery.mirror import table as mirror_table
from delivery.models import DeliveryStatus
from tests.vendors import aws_json_error, s3_error

from .conftest import LEAD, assert_secret_kept, attempts_of

pytestmark = pytest.mark.django_db


def received(sqs, queue_url: str, n: int) -> list[dict]:
    messages = []
    for _ in range(10):
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )  # fmt: skip
        messages += reply.get("Messages", [])
        if len(messages) >= n:
            break
    return messages


# --- SQS ---


def test_sqs_sends_each_submission_as_a_message_in_batches(aws_stack, destination, deliver):
    sqs = aws_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="leads")["QueueUrl"]
    destination("sqs", {"queue_url": queue_url})

    deliveries = deliver(n=12)

    assert [d.status for d in deliveries] == [DeliveryStatus.SUCCEEDED] * 12
    messages = received(sqs, queue_url, 12)
    bodies = sorted((json.loads(m["Body"]) for m in messages), key=lambda e: e["payload"]["n"])
    assert [b["payload"]["n"] for b in bodies] == list(range(12))
    assert bodies[0]["payload"]["email"] == LEAD["email"]
    assert messages[0]["MessageAttributes"]["tenant_id"]["StringValue"] == "t_acme"
    # 12 messages went as two SendMessageBatch calls (10 + 2), not 12 SendMessage calls.
    batch_calls = [
        c for c in aws_stack.proxy.calls if b"SendMessageBatch" in str(c.headers).encode()
    ]
    assert len(batch_calls) == 2
    attempt = attempts_of(deliveries[0])[0]
    assert attempt.request_headers == {"x-amz-operation": "SendMessageBatch"}
    assert "MessageId" in attempt.response_body


def test_sqs_fifo_groups_by_the_ordering_key_and_dedupes_by_delivery(
    aws_stack, destination, deliver
):
    sqs = aws_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="leads.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    destination("sqs", {"queue_url": queue_url, "message_group": "payload.email"})

    deliveries = deliver(n=3)

    messages = received(sqs, queue_url, 3)
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {LEAD["email"]}
    assert {m["Attributes"]["MessageDeduplicationId"] for m in messages} == {
        d.id.hex for d in deliveries
    }


def test_sqs_throttling_is_retried_and_a_missing_queue_is_dead(aws_stack, destination, deliver):
    sqs = aws_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="leads")["QueueUrl"]
    destination("sqs", {"queue_url": queue_url})
    aws_stack.proxy.fail_next(aws_json_error(400, "RequestThrottled", "slow down"))

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    first, second = attempts_of(delivery)
    assert (first.outcome, second.outcome) == ("retryable", "success")
    assert first.error.startswith("RequestThrottled")
    sqs.delete_queue(QueueUrl=queue_url)
    [_, gone] = deliver()
    assert gone.status == DeliveryStatus.DEAD
    assert "NonExistentQueue" in gone.last_error or "QueueDoesNotExist" in gone.last_error


def test_sqs_own_key_stays_out_of_attempts_and_logs(aws_stack, destination, deliver, logs):
    sqs = aws_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="leads")["QueueUrl"]
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    destination(
        "sqs", {"queue_url": queue_url, "access_key_id": "AKIAIOSFODNN7EXAMPLE"}, auth_secret=secret
    )
    aws_stack.proxy.fail_next(aws_json_error(500, "InternalError", f"echo {secret}"))

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert_secret_kept(secret, logs)


# --- EventBridge ---


def test_eventbridge_puts_events_and_retries_only_the_failed_entry(aws_stack, destination, deliver):
    events, sqs = aws_stack.client("events"), aws_stack.client("sqs")
    queue = sqs.create_queue(QueueName="bus-target")
    arn = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"])
    events.create_event_bus(Name="forms")
    events.put_rule(
        Name="all", EventBusName="forms", EventPattern=json.dumps({"source": ["acme.forms"]})
    )
    events.put_targets(
        Rule="all", EventBusName="forms",
        Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
    )  # fmt: skip
    destination("eventbridge", {"event_bus": "forms", "source": "acme.forms"})
    # PutEvents answers 200 with one failed entry: that entry alone is sent again.
    failed_second = (
        200,
        {"Content-Type": "application/x-amz-json-1.1"},
        json.dumps(
            {
                "FailedEntryCount": 1,
                "Entries": [
                    {"EventId": "11111111-1111-1111-1111-111111111111"},
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"},
                    {"EventId": "33333333-3333-3333-3333-333333333333"},
                ],
            }
        ).encode(),
    )
    aws_stack.proxy.fail_next(failed_second)

    deliveries = deliver(n=3, event_type="lead.created")

    assert [d.status for d in deliveries] == [DeliveryStatus.SUCCEEDED] * 3
    assert [len(attempts_of(d)) for d in deliveries] == [1, 2, 1]
    assert attempts_of(deliveries[1])[0].error == "ThrottlingException: Rate exceeded"
    put_calls = [
        c for c in aws_stack.proxy.calls if "PutEvents" in c.headers.get("X-Amz-Target", "")
    ]
    assert [len(c.json()["Entries"]) for c in put_calls] == [3, 1]
    # The retried one reached the bus (the first and third were answered by the fault, not moto).
    [message] = received(sqs, queue["QueueUrl"], 1)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("acme.forms", "lead.created")
    assert event["detail"]["submission_id"] == deliveries[1].submission.submission_id


def test_eventbridge_refuses_a_bad_config_on_save(acme):
    from core.errors import Invalid
    from delivery import services

    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="bus", kind="eventbridge",
            config={"event_bus": "forms", "source": "aws.fake"},
        )  # fmt: skip
    assert refused.value.field == "config.source"


# --- S3 ---


def test_s3_writes_one_encrypted_object_per_submission(aws_stack, destination, deliver):
    s3 = aws_stack.client("s3")
    s3.create_bucket(Bucket="acme-archive")
    destination(
        "s3", {"bucket": "acme-archive", "key_template": "forms/{form_id}/{submission_id}.json"}
    )

    [delivery] = deliver(form_id="contact")

    assert delivery.status == DeliveryStatus.SUCCEEDED
    key = f"forms/contact/{delivery.submission.submission_id}.json"
    stored = s3.get_object(Bucket="acme-archive", Key=key)
    assert stored["ContentType"] == "application/json"
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Metadata"]["submission-id"] == delivery.submission.submission_id
    assert json.loads(stored["Body"].read())["payload"]["email"] == LEAD["email"]
    assert attempts_of(delivery)[0].request_url == f"s3://acme-archive/{key}"


def test_s3_slowdown_is_retried_and_a_missing_bucket_is_dead(aws_stack, destination, deliver):
    s3 = aws_stack.client("s3")
    s3.create_bucket(Bucket="acme-archive")
    destination("s3", {"bucket": "acme-archive"})
    aws_stack.proxy.fail_next(s3_error(503, "SlowDown", "Please reduce your request rate."))

    [delivery] = deliver()

    assert [a.outcome for a in attempts_of(delivery)] == ["retryable", "success"]
    assert delivery.status == DeliveryStatus.SUCCEEDED
    s3.delete_object(
        Bucket="acme-archive", Key=attempts_of(delivery)[1].request_url.split("/", 3)[3]
    )
    s3.delete_bucket(Bucket="acme-archive")
    [_, gone] = deliver()
    assert gone.status == DeliveryStatus.DEAD
    assert "NoSuchBucket" in gone.last_error


# --- DynamoDB ---


@pytest.fixture
def mirror(aws_stack):
    dynamodb = aws_stack.client("dynamodb")
    mirror_table.create_table(dynamodb, "formbridge-mirror")
    return dynamodb


def test_dynamodb_mirrors_a_submission_in_the_single_table_design(
    mirror, destination, deliver, acme
):
    destination("dynamodb", {"table": "formbridge-mirror", "shards": 4})

    [delivery] = deliver(form_id="contact")

    assert delivery.status == DeliveryStatus.SUCCEEDED
    submission = delivery.submission
    shards = mirror.get_item(
        TableName="formbridge-mirror", Key={"PK": {"S": "TENANT#t_acme"}, "SK": {"S": "SHARDS"}}
    )["Item"]
    assert shards["shard_count"] == {"N": "4"}
    [item] = mirror.query(
        TableName="formbridge-mirror", IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :t AND begins_with(GSI1SK, :ts)",
        ExpressionAttributeValues={":t": {"S": "TENANT#t_acme"}, ":ts": {"S": "TS#"}},
    )["Items"]  # fmt: skip
    assert item["SK"] == {"S": f"SUB#{submission.submission_id}"}
    assert item["PK"]["S"].startswith("TENANT#t_acme#")
    assert 0 <= int(item["PK"]["S"].rsplit("#", 1)[1]) < 4
    assert item["GSI2PK"] == {"S": "TENANT#t_acme#STATUS"}
    assert item["GSI2SK"]["S"].startswith("accepted#")
    assert json.loads(item["payload"]["S"])["email"] == LEAD["email"]
    retention = acme.tenant.retention_days * 86400
    assert int(item["ttl"]["N"]) == int(submission.received_at.timestamp()) + retention


def test_dynamodb_resend_is_a_conditional_no_op(mirror, destination, deliver):
    from delivery import services

    target = destination("dynamodb", {"table": "formbridge-mirror"})
    [delivery] = deliver()

    services.deliveries_replay(destination=target, status="all")
    from delivery import dispatcher

    dispatcher.drain()

    first, second = attempts_of(delivery)
    assert (first.response_body, second.response_body) == (
        "written",
        "already mirrored (conditional put skipped)",
    )
    assert mirror.scan(TableName="formbridge-mirror", Select="COUNT")["Count"] == 2  # item+shards


def test_dynamodb_throttling_is_transient_and_a_missing_table_is_dead(
    mirror, aws_stack, destination, deliver
):
    destination("dynamodb", {"table": "formbridge-mirror"})
    aws_stack.proxy.fail_next(
        aws_json_error(400, "ProvisionedThroughputExceededException", "throughput exceeded")
    )

    [delivery] = deliver()

    assert [a.outcome for a in attempts_of(delivery)] == ["retryable", "success"]
    mirror.delete_table(TableName="formbridge-mirror")
    [_, gone] = deliver()
    assert gone.status == DeliveryStatus.DEAD
    assert "ResourceNotFoundException" in gone.last_error


# --- every AWS kind: its own key stays out of attempts and logs ---


@pytest.mark.parametrize("kind", ["sqs", "eventbridge", "s3", "dynamodb"])
def test_aws_kinds_keep_their_key_out_of_attempts_and_logs(
    kind, aws_stack, destination, deliver, logs
):
    sqs, events = aws_stack.client("sqs"), aws_stack.client("events")
    config = {
        "sqs": lambda: {"queue_url": sqs.create_queue(QueueName="q")["QueueUrl"]},
        "eventbridge": lambda: events.create_event_bus(Name="forms") and {"event_bus": "forms"},
        "s3": lambda: (
            aws_stack.client("s3").create_bucket(Bucket="acme-b") and {"bucket": "acme-b"}
        ),
        "dynamodb": lambda: (
            mirror_table.create_table(aws_stack.client("dynamodb"), "acme-mirror")
            and {"table": "acme-mirror"}
        ),
    }[kind]()
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    destination(kind, {**config, "access_key_id": "AKIAIOSFODNN7EXAMPLE"}, auth_secret=secret)
    aws_stack.proxy.fail_next(aws_json_error(500, "InternalError", f"echo {secret}"))

    [delivery] = deliver()

    assert [a.outcome for a in attempts_of(delivery)] == ["retryable", "success"]
    assert_secret_kept(secret, logs)


def test_eventbridge_to_a_missing_bus_is_dead(aws_stack, destination, deliver):
    destination("eventbridge", {"event_bus": "no-such-bus"})

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.DEAD
    assert "ResourceNotFoundException" in delivery.last_error
