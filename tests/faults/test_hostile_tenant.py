"""The hostile-tenant suite (`make test-faults`): tenant A attacks while tenant B works.

The stack is the production shape: Debian's nginx in front of gunicorn, a Celery worker and
beat, PostgreSQL and Redis. Tenant B sends steady signed traffic to a healthy receiver. After a
baseline, tenant A joins with property-based hostile input (hypothesis): times outside what a
store can hold in every accepted format, NULs and invalid UTF-8 in every field, path and query
parameter, junk timestamps, respelled replays, huge headers, slow request bodies, exploding
mappings; and A's own receivers answer binary junk, huge headers, redirects to the metadata
address, trickled bodies, slowness and resets.

A also attacks every resource FormBridge shares between tenants (issue 27): B's secret
references and B's queue (refused: 400 secret_not_allowed / target_not_allowed), the operator's
mail relay (A's spoofed From goes out as the operator's, A's address in Reply-To), the template
compiler (bombs sent two at a time by a thread of their own), the JMESPath evaluator, and its
own provider source (one captured signed body replayed under new delivery ids and event types).

Then: no request was answered 5xx; whatever A got accepted can be read back; B lost nothing
(every 202 stored and delivered) and its p99 first-attempt latency stayed within 2x its
baseline (with a 100 ms floor for a noisy 2-core machine); /healthz answered within 1 s
throughout; A's deliveries all ended or wait their turn, none stuck in flight. Each shared
resource added later joins this suite.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import statistics
import threading
import time
from collections import Counter
from contextlib import ExitStack
from urllib.parse import quote

import httpx
import pytest
from django.db import connection
from django.db.models import Count
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination
from ingest.models import Submission
from tenants.services import api_key_create
from tests.e2e.stack import start_celery, stop, wait_until
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port, start_nginx, start_web
from tests.signing import sign

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx missing (.ci/run installs it)"),
]
B_PER_SECOND = 10
WARMUP_SECONDS = 2
BASELINE_SECONDS = 8
ATTACK_SECONDS = 14
ATTACKS_PER_SECOND = 25
LATENCY_FLOOR_SECONDS = 0.1
EXPLODING = "payload" + " | [@,@]" * 30
HEALTH_LIMIT_SECONDS = 1.0
# What A tries to reach of B's, and of the operator's.
B_SECRET_REFERENCE = "aws-sm://formbridge/refs/t_b/crm#token"
B_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/t_b-leads"
SPOOFED_FROM = "Security Team <security@bank.example>"
OPERATOR_FROM = "FormBridge <formbridge@operator.example>"
TEMPLATE_BOMBS = (
    "{{ (10**(10**7)) > 1 }}",
    '{{ ("a"*(2*10**8))|length }}',
    '{{ "ab".ljust(999999999) }}',
    "{% for i in range(1000) %}{% for j in range(1000) %}{{ (i ~ j)|length > 99 }}"
    "{% endfor %}{% endfor %}",
)
GITHUB_SECRET = "a-github-webhook-secret-0123"


def signed(secret: str, tenant_id: str, body: bytes, **headers) -> dict[str, str]:
    timestamp = f"{time.time():.6f}"
    return {
        "X-Tenant-Id": tenant_id,
        "X-Timestamp": timestamp,
        "X-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
        **headers,
    }


class SteadyTenant:
    """Tenant B: signed submissions at a steady rate, each remembered with when it was sent."""

    def __init__(self, base: str, created) -> None:
        self.base, self.created = base, created
        self.sent_at: dict[str, float] = {}
        self.answers: dict[str, int | str] = {}
        self.answered_in: dict[str, float] = {}
        self.running = threading.Event()

    def run(self) -> None:
        self.running.set()
        n, next_at = 0, time.monotonic()
        with httpx.Client(timeout=10) as client:
            while self.running.is_set():
                n += 1
                submission_id = f"b-{n}"
                body = json.dumps({"submission_id": submission_id, "payload": {"n": n}}).encode()
                headers = signed(self.created.signing_secret, "t_b", body)
                self.sent_at[submission_id] = time.monotonic()
                try:
                    response = client.post(f"{self.base}/v1/ingest", content=body, headers=headers)
                    self.answers[submission_id] = response.status_code
                    self.answered_in[submission_id] = time.monotonic() - self.sent_at[submission_id]
                except httpx.HTTPError as exc:
                    self.answers[submission_id] = type(exc).__name__
                next_at += 1 / B_PER_SECOND
                time.sleep(max(0.0, next_at - time.monotonic()))


# --- what tenant A sends ---

OFFSETS = st.sampled_from(["Z", "+00:00", "+01:00", "-01:00", "+14:00", "-12:00", "+05:30", ""])
EDGE_YEARS = st.sampled_from([1, 2, 1969, 1970, 2038, 9998, 9999])


@st.composite
def edge_times(draw) -> str:
    """ISO 8601 at the edges of what a store can hold, in the spellings Python accepts."""
    year, offset = draw(EDGE_YEARS), draw(OFFSETS)
    month, day = draw(st.sampled_from([(1, 1), (12, 31), (6, 15)]))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59", "12:00", "23:59:59.999999"]))
    separator = draw(st.sampled_from(["T", " "]))
    return f"{year:04d}-{month:02d}-{day:02d}{separator}{clock}{offset}"


HOSTILE_TEXT = st.one_of(
    st.just("\\u0000"),
    st.just("a\\u0000b"),
    st.just("\\ud800"),
    st.just("\\udfff\\ud800"),
    st.text(max_size=20).map(lambda t: json.dumps(t)[1:-1]),
    st.sampled_from(["\\n\\r\\t", "\\u202e", "\\u0007", "x" * 200]),
)
RAW_JUNK = st.binary(min_size=1, max_size=12).filter(lambda b: b'"' not in b and b"\\" not in b)
FIELDS = st.sampled_from(
    ["payload_key", "payload_value", "form_id", "source", "event_type", "submission_id"]
)


@st.composite
def poisoned_body(draw) -> bytes:
    """An envelope with one field made of escapes or raw bytes no store should have to hold."""
    slot = draw(FIELDS)
    raw = draw(st.one_of(HOSTILE_TEXT.map(str.encode), RAW_JUNK))
    values = {name: b"ok" for name in ("payload_key", "payload_value", "form_id", "source")}
    values |= {"event_type": b"lead.created", "submission_id": b"a-%d" % draw(st.integers(0, 9))}
    values[slot] = raw
    return (
        b'{"payload": {"' + values["payload_key"] + b'": "' + values["payload_value"] + b'"}, '
        b'"form_id": "' + values["form_id"] + b'", "source": "' + values["source"] + b'", '
        b'"event_type": "' + values["event_type"] + b'", '
        b'"submission_id": "' + values["submission_id"] + b'"}'
    )


PATH_JUNK = st.one_of(
    st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe="")),
    st.binary(min_size=1, max_size=10).map(lambda b: quote(b, safe="")),
    st.sampled_from(["a%00b", "%ff%fe", "..%2f..", "x" * 70, "%C0%AE", "a%0d%0ab"]),
)
TIMESTAMP_JUNK = st.one_of(
    st.integers(min_value=10**11, max_value=10**13).map(str),
    st.sampled_from(["999999999999", "1e99", "-1", "nan", "inf", "0", "99999999999.999999999"]),
    # What an HTTP client can put in a header: printable, no surrounding spaces.
    st.text(max_size=30).filter(lambda t: t.isprintable() and t == t.strip() and t.isascii()),
)

ATTACK = st.one_of(
    st.tuples(st.just("time"), edge_times()),
    st.tuples(st.just("poison"), poisoned_body()),
    st.tuples(st.just("timestamp"), TIMESTAMP_JUNK),
    st.tuples(st.just("path"), PATH_JUNK),
    st.tuples(st.just("query"), PATH_JUNK, st.sampled_from(["form_id", "since", "cursor"])),
    st.tuples(st.just("respell"), st.sampled_from(["sha256={}", "SHA256={}", "Sha256={}"])),
    st.tuples(st.just("mapping"), st.integers(min_value=18, max_value=40)),
    st.tuples(st.just("headers"), st.integers(min_value=50, max_value=200)),
    st.tuples(st.just("lead"), st.integers(min_value=0, max_value=10**6)),
    st.tuples(st.just("secret"), st.sampled_from(["bearer", "basic"])),
    st.tuples(st.just("target"), st.sampled_from(["sqs", "eventbridge", "s3", "dynamodb"])),
    st.tuples(st.just("template"), st.sampled_from(TEMPLATE_BOMBS)),
    st.tuples(st.just("source_replay"), st.integers(min_value=0, max_value=10**6)),
)
# B's names, as A would guess them.
B_TARGETS = {
    "sqs": {"queue_url": B_QUEUE_URL},
    "eventbridge": {"event_bus": "arn:aws:events:eu-west-1:123456789012:event-bus/t_b"},
    "s3": {"bucket": "t-b-archive"},
    "dynamodb": {"table": "t_b-mirror"},
}


class HostileTenant:
    def __init__(self, base: str, created, read_key: str, admin_key: str) -> None:
        self.base, self.created = base, created
        self.read = {"Authorization": f"Bearer {read_key}"}
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.sent: list[tuple[str, int]] = []
        self.accepted: set[str] = set()
        self.failure: BaseException | None = None
        self.client = httpx.Client(timeout=15)
        self.source_path = ""
        self.captured: tuple[bytes, dict[str, str]] = (b"", {})
        self.source_submissions: set[str] = set()

    def open_source(self) -> None:
        """A's own GitHub source, and one request to it as captured off the wire."""
        created = self.client.post(
            f"{self.base}/v1/sources",
            json={"name": "gh", "preset": "github", "secret": GITHUB_SECRET},
            headers=self.admin,
        )
        assert created.status_code == 201, created.text
        self.source_path = "/v1/sources/" + created.json()["url"].rsplit("/", 1)[1]
        body = json.dumps({"action": "opened", "issue": {"number": 7}}).encode()
        mac = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.captured = (body, {"X-Hub-Signature-256": f"sha256={mac}",
                                "Content-Type": "application/json"})  # fmt: skip

    def _ingest(self, body: bytes, **headers) -> httpx.Response:
        return self.client.post(
            f"{self.base}/v1/ingest",
            content=body,
            headers=signed(self.created.signing_secret, "t_a", body, **headers),
        )

    def _check(self, kind: str, response: httpx.Response) -> None:
        self.sent.append((kind, response.status_code))
        assert response.status_code < 500, (kind, response.status_code, response.text[:300])
        if response.status_code == 202:
            submission_id = response.json()["submission_id"]
            self.accepted.add(submission_id)
            # Whatever was accepted can be read back, alone and in a list.
            path = f"{self.base}/v1/submissions/{quote(submission_id, safe='')}"
            readback = self.client.get(path, headers=self.read)
            assert readback.status_code == 200, (kind, readback.text[:300])
            listing = self.client.get(f"{self.base}/v1/submissions?limit=5", headers=self.read)
            assert listing.status_code == 200, (kind, listing.text[:300])

    def attack(self, step) -> None:
        kind = step[0]
        if kind == "time":
            body = json.dumps({"payload": {"a": 1}, "submitted_at": step[1]}).encode()
            response = self._ingest(body)
            assert response.status_code in (202, 400), (step, response.text[:200])
        elif kind == "poison":
            response = self._ingest(step[1])
        elif kind == "timestamp":
            response = self.client.post(
                f"{self.base}/v1/ingest",
                content=b"{}",
                headers={"X-Tenant-Id": "t_a", "X-Timestamp": step[1], "X-Signature": "0" * 64},
            )
            assert response.status_code in (400, 401), (step, response.status_code)
        elif kind == "path":
            for method, path in (
                ("GET", f"/v1/submissions/{step[1]}"),
                ("POST", f"/v1/submissions/{step[1]}/replay"),
                ("GET", f"/v1/destinations/{step[1]}"),
                ("POST", f"/v1/destinations/{step[1]}/test"),
            ):
                headers = self.admin if method == "POST" or "destinations" in path else self.read
                response = self.client.request(method, self.base + path, headers=headers)
                self._check("path", response)
            return
        elif kind == "query":
            response = self.client.get(
                f"{self.base}/v1/submissions?{step[2]}={step[1]}", headers=self.read
            )
        elif kind == "respell":
            body = json.dumps({"payload": {"r": random.random()}}).encode()
            headers = signed(self.created.signing_secret, "t_a", body)
            first = self.client.post(f"{self.base}/v1/ingest", content=body, headers=headers)
            self._check("respell", first)
            again = {**headers, "X-Signature": step[1].format(headers["X-Signature"].upper())}
            response = self.client.post(f"{self.base}/v1/ingest", content=body, headers=again)
            assert response.status_code == 409, (step, response.text[:200])
        elif kind == "mapping":
            response = self.client.post(
                f"{self.base}/v1/destinations",
                json={
                    "name": f"boom-{step[1]}",
                    "url": "https://example.com/hook",
                    "config": {"mapping": "payload" + " | [@,@]" * step[1]},
                },
                headers=self.admin,
            )
            assert response.status_code == 400, (step, response.text[:200])
        elif kind == "headers":
            body = json.dumps({"payload": {"h": step[1]}}).encode()
            junk = {f"X-Junk-{i}": "j" * 4000 for i in range(step[1])}
            response = self._ingest(body, **junk)
        elif kind == "secret":  # B's stored credential, named by A
            auth_config = {"username": "u"} if step[1] == "basic" else {}
            response = self.client.post(f"{self.base}/v1/destinations", json={
                "name": f"steal-{step[1]}", "url": "https://93.184.216.34/hook",
                "auth_mode": step[1], "auth_config": auth_config, "auth_secret": B_SECRET_REFERENCE,
            }, headers=self.admin)  # fmt: skip
            assert response.status_code == 400, (step, response.text[:200])
            assert response.json()["error"]["code"] == "secret_not_allowed", response.text[:200]
        elif kind == "target":  # B's queue, bus, bucket or table, with the worker's role
            response = self.client.post(f"{self.base}/v1/destinations", json={
                "name": f"b-{step[1]}", "kind": step[1], "config": B_TARGETS[step[1]],
            }, headers=self.admin)  # fmt: skip
            assert response.status_code == 400, (step, response.text[:200])
            assert response.json()["error"]["code"] == "target_not_allowed", response.text[:200]
        elif kind == "template":
            response = self.client.post(f"{self.base}/v1/destinations", json={
                "name": "bomb", "kind": "slack", "auth_secret": "xoxb-1-2-abc",
                "config": {"channel": "C0SALES", "template": step[1]},
            }, headers=self.admin)  # fmt: skip
            assert response.status_code == 400, (step, response.text[:200])
        elif kind == "source_replay":  # captured bytes under a new delivery id and event type
            body, headers = self.captured
            response = self.client.post(self.base + self.source_path, content=body, headers={
                **headers, "X-GitHub-Delivery": f"replay-{step[1]}",
                "X-GitHub-Event": random.choice(["push", "deployment", "member"]),
            })  # fmt: skip
            assert response.status_code in (200, 202), (step, response.text[:200])
            self.source_submissions.add(response.json()["submission_id"])
            self.sent.append((kind, response.status_code))
            return
        else:  # a well-formed lead, fanned out to A's hostile receivers
            body = json.dumps({"payload": {"lead": step[1]}}).encode()
            response = self._ingest(body)
            assert response.status_code == 202, response.text[:200]
        self._check(kind, response)

    def run(self, until: float) -> None:
        @settings(
            max_examples=ATTACKS_PER_SECOND * ATTACK_SECONDS,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(ATTACK)
        def attack(step) -> None:
            if time.monotonic() > until:
                return
            started = time.monotonic()
            self.attack(step)
            time.sleep(max(0.0, 1 / ATTACKS_PER_SECOND - (time.monotonic() - started)))

        try:
            attack()
        except BaseException as exc:  # reported by the test, in its own thread
            self.failure = exc


def template_bombs(base: str, admin_key: str, until: float, failures: list) -> None:
    """Two template or mapping bombs at a time, without pause: the two sync web workers' whole
    capacity, spent on tenant-written code."""

    def one(bomb: str) -> None:
        if bomb in TEMPLATE_BOMBS:
            config = {"to": ["x@example.com"], "subject": "s", "text_template": bomb}
            body = {"name": "bomb", "kind": "email", "config": config}
        else:
            body = {
                "name": "bomb",
                "url": "https://93.184.216.34/hook",
                "config": {"mapping": bomb},
            }
        with httpx.Client(timeout=15) as client:
            response = client.post(
                f"{base}/v1/destinations",
                json=body,
                headers={"Authorization": f"Bearer {admin_key}"},
            )
            if response.status_code != 400:
                failures.append((bomb, response.status_code, response.text[:200]))

    bombs = (*TEMPLATE_BOMBS, EXPLODING)
    while time.monotonic() < until:
        pair = [threading.Thread(target=one, args=(bomb,)) for bomb in random.sample(bombs, 2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join(timeout=20)


class HealthProbe:
    """/healthz every 200 ms through nginx, each answer's time kept."""

    def __init__(self, base: str) -> None:
        self.base, self.seconds, self.errors = base, [], []
        self.running = threading.Event()

    def run(self) -> None:
        self.running.set()
        with httpx.Client(timeout=10) as client:
            while self.running.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{self.base}/healthz").status_code
                    if status != 200:
                        self.errors.append(status)
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                self.seconds.append(time.monotonic() - started)
                time.sleep(0.2)


def slow_bodies(port: int, count: int, seconds: float) -> None:
    """Requests whose bodies arrive a byte at a time: nginx holds them, gunicorn never sees them."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(
            b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\nX-Tenant-Id: t_a\r\n\r\n{"
        )
        sockets.append(sock)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        for sock in sockets:
            with contextlib.suppress(OSError):  # nginx may drop it: as it should
                sock.sendall(b" ")
    for sock in sockets:
        sock.close()


class Relay:
    """The operator's SMTP relay: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def relay():
    from aiosmtpd.controller import Controller

    mailbox = Relay()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_a_hostile_tenant_cannot_stall_or_cost_another_tenant(tmp_path, receiver, relay, settings):
    # Given tenant B with a healthy receiver, and tenant A with receivers that misbehave
    steady = tenant_with_secret("t_b")
    hostile = tenant_with_secret("t_a")
    delivery_services.destination_create(
        tenant=steady.tenant, name="b", config={"url": receiver.url("/b")}
    )
    quick = {"timeout_seconds": 2.0, "connect_timeout_seconds": 1.0}
    misbehaving = {
        "junk": [(200, {}, bytes(random.Random(7).randrange(256) for _ in range(900)))],
        "nul": [(500, {"X-Why": "nul"}, b"bad\x00body\xff\xfe")],
        "redirect": [(307, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")],
        "headers": [(200, {f"X-Junk-{i}": "h" * 9000 for i in range(30)}, b"ok")],
        "trickle": [("trickle", 5)],
        "slow": [("slow", 3)],
        "reset": ["reset"],
    }
    for name, script in misbehaving.items():
        receiver.set(f"/a-{name}", script)
        delivery_services.destination_create(
            tenant=hostile.tenant,
            name=name,
            config={"url": receiver.url(f"/a-{name}")},
            retry_schedule=[0.2, 0.5],
            max_attempts=3,
            **quick,
        )
    # A's e-mail destination on the operator's relay, with someone else's address as its From.
    delivery_services.destination_create(
        tenant=hostile.tenant, name="mail", kind="email",
        config={"to": ["a@example.com"], "subject": "Lead", "text_template": "{{ payload }}",
                "from": SPOOFED_FROM},
    )  # fmt: skip
    boom = delivery_services.destination_create(
        tenant=hostile.tenant, name="boom", config={"url": receiver.url("/a-boom")}, **quick
    ).destination
    # Stored as a version without mapping bounds would have: it must fail alone at send time.
    Destination.objects.filter(pk=boom.pk).update(
        config={"url": receiver.url("/a-boom"), "mapping": EXPLODING}
    )
    settings.DEFAULT_FROM_EMAIL = OPERATOR_FROM  # the destinations above were checked with it
    read_key = api_key_create(tenant=hostile.tenant, name="r", scopes=["read"]).key
    admin_key = api_key_create(tenant=hostile.tenant, name="a", scopes=["admin"]).key
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER'] or 'postgres'}@127.0.0.1:5432/"
        f"{database['NAME']}",
        "DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
        # A's failing receivers keep failing at full rate: the breaker would only spare B.
        "DELIVERY_CIRCUIT_FAILURES": "1000000",
        "TENANT_CACHE_SECONDS": "1",
        "TRUSTED_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        # The operator's relay, shared by every tenant: an SMTP server on loopback.
        "EMAIL_URL": f"smtp://127.0.0.1:{relay.port}",
        "DEFAULT_FROM_EMAIL": OPERATOR_FROM,
        "AWS_ACCOUNT_ID": "123456789012",
    }
    (tmp_path / "metrics").mkdir()
    log = tmp_path / "celery.log"
    web_port, nginx_port = free_port(), free_port()
    base = f"http://127.0.0.1:{nginx_port}"
    b_load = SteadyTenant(base, steady)
    attacker = HostileTenant(base, hostile, read_key, admin_key)
    health = HealthProbe(base)
    bomb_failures: list = []
    running = ExitStack()
    with running:
        web = start_web(env, web_port)
        running.callback(stop, web)
        running.callback(stop, start_nginx(tmp_path, upstream_port=web_port, port=nginx_port))
        worker = start_celery(
            "worker", env, log, "--concurrency", "2", "--without-gossip", "--without-mingle"
        )
        running.callback(stop, worker)
        beat = start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
        running.callback(stop, beat)
        loader = threading.Thread(target=b_load.run, daemon=True)
        loader.start()
        running.callback(b_load.running.clear)
        attacker.open_source()
        prober = threading.Thread(target=health.run, daemon=True)
        prober.start()
        running.callback(health.running.clear)

        # When B runs alone for a baseline (once warm: processes started, first delivery made),
        # then A attacks alongside it
        wait_until(lambda: receiver.at("/b"), seconds=30, what="B's first delivery")
        time.sleep(WARMUP_SECONDS)
        baseline_started = time.monotonic()
        time.sleep(BASELINE_SECONDS)
        attack_started = time.monotonic()
        until = attack_started + ATTACK_SECONDS
        threads = [
            threading.Thread(target=attacker.run, args=(until,), daemon=True),
            threading.Thread(target=slow_bodies, args=(nginx_port, 20, ATTACK_SECONDS)),
            threading.Thread(target=template_bombs, args=(base, admin_key, until, bomb_failures)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=ATTACK_SECONDS + 60)
        attack_ended = time.monotonic()
        b_load.running.clear()
        health.running.clear()
        loader.join(timeout=15)
        prober.join(timeout=15)
        assert attacker.failure is None, f"tenant A got an answer it should not: {attacker.failure}"
        assert bomb_failures == [], bomb_failures

        def settled() -> bool:
            open_b = Delivery.objects.filter(tenant_id="t_b").exclude(
                status=DeliveryStatus.SUCCEEDED
            )
            open_a = Delivery.objects.filter(tenant_id="t_a").exclude(
                status__in=(DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
            )
            return not open_b.exists() and not open_a.exists()

        def progress() -> str:
            counts = Delivery.objects.values_list("tenant_id", "status").annotate(n=Count("id"))
            return f"deliveries to settle: {sorted(counts)}; {log.read_text()[-1500:]}"

        wait_until(settled, seconds=90, what=progress)

    # Then B lost nothing and kept its pace
    accepted = {s for s, status in b_load.answers.items() if status == 202}
    assert accepted == set(b_load.answers), {s: a for s, a in b_load.answers.items() if a != 202}
    stored = set(Submission.objects.filter(tenant_id="t_b").values_list("submission_id", flat=True))
    assert accepted <= stored, f"lost: {sorted(accepted - stored)[:10]}"
    first_seen: dict[str, float] = {}
    for received in receiver.at("/b"):
        first_seen.setdefault(received.event["submission_id"], received.when)
    assert set(first_seen) == stored, f"never delivered: {sorted(stored - set(first_seen))[:10]}"
    latency = {s: first_seen[s] - b_load.sent_at[s] for s in stored}
    baseline = [
        latency[s] for s in stored if baseline_started <= b_load.sent_at[s] < attack_started
    ]
    attacked = [latency[s] for s in stored if attack_started <= b_load.sent_at[s] <= attack_ended]

    def figures(window: list[str], of: dict[str, float]) -> dict:
        values = [of[s] for s in window if s in of]
        return {
            "n": len(values),
            "p50": round(statistics.median(values) * 1000, 1),
            "p99": round(percentile(values, 0.99) * 1000, 1),
        }

    # Where the time goes: from the stored row to the first attempt's start (the engine's pickup).
    pickup = {
        submission_id: (started - received).total_seconds()
        for submission_id, started, received in DeliveryAttempt.objects.filter(
            tenant_id="t_b", number=1
        ).values_list(
            "delivery__submission__submission_id", "started_at", "delivery__submission__received_at"
        )
    }
    in_baseline = [s for s in stored if baseline_started <= b_load.sent_at[s] < attack_started]
    in_attack = [s for s in stored if attack_started <= b_load.sent_at[s] <= attack_ended]
    report = {
        "b_submissions": len(stored),
        "b_lost": len(accepted - stored),
        "b_delivered": len(first_seen),
        "b_baseline_first_attempt_ms": figures(in_baseline, latency),
        "b_under_attack_first_attempt_ms": figures(in_attack, latency),
        "b_baseline_pickup_ms": figures(in_baseline, pickup),
        "b_under_attack_pickup_ms": figures(in_attack, pickup),
        "b_baseline_ingest_ms": figures(in_baseline, b_load.answered_in),
        "b_under_attack_ingest_ms": figures(in_attack, b_load.answered_in),
        "healthz_max_ms": round(max(health.seconds) * 1000, 1),
        "healthz_p99_ms": round(percentile(health.seconds, 0.99) * 1000, 1),
        "healthz_probes": len(health.seconds),
        "relay_messages": len(relay.messages),
        "a_requests": len(attacker.sent),
        "a_by_status": dict(sorted(Counter(status for _, status in attacker.sent).items())),
        "a_accepted": len(attacker.accepted),
        "a_deliveries": dict(
            Delivery.objects.filter(tenant_id="t_a")
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        ),
    }
    print("\nhostile-tenant ledger:", json.dumps(report))
    assert len(attacker.sent) > ATTACKS_PER_SECOND * ATTACK_SECONDS // 3, report
    limit = 2 * max(percentile(baseline, 0.99), LATENCY_FLOOR_SECONDS)
    assert percentile(attacked, 0.99) <= limit, report
    # A's poison stayed A's: every one of its deliveries ended (settled above), nothing was sent
    # to the metadata address, and the exploding mapping failed alone and for good.
    boom_deliveries = Delivery.objects.filter(destination=boom)
    assert boom_deliveries.exists()
    assert all(
        d.status == DeliveryStatus.DEAD and "mapping refused" in d.last_error
        for d in boom_deliveries
    )
    assert receiver.at("/a-boom") == []
    # /healthz answered within its bound while bombs held the web workers' requests.
    assert health.errors == [] and max(health.seconds) <= HEALTH_LIMIT_SECONDS, report
    # The relay sent A's mail as the operator's, A's chosen address only as Reply-To.
    assert relay.messages, report
    assert {m["From"] for m in relay.messages} == {OPERATOR_FROM}
    assert {m["Reply-To"] for m in relay.messages} == {"security@bank.example"}
    # One captured body is one event, however many delivery ids and types came with it.
    assert len(attacker.source_submissions) == 1, attacker.source_submissions
    assert Submission.objects.filter(tenant_id="t_a", source="github").count() == 1
