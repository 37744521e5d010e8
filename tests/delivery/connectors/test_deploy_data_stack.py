"""deploy/aws: every template passes cfn-lint; the data stack's mirror table is the one
definition the connector uses; and, created on moto's CloudFormation (server mode, loopback),
its table and bucket are ones FormBridge's mirror and file storage work against."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from core import secret_refs
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.mirror import table as mirror_table
from tests.settings_probe import settings_under

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((ROOT / "deploy" / "aws").glob("*.yaml"))


def test_every_template_passes_cfn_lint():
    assert TEMPLATES, "no templates under deploy/aws"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    lint = subprocess.run([str(cfn_lint), *map(str, TEMPLATES)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_data_stack_holds_the_mirror_tables_one_definition():
    template, problems = decode(str(ROOT / "deploy" / "aws" / "data.yaml"))
    assert not problems
    table = template["Resources"]["MirrorTable"]["Properties"]
    definition = mirror_table.DEFINITION
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        assert json.loads(json.dumps(table[key])) == definition[key], key
    assert table["TimeToLiveSpecification"] == {"AttributeName": mirror_table.TTL_ATTRIBUTE,
                                                "Enabled": True}  # fmt: skip
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def create_stack(cloudformation, name: str, template: str, **parameters: str) -> dict[str, str]:
    """Create a stack from one of deploy/aws's templates; its outputs once CREATE_COMPLETE."""
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=(ROOT / "deploy" / "aws" / template).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_the_data_stack_on_moto_serves_the_mirror_and_the_stored_files(
    aws_stack, acme, signed, settings, receiver
):
    outputs = create_stack(
        aws_stack.client("cloudformation"),
        "formbridge-data",
        "data.yaml",
        CreateMirrorTable="true",
        CreateFilesBucket="true",
        Environment="test",
    )
    # FormBridge's file storage, configured from its settings as the ECS task sets them.
    storage = settings_under(
        {
            "ATTACHMENTS_S3_BUCKET": outputs["FilesBucketName"],
            "ATTACHMENTS_S3_ENDPOINT_URL": aws_stack.moto,
            "ATTACHMENTS_S3_REGION": "us-east-1",
        },
        "STORAGES",
    )["STORAGES"]["attachments"]
    settings.STORAGES = {**settings.STORAGES, "attachments": storage}
    settings.PAYLOAD_INLINE_MAX_BYTES = 1024
    # The operator's mirror table, as the task sets it: every tenant writes its own partition.
    settings.DYNAMODB_MIRROR_TABLE = outputs["MirrorTableName"]
    delivery_services.destination_create(
        tenant=acme.tenant, name="mirror", kind="dynamodb",
        config={"table": outputs["MirrorTableName"]},
    )  # fmt: skip
    [submission_id] = signed.submit(acme, payload={"notes": "n" * 4096})

    dispatcher.drain()

    items = aws_stack.client("dynamodb").scan(TableName=outputs["MirrorTableName"])["Items"]
    assert f"SUB#{submission_id}" in {i["SK"]["S"] for i in items}
    # The payload, too large for its row, went to the stack's bucket, encrypted.
    s3 = aws_stack.client("s3")
    [stored] = s3.list_objects_v2(Bucket=outputs["FilesBucketName"])["Contents"]
    head = s3.head_object(Bucket=outputs["FilesBucketName"], Key=stored["Key"])
    assert head["ServerSideEncryption"] == "AES256"
    body = s3.get_object(Bucket=outputs["FilesBucketName"], Key=stored["Key"])["Body"].read()
    assert b"n" * 4096 in body
    # moto's CloudFormation makes the bucket but not all its settings (versioning, lifecycle):
    # tests/test_deploy_aws.py and cfn-lint hold those.


def test_the_secrets_stack_on_moto_generates_what_the_tasks_are_given(aws_stack):
    outputs = create_stack(
        aws_stack.client("cloudformation"), "formbridge-secrets", "secrets.yaml", Environment="test"
    )
    secret_refs.forget()
    # The operator's own secrets, read as a reference granted them would read them.
    granted = secret_refs.binding("t_ops", [outputs[k] for k in outputs if k.endswith("Arn")])

    # What ECS injects (<arn>:<json-key>::) is what FormBridge's own references read.
    secret_key = secret_refs.resolve(f"aws-sm://{outputs['AppSecretArn']}#SECRET_KEY", granted)
    database = secret_refs.resolve(f"aws-sm://{outputs['DatabaseSecretArn']}#username", granted)
    password = secret_refs.resolve(f"aws-sm://{outputs['DatabaseSecretArn']}#password", granted)
    token = secret_refs.resolve(f"aws-sm://{outputs['CacheAuthSecretArn']}#token", granted)

    assert len(secret_key) == 64 and secret_key.isalnum()
    assert database == "formbridge"
    assert len(password) == 40 and password.isalnum()  # nothing RDS or a URL would refuse
    assert len(token) == 64 and token.isalnum()
    names = {s["Name"] for s in aws_stack.client("secretsmanager").list_secrets()["SecretList"]}
    assert names == {"formbridge/test/app", "formbridge/test/database", "formbridge/test/redis"}
    secret_refs.forget()
