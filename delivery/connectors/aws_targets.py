"""The AWS resources a destination reaches with FormBridge's own credentials, as ARNs, and whether
its tenant's grants cover them.

The worker role's reach is the operator's authority, not the tenant's (a confused deputy
otherwise): a destination may name a queue, bus, bucket (or key prefix) or table only if an
operator granted it to its tenant (Tenant.target_grants). A destination that brings its own key
(config.access_key_id) acts with its own authority and needs no grant.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.wildcards import ANY, wildcard

_lock = threading.Lock()
# Learned once per process (boto3's default region costs milliseconds to read; STS a round
# trip): the instance's own, which only a restart changes. forget() clears them (tests).
_instance: dict[str, str] = {}


class TargetsUnknown(Exception):
    """The instance's own account could not be learned (STS unreachable): try again later."""


@dataclass(frozen=True)
class Target:
    """One resource a destination uses: the config key that names it and its ARN. A prefix
    target stands for every ARN that starts with it (an S3 key template's literal start)."""

    field: str
    arn: str
    prefix: bool = False


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def region_of(config: dict[str, Any]) -> str:
    """The region the connector's client uses: the destination's, else boto3's default."""
    if config.get("region"):
        return config["region"]
    with _lock:
        if "region" not in _instance:
            import boto3

            _instance["region"] = boto3.session.Session().region_name or ""
        return _instance["region"]


def instance_account() -> str:
    """The AWS account of FormBridge's own credentials (AWS_ACCOUNT_ID, else STS, once)."""
    if settings.AWS_ACCOUNT_ID:
        return settings.AWS_ACCOUNT_ID
    with _lock:
        if "account" not in _instance:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                _instance["account"] = boto3.client("sts").get_caller_identity()["Account"]
            except (BotoCoreError, ClientError) as exc:
                raise TargetsUnknown(f"STS GetCallerIdentity: {type(exc).__name__}") from None
        return _instance["account"]


def instance_arn(config: dict[str, Any], service: str, resource: str) -> str:
    """The ARN of a resource named without one: the instance's own account, the destination's
    region (an EventBridge bus, a DynamoDB table)."""
    region = region_of(config)
    return f"arn:{partition(region)}:{service}:{region}:{instance_account()}:{resource}"


def forget() -> None:
    """Drop the learned region and account (boto3's environment changed)."""
    with _lock:
        _instance.clear()


def _normal(grant: str) -> str:
    """A bucket's ARN alone grants every key in it."""
    if grant.startswith("arn:") and ":s3:::" in grant and "/" not in grant.split(":::", 1)[1]:
        return grant + "/*"
    return grant


def covers(grants: Sequence[str], target: Target) -> bool:
    """Does some grant cover the target: its ARN, or, for a prefix, every ARN that starts with
    it (a grant ending in `*` whose part before the star matches a start of the prefix)?"""
    for grant in map(_normal, grants):
        if not target.prefix:
            if wildcard(grant).fullmatch(target.arn):
                return True
        elif grant.endswith(ANY):
            head = wildcard(grant[:-1])
            if any(head.fullmatch(target.arn[:end]) for end in range(len(target.arn) + 1)):
                return True
    return False


def grants_of(stored: Sequence[str]) -> tuple[str, ...]:
    """A tenant's grants, with the operator's mirror table (DYNAMODB_MIRROR_TABLE), which every
    tenant's `mirror` destination writes, each in its own partition."""
    grants = tuple(stored or ())
    if settings.DYNAMODB_MIRROR_TABLE:
        grants += (f"arn:*:dynamodb:*:*:table/{settings.DYNAMODB_MIRROR_TABLE}",)
    return grants


def refusal(grants: Sequence[str], targets: Sequence[Target]) -> Target | None:
    """The first target no grant covers, if any."""
    return next((t for t in targets if not covers(grants, t)), None)


def ungranted(connector: Any, config: dict[str, Any], tenant: Any) -> Target | None:
    """The first target a destination's config reaches that its tenant's grants do not cover
    (TargetsUnknown when the instance's account cannot be learned now). The one check, made
    when a destination is saved and again when it is sent to."""
    targets = connector.targets(config, tenant.id)
    return refusal(grants_of(tenant.target_grants), targets) if targets else None


def refusal_message(tenant_id: str, target: Target) -> str:
    return (
        f"{target.arn}{'*' if target.prefix else ''} is not among the AWS targets an operator "
        f"allowed {tenant_id} (manage.py tenants allow-target {tenant_id} <arn>); "
        "or give the destination its own key (config.access_key_id)"
    )
