"""A deploy rehearsal: every task definition in deploy/aws/services.yaml started here with exactly
the environment and the secret names it declares (values faked; RDS, ElastiCache and AWS played
by a TLS-only PostgreSQL, a TLS Redis with AUTH and moto's server), then judged by its own
container health check and, for web, by the target group's check as the load balancer sends it
(Host: the task's IP). The release task migrates an empty database first, as each deploy does.
A template change that breaks a task fails here, before ECS rolls it back.

    make test-deploy
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import httpx
import pytest
from cryptography.fernet import Fernet

from tests.deploy.cfn import SERVICES, Resolver
from tests.deploy.servers import TlsPostgres, TlsRedis, make_certificates
from tests.e2e.stack import stop

pytestmark = pytest.mark.deploy
ROOT = Path(__file__).resolve().parents[2]
TASK_IP = "10.0.1.23"  # what the load balancer's health check sends as Host, with the port
BUCKET = "formbridge-rehearsal-files"
SECRET_VALUES = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FORMBRIDGE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_PASSWORD": secrets.token_urlsafe(24),
    "REDIS_PASSWORD": secrets.token_urlsafe(24),
}


def image_environment() -> dict[str, str]:
    """What the image sets (the Dockerfile's ENV lines), as the container starts with it."""
    found: dict[str, str] = {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                found[name] = value
    return found


@pytest.fixture(scope="module")
def rehearsal(moto_server):
    # Not under pytest's 0700 folder: PostgreSQL runs as its own user and must reach its files.
    root = Path(tempfile.mkdtemp(prefix="formbridge-rehearsal-"))
    os.chmod(root, 0o755)  # noqa: S103 - PostgreSQL's own user reads its folder
    certificates = make_certificates(root / "tls")
    os.chmod(root / "tls", 0o755)  # noqa: S103 - as above
    for path in (root / "tls").iterdir():
        os.chmod(path, 0o644 if path.suffix == ".pem" else 0o600)
    postgres = TlsPostgres(root / "postgres", certificates).start(
        user="formbridge", password=SECRET_VALUES["DATABASE_PASSWORD"], database="formbridge"
    )
    redis = TlsRedis(root / "redis", certificates, SECRET_VALUES["REDIS_PASSWORD"]).start()
    httpx.post(f"{moto_server}/moto-api/reset")
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    resolver = Resolver.load(
        SERVICES,
        {
            "Environment": "rehearsal",
            "VpcId": "vpc-0rehearsal",
            "PublicSubnetIds": "subnet-a,subnet-b",
            "PrivateSubnetIds": "subnet-c,subnet-d",
            "AppSecurityGroupId": "sg-app",
            "LoadBalancerSecurityGroupId": "sg-lb",
            "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/rehearsal",
            "DomainName": "hooks.example.com",
            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/formbridge:rehearsal",
            "AppSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app",
            "EncryptionKeysSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys",
            "DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
            "CacheAuthSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cache",
            "DatabaseAddress": "127.0.0.1",
            "DatabasePort": str(postgres.port),
            "CacheAddress": "127.0.0.1",
            "CachePort": str(redis.port),
            "FilesBucketName": BUCKET,
            "MirrorTableName": "",
        },
        attributes={
            "SecretReferenceReaderRole.Arn": (
                "arn:aws:iam::123456789012:role/formbridge-rehearsal-secret-reader"
            ),
            "ExecutionRole.Arn": "arn:aws:iam::123456789012:role/execution",
            **{f"{r}TaskRole.Arn": f"arn:aws:iam::123456789012:role/{r.lower()}"
               for r in ("Web", "Worker", "Beat", "Release")},
        },
    )  # fmt: skip
    yield {"root": root, "resolver": resolver, "ca": certificates.ca, "moto": moto_server,
           "postgres": postgres}  # fmt: skip
    redis.stop()
    postgres.stop()
    shutil.rmtree(root, ignore_errors=True)


def container(resolver: Resolver, task: str) -> dict:
    definition = resolver.template["Resources"][task]["Properties"]
    [app] = [c for c in resolver.value(definition["ContainerDefinitions"]) if c["Name"] == "app"]
    return app


def task_environment(rehearsal, app: dict) -> dict[str, str]:
    """The process environment ECS would give the container: the image's ENV, the task
    definition's Environment and Secrets (faked values), the task role's credentials; plus the
    rehearsal's stand-ins: moto's endpoint, and its CA trusted as Amazon's is."""
    declared = {e["Name"]: str(e["Value"]) for e in app.get("Environment", [])}
    secret_names = {s["Name"] for s in app.get("Secrets", [])}
    unknown = secret_names - set(SECRET_VALUES)
    assert not unknown, f"a secret the rehearsal does not fake: {unknown}"
    return {
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(rehearsal["root"]),
        "HOSTNAME": os.uname().nodename,
        "LANG": "C.UTF-8",
        **image_environment(),
        **declared,
        **{name: SECRET_VALUES[name] for name in secret_names},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": rehearsal["moto"],
        "SSL_CERT_FILE": str(rehearsal["ca"]),
    }


def start(rehearsal, task: str, log: Path) -> subprocess.Popen:
    app = container(rehearsal["resolver"], task)
    return subprocess.Popen(
        ["deploy/entrypoint.sh", *app["Command"]],
        cwd=ROOT, env=task_environment(rehearsal, app),
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def container_health(rehearsal, task: str) -> tuple[bool, float, str]:
    """The container's HealthCheck run as ECS runs it, until healthy or out of its allowance
    (StartPeriod, then Retries times Interval): (healthy, seconds it took, last output)."""
    app = container(rehearsal["resolver"], task)
    check = app["HealthCheck"]
    kind, *command = check["Command"]
    argv = ["/bin/sh", "-c", command[0]] if kind == "CMD-SHELL" else command
    allowance = check.get("StartPeriod", 0) + check.get("Retries", 3) * check.get("Interval", 30)
    started = time.monotonic()
    output = ""
    while time.monotonic() - started < allowance:
        done = subprocess.run(
            argv, cwd=ROOT, env=task_environment(rehearsal, app), capture_output=True, text=True,
            timeout=check.get("Timeout", 5) + 5,
        )  # fmt: skip
        output = (done.stdout + done.stderr)[-800:]
        if done.returncode == 0:
            return True, time.monotonic() - started, output
        time.sleep(2)
    return False, time.monotonic() - started, output


def test_every_task_definition_comes_up_healthy(rehearsal, capsys):
    resolver, root = rehearsal["resolver"], rehearsal["root"]
    report = []

    # The release task first: migrate, from an empty database, to exit 0.
    release_log = root / "release.log"
    release = start(rehearsal, "ReleaseTask", release_log)
    assert release.wait(timeout=300) == 0, release_log.read_text()[-3000:]
    report.append(("release", "migrate exited 0", ""))

    processes = {}
    # A fresh task starts with an empty /tmp, where beat keeps its schedule (the template says).
    for stale in Path("/tmp").glob("celerybeat-schedule*"):  # noqa: S108
        stale.unlink()
    try:
        for task in ("WebTask", "WorkerTask", "BeatTask"):
            processes[task] = start(rehearsal, task, root / f"{task}.log")
        for task, process in processes.items():
            healthy, seconds, output = container_health(rehearsal, task)
            assert healthy, f"{task}: {output}\n{(root / f'{task}.log').read_text()[-3000:]}"
            assert process.poll() is None, f"{task} exited"
            report.append((task.removesuffix("Task").lower(), "container check healthy",
                           f"{seconds:.1f} s"))  # fmt: skip

        # The load balancer's target check: its path and port, the task's IP as Host.
        [group] = [
            resolver.value(r["Properties"])
            for r in resolver.template["Resources"].values()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        ]
        port = group.get("HealthCheckPort", group["Port"])
        port = group["Port"] if port == "traffic-port" else int(port)
        answer = httpx.get(
            f"http://127.0.0.1:{port}{group['HealthCheckPath']}",
            headers={"Host": f"{TASK_IP}:{port}"},
            timeout=group.get("HealthCheckTimeoutSeconds", 5),
        )  # fmt: skip
        codes = str(group.get("Matcher", {}).get("HttpCode", "200")).split(",")
        assert str(answer.status_code) in codes, (answer.status_code, answer.text)
        checked = f"target group check {answer.status_code}"
        report.append(("web", checked, f"Host {TASK_IP}:{port}"))
    finally:
        for process in processes.values():
            stop(process)
    with capsys.disabled():
        print("\ndeploy rehearsal:")
        for row in report:
            print("  " + " | ".join(row))
