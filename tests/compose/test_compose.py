"""The one-host path, for real (`make test-compose`): the image built from the Dockerfile, then
docker-compose.yml brought up as a user would (with tests/compose/host-network.yml: the host's
loopback instead of a bridge), a lead signed and posted through nginx, delivered by the worker
to a receiver here, read back through the API, and everything brought down again.

Base images come from PYTHON_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE and NGINX_IMAGE when set (the
Makefile sets them to the ones deploy/local-images/build.sh builds from Debian's packages: no
registry is reachable here), else the public ones."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet

from tests.e2e.stack import Receiver, wait_until
from tests.signing import signed_headers

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "formbridge-compose-test"
TAG = "compose-test"
NGINX = "http://127.0.0.1:18080"
SOURCES = ["-f", "docker-compose.yml", "-f", "tests/compose/host-network.yml"]
# The two files merged (docker-compose config), less the published ports: on the host's network
# there is nothing to publish, and Compose refuses both at once (an override cannot remove them).
RENDERED = ROOT / "var" / "compose-host-network.yml"
COMPOSE = ["docker-compose", "-p", PROJECT, "--project-directory", str(ROOT), "-f", str(RENDERED)]
# The first build fetches every pinned dependency from PyPI; later ones reuse docker's cache.
BUILD_SECONDS, START_SECONDS = 1200, 240


def compose(*args: str, env: dict[str, str], timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(
        [*COMPOSE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker-compose {' '.join(args)}: {done.stdout}\n{done.stderr}")
    return done.stdout


def render(env: dict[str, str]) -> None:
    merged = subprocess.run(
        ["docker-compose", "-p", PROJECT, *SOURCES, "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    config = yaml.safe_load(merged)
    for service in config["services"].values():
        if service.get("network_mode") == "host":
            service.pop("ports", None)
    RENDERED.parent.mkdir(exist_ok=True)
    RENDERED.write_text(yaml.safe_dump(config))


def logs(env: dict[str, str], service: str) -> str:
    return compose("logs", "--no-color", "--tail", "40", service, env=env, check=False)


def manage(env: dict[str, str], *args: str) -> dict:
    """A manage.py command in the running web container, as an operator runs one (--json)."""
    return json.loads(compose("exec", "-T", "web", "python", "manage.py", *args, "--json", env=env))


def healthy(env: dict[str, str], service: str) -> bool:
    container = compose("ps", "-q", service, env=env).strip()
    if not container:
        return False
    state = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", container],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return state == "healthy"


@pytest.fixture(scope="module")
def stack():
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail("no Docker daemon answers: start dockerd (make test-compose does)")
    env = {
        **os.environ,
        "FORMBRIDGE_TAG": TAG,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FORMBRIDGE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    (ROOT / "var").mkdir(exist_ok=True)  # a developer's checkout has one: it must stay out
    render(env)
    compose("down", "-v", "--remove-orphans", env=env, check=False)
    compose("build", env=env, timeout=BUILD_SECONDS)
    try:
        compose("up", "-d", env=env, timeout=START_SECONDS)
        wait_until(
            lambda: all(healthy(env, s) for s in ("nginx", "web", "worker")),
            seconds=START_SECONDS,
            what=lambda: (
                compose("ps", env=env, check=False)
                + compose("logs", "--tail", "30", env=env, check=False)
            ),
        )
        yield env
    finally:
        compose("down", "-v", "--remove-orphans", env=env, check=False)
        RENDERED.unlink()  # it holds the run's generated secrets


def test_a_lead_goes_in_through_nginx_out_to_a_receiver_and_reads_back(stack):
    receiver = Receiver().start()
    try:
        tenant = manage(stack, "tenants", "create", "t_compose", "--name", "Compose")
        manage(stack, "destinations", "add", "t_compose", "crm", "--url", receiver.url("/hook"))
        key = manage(stack, "apikeys", "create", "t_compose", "--scopes", "read")["key"]
        submission_id = str(uuid.uuid4())
        body = json.dumps({"submission_id": submission_id, "form_id": "contact",
                           "payload": {"email": "ada@example.com"}}).encode()  # fmt: skip

        accepted = httpx.post(
            f"{NGINX}/v1/ingest",
            content=body,
            headers={
                "Content-Type": "application/json",
                **signed_headers(tenant_id="t_compose", secret=tenant["signing_secret"], body=body),
            },
            timeout=10,
        )

        assert accepted.status_code == 202, accepted.text + logs(stack, "web")
        wait_until(lambda: receiver.at("/hook"), seconds=60, what="the delivery to the receiver")
        [delivered] = receiver.at("/hook")
        assert delivered.event["submission_id"] == submission_id
        assert delivered.event["payload"] == {"email": "ada@example.com"}
        shown = {}

        def settled() -> bool:
            shown.update(
                httpx.get(f"{NGINX}/v1/submissions/{submission_id}",
                          headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
            )  # fmt: skip
            statuses = {d["destination"]: d["status"] for d in shown.get("deliveries", [])}
            return statuses.get("crm") == "succeeded"  # beside the tenant's own inbox

        wait_until(settled, seconds=30, what=lambda: f"the stored delivery: {shown}")
        assert shown["payload"] == {"email": "ada@example.com"}
    finally:
        receiver.stop()


def test_the_image_holds_the_code_and_none_of_the_developers_files(stack):
    # The build context held them (the fixture built from this checkout): the allowlist kept
    # them out of the image.
    assert all((ROOT / name).exists() for name in (".env", "var", ".venv")), "not a dev checkout"
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", f"formbridge:{TAG}", "-c",
         "cd /app && ls -A && python -c 'import importlib.util as u; "
         "assert all(map(u.find_spec, (\"formbridge\", \"delivery\", \"ingest\")))'"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert {"manage.py", "formbridge", "delivery", "ingest", "deploy"} <= set(listing)
    assert not {".env", ".venv", "node_modules", "tests", ".git"} & set(listing), listing
    # var/ is the image's own, empty and the app user's: no developer's database or files.
    var = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", f"formbridge:{TAG}", "-c",
         "stat -c %U /app/var && ls -A /app/var"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert var == ["formbridge"], var
