"""boto3 for the AWS connectors (SQS, EventBridge, S3, DynamoDB): clients, calls off the event
loop, and one reading of AWS errors as attempt outcomes.

Clients honour boto3's own configuration (the credential chain, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>), so moto or a local S3-compatible server needs
no code change. A destination may bring its own key: config.access_key_id with the secret key in
auth_secret. boto3 retries nothing here: the engine owns retries, with backoff and a log.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from core.errors import Invalid
from core.storable import safe_text
from delivery import aio
from delivery.models import AttemptOutcome

from . import aws_targets
from .aws_targets import Target
from .base import (
    RESPONSE_BODY_LIMIT,
    Clock,
    Connector,
    DestinationSnapshot,
    Job,
    Outcome,
    mapped,
)

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
# Error codes worth another try: throttling, capacity, AWS's own trouble.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "LimitExceededException",
        "TransactionInProgressException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMS.ThrottlingException",
        "AWS.SimpleQueueService.ServiceUnavailable",
        "AWS.SimpleQueueService.RequestThrottled",
    }
)


async def run(function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """A blocking boto3 call, off the event loop."""
    return await aio.blocking(function, *args, **kwargs)


def validate_common(config: dict[str, Any]) -> dict[str, Any]:
    """The keys every AWS connector shares: region and access_key_id, both optional."""
    region = config.get("region")
    if region is not None and (not isinstance(region, str) or not REGION.fullmatch(region)):
        raise Invalid("an AWS region such as eu-west-1", field="region")
    key_id = config.get("access_key_id")
    if key_id is not None and (not isinstance(key_id, str) or not ACCESS_KEY_ID.fullmatch(key_id)):
        raise Invalid("an AWS access key id (AKIA...)", field="access_key_id")
    return config


def validate_secret(config: dict[str, Any], secret: str) -> None:
    if config.get("access_key_id") and not secret:
        raise Invalid("access_key_id needs its secret access key in auth_secret")
    if secret and not config.get("access_key_id"):
        raise Invalid("a secret access key needs config.access_key_id")


_clients: dict[tuple, Any] = {}
# Sends start on many threads at once: without the lock each would build its own client (boto3
# loads its service model per client: hundreds of ms of CPU and tens of MB each).
_clients_lock = threading.Lock()


def _client(service: str, region: str | None, key_id: str, secret: str, timeouts: tuple) -> Any:
    cache_key = (service, region, key_id, secret, timeouts, os.getpid())
    found = _clients.get(cache_key)
    if found is not None:
        return found
    with _clients_lock:
        if cache_key not in _clients:
            session = boto3.session.Session(
                aws_access_key_id=key_id or None, aws_secret_access_key=secret or None
            )
            config = Config(
                connect_timeout=timeouts[0],
                read_timeout=timeouts[1],
                retries={"total_max_attempts": 1},
                max_pool_connections=aio.BLOCKING_THREADS,
            )
            _clients[cache_key] = session.client(service, region_name=region or None, config=config)
        return _clients[cache_key]


def forget_clients() -> None:
    """Drop cached clients, and the region and account learned (boto3 reads its environment
    when a client is made)."""
    with _clients_lock:
        _clients.clear()
    aws_targets.forget()


def client(service: str, destination: DestinationSnapshot) -> Any:
    """A cached client for this destination's region, key and timeouts (thread-safe)."""
    config = destination.config
    return _client(
        service,
        config.get("region"),
        config.get("access_key_id", ""),
        destination.auth_secret,
        (destination.connect_timeout_seconds, destination.timeout_seconds),
    )


