#!/usr/bin/env python3
"""Run FormBridge's release task on ECS and wait for its verdict: `migrate` before each deploy
(the default command), or any one-off `manage.py` command.

    python deploy/aws/release.py --stack formbridge-production --image <repo>:<tag>
    python deploy/aws/release.py --stack formbridge-production -- tenants create t_acme

--stack reads the cluster, the release task's family, the private subnets and the tasks'
security group from the root stack's outputs. --image first registers a revision of the release
task definition with that image (the image the services are about to get: migrations come from
the new code), keeping everything else of the latest revision. The task runs with no public IP
and is waited for until it stops; this exits with the container's exit code (1 when the task
stopped before its container ran: no capacity, an image that cannot be pulled). Its log is in
the release log group (/formbridge/<env>/release).

Needs only boto3 (the AWS CLI's own credentials and region). Used by docs/DEPLOY.md and by
deploy/aws/github-actions.yml.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import boto3

CONTAINER = "app"  # the release task's one container (services.yaml)
# What RegisterTaskDefinition accepts of what DescribeTaskDefinition returns.
REGISTERABLE = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
    "ephemeralStorage",
)  # fmt: skip
POLL_SECONDS = 6.0


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def with_image(ecs: Any, family: str, image: str) -> str:
    """A new revision of the family's latest task definition, its container on `image`."""
    definition = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    request = {key: definition[key] for key in REGISTERABLE if key in definition}
    containers = request["containerDefinitions"]
    [container] = [c for c in containers if c["name"] == CONTAINER]
    container["image"] = image
    registered = ecs.register_task_definition(**request)["taskDefinition"]
    return registered["taskDefinitionArn"]


def run(ecs: Any, *, cluster: str, definition: str, subnets: list[str],
        security_groups: list[str], command: list[str] | None,
        environment: dict[str, str] | None = None) -> str:  # fmt: skip
    override: dict[str, Any] = {}
    if command:
        override["command"] = command
    if environment:
        override["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    overrides = {"containerOverrides": [{"name": CONTAINER, **override}]} if override else {}
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=definition,
        launchType="FARGATE",
        startedBy="formbridge-release",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": security_groups, "assignPublicIp": "DISABLED",
        }},
        overrides=overrides,
    )  # fmt: skip
    if started.get("failures") or not started.get("tasks"):
        raise SystemExit(f"the release task did not start: {started.get('failures')}")
    return started["tasks"][0]["taskArn"]


def verdict(ecs: Any, *, cluster: str, task: str, timeout: float, say=print) -> int:
    """Wait until the task stops; its container's exit code (1 if it never ran)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        [described] = ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"]
        status = described["lastStatus"]
        if status != last:
            say(f"release task {status.lower()}")
            last = status
        if status == "STOPPED":
            [container] = [c for c in described["containers"] if c["name"] == CONTAINER]
            code = container.get("exitCode")
            if code is None:
                say(f"stopped before its container ran: {described.get('stoppedReason', '')}"
                    f" {container.get('reason', '')}".rstrip())  # fmt: skip
                return 1
            say(f"exit code {code}")
            return int(code)
        time.sleep(POLL_SECONDS)
    say(f"still running after {timeout:.0f} s: not stopped, see its log")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="The root stack's name.")
    parser.add_argument("--image", help="Register a release revision on this image first.")
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds to wait (1800).")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="Set in the task's environment (repeatable). ECS shows overrides in the task's "
        "description: a password given here is changed at first login.",
    )  # fmt: skip
    parser.add_argument("command", nargs="*", help="manage.py arguments (default: migrate).")
    options = parser.parse_args(argv)
    session = boto3.session.Session()
    ecs = session.client("ecs")
    outputs = stack_outputs(session.client("cloudformation"), options.stack)
    cluster, definition = outputs["ClusterName"], outputs["ReleaseTaskFamily"]
    if options.image:
        definition = with_image(ecs, definition, options.image)
        print(f"registered {definition}")
    command = ["python", "manage.py", *options.command] if options.command else None
    environment = dict(item.split("=", 1) for item in options.env)
    task = run(
        ecs, cluster=cluster, definition=definition,
        subnets=outputs["PrivateSubnetIds"].split(","),
        security_groups=[outputs["AppSecurityGroupId"]], command=command, environment=environment,
    )  # fmt: skip
    print(f"started {task}")
    return verdict(ecs, cluster=cluster, task=task, timeout=options.timeout)


if __name__ == "__main__":
    sys.exit(main())
