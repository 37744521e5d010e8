"""deploy/aws/release.py, as CI and an operator run it: the stack's outputs read from
CloudFormation (moto's server), the release revision registered and run on ECS, and the
container's exit code as the script's. moto's ECS cannot run a Fargate task in awsvpc mode
(RunTask fails inside moto), so ECS is a local server that answers as the ECS API reference
documents (JSON 1.1, X-Amz-Target), with tasks going PROVISIONING, RUNNING, STOPPED."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import httpx
import pytest
import yaml

from tests.deploy.iam import services_resolver

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "aws" / "release.py"
ACCOUNT, REGION = "123456789012", "us-east-1"
OUTPUTS = {"ClusterName": "formbridge-test", "ReleaseTaskFamily": "formbridge-test-release",
           "PrivateSubnetIds": "subnet-a,subnet-b", "AppSecurityGroupId": "sg-app"}  # fmt: skip


def load_release():
    spec = importlib.util.spec_from_file_location("release", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.POLL_SECONDS = 0.01
    return module


class Ecs:
    """ECS's task definitions and tasks, as its API answers. `exit_code` is what the next task's
    container exits with; None: the task stops before the container runs."""

    def __init__(self, release_definition: dict) -> None:
        self.revisions = {release_definition["family"]: [release_definition]}
        self.tasks: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.exit_code: int | None = 0

    def answer(self, action: str, body: dict) -> dict:
        self.calls.append((action, body))
        return getattr(self, action)(body)

    def _described(self, family: str, revision: int) -> dict:
        definition = self.revisions[family][revision - 1]
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"
        return {**definition, "taskDefinitionArn": arn, "revision": revision, "status": "ACTIVE"}

    def DescribeTaskDefinition(self, body):
        family = body["taskDefinition"].split(":")[0]
        return {"taskDefinition": self._described(family, len(self.revisions[family]))}

    def RegisterTaskDefinition(self, body):
        self.revisions[body["family"]].append(body)
        return {
            "taskDefinition": self._described(body["family"], len(self.revisions[body["family"]]))
        }

    def RunTask(self, body):
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{body['cluster']}/{len(self.tasks) + 1:032x}"
        self.tasks[arn] = {"steps": ["PROVISIONING", "RUNNING", "STOPPED"], "exit": self.exit_code}
        return {"tasks": [self._task(arn)], "failures": []}

    def DescribeTasks(self, body):
        described = []
        for arn in body["tasks"]:
            task = self.tasks[arn]
            if len(task["steps"]) > 1:
                task["steps"].pop(0)
            described.append(self._task(arn))
        return {"tasks": described, "failures": []}

    def _task(self, arn: str) -> dict:
        task = self.tasks[arn]
        status = task["steps"][0]
        container = {"name": "app", "lastStatus": status}
        answer = {"taskArn": arn, "lastStatus": status, "containers": [container]}
        if status == "STOPPED":
            if task["exit"] is None:
                answer["stoppedReason"] = "CannotPullContainerError: pull access denied"
            else:
                container["exitCode"] = task["exit"]
                answer["stoppedReason"] = "Essential container in task exited"
        return answer


@pytest.fixture
def ecs():
    resolver = services_resolver()
    properties = resolver.template["Resources"]["ReleaseTask"]["Properties"]
    release = {
        key: resolver.value(properties[key]) for key in ("ContainerDefinitions", "Cpu", "Memory")
    }
    definition = {
        "family": OUTPUTS["ReleaseTaskFamily"],
        "containerDefinitions": [
            {"name": c["Name"], "image": c["Image"], "command": c["Command"]}
            for c in release["ContainerDefinitions"]
        ],
        "cpu": release["Cpu"], "memory": release["Memory"], "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "taskRoleArn": "arn:aws:iam::1:role/release",
    }  # fmt: skip
    state = Ecs(definition)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            action = self.headers["X-Amz-Target"].split(".")[-1]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = json.dumps(state.answer(action, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


@pytest.fixture
def stack(moto_server, ecs, monkeypatch):
    httpx.post(f"{moto_server}/moto-api/reset")
    environment = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL_CLOUDFORMATION": moto_server,
        "AWS_ENDPOINT_URL_ECS": ecs.url,
    }  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in OUTPUTS.items()},
    }
    boto3.client("cloudformation").create_stack(
        StackName="formbridge-test", TemplateBody=json.dumps(template)
    )


def test_a_release_registers_the_new_image_migrates_privately_and_exits_0(stack, ecs, capsys):
    code = load_release().main(["--stack", "formbridge-test", "--image", "repo:new"])

    assert code == 0
    actions = [action for action, _ in ecs.calls]
    assert actions[:3] == ["DescribeTaskDefinition", "RegisterTaskDefinition", "RunTask"]
    registered = dict(ecs.calls)["RegisterTaskDefinition"]
    assert registered["containerDefinitions"][0]["image"] == "repo:new"
    assert registered["taskRoleArn"] == "arn:aws:iam::1:role/release"  # the rest kept
    started = dict(ecs.calls)["RunTask"]
    assert started["taskDefinition"].endswith(":2")  # the new revision, not the latest known
    assert started["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-app"],
        "assignPublicIp": "DISABLED",
    }  # fmt: skip
    assert started.get("overrides", {}) == {}  # the definition's own command: migrate
    assert "exit code 0" in capsys.readouterr().out


def test_a_failed_migration_is_the_scripts_failure(stack, ecs):
    ecs.exit_code = 3

    assert load_release().main(["--stack", "formbridge-test"]) == 3
    assert "RegisterTaskDefinition" not in [action for action, _ in ecs.calls]


def test_a_task_that_never_ran_is_a_failure_with_its_reason(stack, ecs, capsys):
    ecs.exit_code = None

    assert load_release().main(["--stack", "formbridge-test"]) == 1
    assert "CannotPullContainerError" in capsys.readouterr().out


def test_a_one_off_command_runs_manage_py_in_the_release_container(stack, ecs):
    assert load_release().main(["--stack", "formbridge-test", "--", "tenants", "list"]) == 0

    started = dict(ecs.calls)["RunTask"]
    assert started["overrides"] == {
        "containerOverrides": [
            {"name": "app", "command": ["python", "manage.py", "tenants", "list"]}
        ]
    }


def test_the_pipeline_builds_for_the_tasks_platform_then_migrates_then_deploys():
    workflow = yaml.safe_load((SCRIPT.parent / "github-actions.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["deploy"]["steps"]]
    build = next(i for i, run in enumerate(steps) if "docker build" in run)
    release = next(i for i, run in enumerate(steps) if "deploy/aws/release.py" in run)
    deploy = next(i for i, run in enumerate(steps) if "cloudformation deploy" in run)
    assert build < release < deploy
    assert "--platform linux/amd64" in steps[build] and "docker push" in steps[build]
    assert "--image" in steps[release]
    assert "ImageUri=" in steps[deploy]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_a_one_off_command_takes_its_environment(stack, ecs):
    argv = [
        "--stack", "formbridge-test", "--env", "DJANGO_SUPERUSER_USERNAME=admin",
        "--env", "DJANGO_SUPERUSER_PASSWORD=a=b", "--", "createsuperuser", "--noinput",
    ]  # fmt: skip
    assert load_release().main(argv) == 0

    [override] = dict(ecs.calls)["RunTask"]["overrides"]["containerOverrides"]
    assert override["environment"] == [
        {"name": "DJANGO_SUPERUSER_USERNAME", "value": "admin"},
        {"name": "DJANGO_SUPERUSER_PASSWORD", "value": "a=b"},
    ]
    assert override["command"] == ["python", "manage.py", "createsuperuser", "--noinput"]