def summary(data: Any) -> str:
    """A response, as stored in the attempt (no ResponseMetadata noise, capped)."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "ResponseMetadata"}
    return safe_text(json.dumps(data, default=str)[:RESPONSE_BODY_LIMIT], limit=RESPONSE_BODY_LIMIT)


def http_status(data: Any) -> int | None:
    try:
        return int(data["ResponseMetadata"]["HTTPStatusCode"])
    except (KeyError, TypeError, ValueError):
        return None


def is_transient_code(code: str) -> bool:
    return code in TRANSIENT_CODES


def failure(
    clock: Clock,
    exc: Exception,
    *,
    operation: str,
    url: str,
    permanent_codes: frozenset = frozenset(),
) -> Outcome:
    """An AWS error as an outcome: throttling, 5xx and connection trouble are worth a retry;
    anything the same request would meet again (access denied, no such queue) is permanent."""
    fields: dict[str, Any] = {
        "request_method": "POST",
        "request_url": url,
        "request_headers": {"x-amz-operation": operation},
    }
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = http_status(exc.response)
        transient = code not in permanent_codes and (
            is_transient_code(code) or (status or 0) >= 500
        )
        return clock.outcome(
            AttemptOutcome.RETRYABLE if transient else AttemptOutcome.PERMANENT,
            status_code=status,
            error=f"{code}: {error.get('Message', '')}"[:500],
            response_body=summary(exc.response),
            **fields,
        )
    if isinstance(exc, NoCredentialsError):
        # The operator's fix (credentials for the worker) is needed; retrying later may work.
        return clock.outcome(AttemptOutcome.RETRYABLE, error=f"no AWS credentials: {exc}", **fields)
    if isinstance(exc, BotoCoreError):
        return clock.outcome(
            AttemptOutcome.RETRYABLE, error=f"{type(exc).__name__}: {exc}"[:500], **fields
        )
    raise exc


def endpoint(client_: Any) -> str:
    return str(client_.meta.endpoint_url)


class AwsConnector(Connector):
    """What every AWS connector shares: region and key checks, and its targets' grants."""

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        validate_secret(config, secret)

    def targets(self, config: dict[str, Any], tenant_id: str) -> tuple[Target, ...]:
        if config.get("access_key_id"):
            return ()  # the destination's own key: its own authority
        return self.own_targets(config, tenant_id)

    def own_targets(self, config: dict[str, Any], tenant_id: str) -> tuple[Target, ...]:
        raise NotImplementedError


# One entry's result in a batch answer: its outcome, its error, what AWS said of it.
EntryResult = tuple[AttemptOutcome, str, Any]


async def send_batch(
    jobs: list[Job],
    *,
    entry: Callable[[int, Job, Any], dict[str, Any]],
    call: Callable[[list[dict[str, Any]]], Any],
    results: Callable[[Any, list[int]], dict[int, EntryResult]],
    operation: str,
    url: str,
    service: str,
) -> list[Outcome]:
    """One batch API call (SendMessageBatch, PutEvents) for these jobs, each with its own
    outcome: a job whose body cannot be mapped fails alone, a failed call fails them all,
    an entry the answer leaves out is retried. `entry` builds a job's entry from its mapped
    body; `results` reads the answer per job index."""
    clock = Clock()
    outcomes: dict[int, Outcome] = {}
    indexed: list[tuple[int, dict[str, Any]]] = []
    bodies = await asyncio.gather(
        *(
            mapped(clock, job, job.destination.config.get("mapping"), request_url=url)
            for job in jobs
        )
    )
    for index, (job, body) in enumerate(zip(jobs, bodies, strict=True)):
        if isinstance(body, Outcome):
            outcomes[index] = body
        else:
            indexed.append((index, entry(index, job, body)))
    if indexed:
        try:
            reply = await run(call, [e for _, e in indexed])
        except Exception as exc:
            failed = failure(clock, exc, operation=operation, url=url)
            return [outcomes.get(i, failed) for i in range(len(jobs))]
        status = http_status(reply)
        for index, (outcome, error, answer) in results(reply, [i for i, _ in indexed]).items():
            outcomes[index] = clock.outcome(
                outcome,
                status_code=status,
                error=error[:500],
                request_method="POST",
                request_url=url,
                request_headers={"x-amz-operation": operation},
                response_body=summary(answer),
            )
    missing = clock.outcome(
        AttemptOutcome.RETRYABLE, error=f"{service} answered without this entry", request_url=url
    )
    return [outcomes.get(i, missing) for i in range(len(jobs))]
