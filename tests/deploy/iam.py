"""IAM as AWS would apply it, for what moto never checks: every AWS API call a piece of code
makes is recorded (botocore's client, below every SDK wrapper), turned into the IAM action and
resource ARN AWS authorises, and evaluated against the statements of the role the process that
made it runs with in deploy/aws/services.yaml."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from botocore.client import BaseClient

from tests.deploy.cfn import SERVICES, Resolver

REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's, and the resolver's pseudo-parameters
READER_ARN = f"arn:aws:iam::{ACCOUNT}:role/formbridge-test-secret-reader"

# The process each task definition runs, and its task role.
ROLES = {"web": "WebTaskRole", "worker": "WorkerTaskRole", "beat": "BeatTaskRole",
         "release": "ReleaseTaskRole", "reader": "SecretReferenceReaderRole"}  # fmt: skip
# The names every IAM test uses for the bundle's own resources and a tenant's AWS targets: the
# coverage report resolves the roles once with all of them.
FILES_BUCKET, MIRROR_TABLE = "formbridge-test-files", "formbridge-mirror"
CONNECTOR_TARGETS = {
    "ConnectorQueueArns": f"arn:aws:sqs:{REGION}:{ACCOUNT}:leads",
    "ConnectorEventBusArns": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/forms",
    "ConnectorBucketArns": "arn:aws:s3:::acme-archive",
    "ConnectorTableArns": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/acme-leads",
}
EVERY_RESOURCE = {"FilesBucketName": FILES_BUCKET, "MirrorTableName": MIRROR_TABLE,
                  **CONNECTOR_TARGETS}  # fmt: skip
# The reader role's policy names the tenant by the session's tag.
TENANT_TAG = "${aws:PrincipalTag/formbridge-tenant}"

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


def judge(calls: dict[str, list[Call]], resolver: Resolver | None = None) -> dict[str, list]:
    """Each process's calls evaluated against its role (resolved with every bundle resource and
    target unless a resolver is given): the denied (action, resources) per process. Every call
    is kept for the coverage report at the end of the run."""
    resolver = resolver or services_resolver(**EVERY_RESOURCE)
    denied = {}
    for process, made in calls.items():
        statements = role_statements(resolver, ROLES[process])
        refused = {(c.action, c.resources) for c in made if not allowed(statements, c)}
        denied[process] = sorted(refused)
        _record(ROLES[process], made)
    return denied


def cover(role: str, calls: list[Call]) -> None:
    """Calls judged by a test of its own (the reader role's, with a tenant's tag in its policy)."""
    _record(role, calls)


_covered: dict[str, list[Call]] = defaultdict(list)
# The IAM tests, between them every path that calls AWS: the table is only whole when all ran.
IAM_TESTS = (
    "tests/deploy/test_iam_coverage.py",
    "tests/delivery/connectors/test_iam_connectors.py",
    "tests/delivery/connectors/test_iam_mirror.py",
    "tests/security/test_tenant_bound_secrets.py",
)
_ran: set[str] = set()


def _record(role: str, calls: list[Call]) -> None:
    _covered[role].extend(calls)
    _ran.add(os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0])


# Statements the tests leave unused, kept for a path they do not reach, each with its reason.
KEPT_UNUSED = {
    "s3:DeleteObject": "a key with no version left (erased twice, expired by the lifecycle "
    "rule) is deleted by key, as django-storages does",
    "dynamodb:GetItem": "the release task records a tenant's shard count when it backfills a "
    "table no live send wrote first",
    "dynamodb:PutItem": "the same: recording the shard count is a conditional PutItem",
}


def coverage_report() -> list[str]:
    """The run's IAM coverage, one block per role: the calls recorded and judged (by action,
    with their count), then every statement action that no call used (least privilege: each
    is either dead weight to remove or a path no test exercised). Empty when no IAM test ran."""
    if not _covered:
        return []
    missing = [test for test in IAM_TESTS if test not in _ran]
    if missing:
        return [f"IAM coverage: not shown, a partial run (not run: {', '.join(missing)})"]
    resolver = services_resolver(**EVERY_RESOURCE)
    lines = ["IAM coverage (deploy/aws/services.yaml, every call evaluated against its role):"]
    for role in ROLES.values():
        calls = _covered.get(role, [])
        counts: dict[str, int] = defaultdict(int)
        for call in calls:
            counts[call.action] += 1
        used = ", ".join(f"{a} x{n}" for a, n in sorted(counts.items())) or "none recorded"
        lines.append(f"  {role}: {len(calls)} calls: {used}")
        for action, resource in unused_statements(role_statements(resolver, role), calls):
            reason = KEPT_UNUSED.get(action, "NO REASON: remove it, or test the path")
            lines.append(f"    unused: {action} on {resource} ({reason})")
    return lines


def unused_statements(statements: list[dict], calls: list[Call]) -> list[tuple[str, str]]:
    """(action, resource) of every Allow no call used, the tenant tag read as any tenant."""

    def listed(value) -> list[str]:
        return value if isinstance(value, list) else [value]

    unused = []
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        for action in listed(statement["Action"]):
            for pattern in listed(statement["Resource"]):
                pattern = pattern.replace(TENANT_TAG, "*")
                if not any(
                    fnmatchcase(c.action.lower(), action.lower())
                    and any(fnmatchcase(r, pattern) for r in c.resources)
                    for c in calls
                ):
                    unused.append((action, pattern))
    return unused


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
    properties = resolver.template["Resources"][role]["Properties"]
    policies = resolver.value(properties.get("Policies", []))
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]
