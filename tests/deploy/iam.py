"""IAM as AWS would apply it, for what moto never checks: every AWS API call a piece of code
makes is recorded (botocore's client, below every SDK wrapper), turned into the IAM action and
resource ARN AWS authorises, and evaluated against the statements of the role the process that
made it runs with in deploy/aws/services.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from botocore.client import BaseClient

from tests.deploy.cfn import SERVICES, Resolver

REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's, and the resolver's pseudo-parameters
READER_ARN = f"arn:aws:iam::{ACCOUNT}:role/formbridge-test-secret-reader"

# Operations whose IAM action is not "<service>:<operation>".
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjectVersions": "ListBucketVersions",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "CopyObject": "PutObject",
}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    action: str
    resources: tuple[str, ...]


def authorised_as(service: str, operation: str, params: dict[str, Any]) -> list[Call]:
    """The (action, resource) pairs AWS checks for one API call (DeleteObjects: one per key)."""
    if service == "s3":
        bucket = params.get("Bucket", "")
        if operation == "DeleteObjects":
            return [
                Call(service, operation,
                     "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject",
                     (f"arn:aws:s3:::{bucket}/{item['Key']}",))
                for item in params["Delete"]["Objects"]
            ]  # fmt: skip
        action = "s3:" + _S3_ACTIONS.get(operation, operation)
        if operation == "DeleteObject" and params.get("VersionId"):
            action = "s3:DeleteObjectVersion"
        key = params.get("Key")
        resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
        return [Call(service, operation, action, (resource,))]
    if service == "sqs":
        # https://sqs.<region>.amazonaws.com/<account>/<name> (moto: http://host/<account>/<name>)
        account, name = params["QueueUrl"].rstrip("/").split("/")[-2:]
        # SQS authorises a batch as its single action (SendMessageBatch is sqs:SendMessage).
        action = "sqs:" + operation.removesuffix("Batch")
        return [Call(service, operation, action, (f"arn:aws:sqs:{REGION}:{account}:{name}",))]
    if service == "events":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}
        arns = tuple(
            bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
            for bus in sorted(buses)
        )
        return [Call(service, operation, f"events:{operation}", arns)]
    if service == "dynamodb":
        tables = list(params.get("RequestItems", {})) or [params["TableName"]]
        arns = tuple(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}" for table in tables)
        return [Call(service, operation, f"dynamodb:{operation}", arns)]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # allowed to every principal, whatever its policies say
    if service == "sts" and operation == "AssumeRole":
        role = (params["RoleArn"],)
        tagged = [Call(service, operation, "sts:TagSession", role)] if params.get("Tags") else []
        return [Call(service, operation, "sts:AssumeRole", role), *tagged]
    if service == "secretsmanager":
        secret = params["SecretId"]
        # A name stands for its ARN, which ends in "-" and six random characters.
        arn = (
            secret
            if secret.startswith("arn:")
            else (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-AbCdEf")
        )
        return [Call(service, operation, f"secretsmanager:{operation}", (arn,))]
    raise NotImplementedError(f"{service}:{operation}: teach tests/deploy/iam.py its ARN")


@contextmanager
def recorded_calls() -> Iterator[list[Call]]:
    """Every AWS API call made inside, by any client, as IAM sees it."""
    calls: list[Call] = []
    original = BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        service = client.meta.service_model.endpoint_prefix
        calls.extend(authorised_as(service, operation_name, api_params))
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = recording
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


def allowed(statements: list[dict], call: Call) -> bool:
    """Whether an Allow statement covers the call's action on every resource it names (no
    Deny, no conditions in the task roles this is used for)."""

    def listed(value) -> list[str]:
        return value if isinstance(value, list) else [value]

    for statement in statements:
        if statement.get("Effect") != "Allow" or "Condition" in statement:
            continue
        actions = listed(statement["Action"])
        if not any(fnmatchcase(call.action.lower(), a.lower()) for a in actions):
            continue
        patterns = listed(statement["Resource"])
        if all(any(fnmatchcase(r, p) for p in patterns) for r in call.resources):
            return True
    return False


def services_resolver(**parameters: Any) -> Resolver:
    """services.yaml resolved for judging its roles: these parameters, a placeholder for every
    other it requires (no role statement reads them), the reader role's ARN as moto names it."""
    return Resolver.load(
        SERVICES,
        {"Environment": "test", **parameters},
        placeholder="x",
        attributes={"SecretReferenceReaderRole.Arn": READER_ARN},
    )


def role_statements(resolver, role: str) -> list[dict]:
    """A role's inline policy statements, resolved for the resolver's parameters."""
    policies = resolver.value(resolver.template["Resources"][role]["Properties"]["Policies"])
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]
