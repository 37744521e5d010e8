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

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.mirror import table as mirror_table

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


def test_the_data_stack_on_moto_serves_the_mirror(aws_stack, acme, signed):
    cloudformation = aws_stack.client("cloudformation")
    cloudformation.create_stack(
        StackName="formbridge-data",
        TemplateBody=(ROOT / "deploy" / "aws" / "data.yaml").read_text(),
        Parameters=[
            {"ParameterKey": "CreateMirrorTable", "ParameterValue": "true"},
            {"ParameterKey": "CreateFilesBucket", "ParameterValue": "true"},
            {"ParameterKey": "Environment", "ParameterValue": "test"},
        ],
    )
    [stack] = cloudformation.describe_stacks(StackName="formbridge-data")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    delivery_services.destination_create(
        tenant=acme.tenant, name="mirror", kind="dynamodb",
        config={"table": outputs["MirrorTableName"]},
    )  # fmt: skip
    [submission_id] = signed.submit(acme)

    dispatcher.drain()

    items = aws_stack.client("dynamodb").scan(TableName=outputs["MirrorTableName"])["Items"]
    assert f"SUB#{submission_id}" in {i["SK"]["S"] for i in items}
    # moto's CloudFormation makes the bucket but not all its settings (versioning, lifecycle):
    # the template test and cfn-lint above hold those.
    s3 = aws_stack.client("s3")
    s3.put_object(Bucket=outputs["FilesBucketName"], Key="probe", Body=b"x")
    assert s3.get_object(Bucket=outputs["FilesBucketName"], Key="probe")["Body"].read() == b"x"
