"""Slow clients (slowloris) against the production shape: Debian's nginx in front of gunicorn.

Gunicorn alone, with its sync workers, is held by three connections that each trickle a header
line every 2 s. Behind nginx, 200 of them leave /healthz and signed ingest answering within 1 s:
nginx holds the slow connections and passes gunicorn only whole requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from contextlib import ExitStack

import httpx
import pytest
from django.db import connection

from ingest.models import Submission
from tests.e2e.stack import stop, wait_until
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port, start_nginx, start_web
from tests.signing import signed_headers

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SLOW_CONNECTIONS = 200


class Slowloris:
    """Connections that open a request and send one more header line every `every` seconds."""

    def __init__(self, port: int, count: int, every: float = 2.0) -> None:
        self.port, self.count, self.every = port, count, every
        self.sockets: list[socket.socket] = []
        self.running = threading.Event()

    def start(self) -> Slowloris:
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n")
            self.sockets.append(sock)
        self.running.set()
        threading.Thread(target=self._trickle, daemon=True).start()
        return self

    def _trickle(self) -> None:
        n = 0
        while self.running.is_set():
            time.sleep(self.every)
            n += 1
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the server gave up on it, as it should
                    sock.sendall(f"X-Slow-{n}: {n}\r\n".encode())

    def stop(self) -> None:
        self.running.clear()
        for sock in self.sockets:
            sock.close()


def timed(call) -> tuple[float, httpx.Response | None]:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError:
        response = None
    return time.monotonic() - started, response


def signed_ingest(base: str, created, n: int) -> httpx.Response:
    body = json.dumps({"submission_id": f"slow-{n}", "payload": {"n": n}}).encode()
    headers = signed_headers(
        tenant_id=created.tenant.id,
        secret=created.signing_secret,
        body=body,
        timestamp=str(int(time.time())),
    )
    return httpx.post(
        f"{base}/v1/ingest",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=5,
    )


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run does)")
def test_slow_clients_starve_bare_gunicorn_but_not_nginx_in_front(tmp_path):
    created = tenant_with_secret("t_slow")
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER'] or 'postgres'}@127.0.0.1:5432/"
        f"{database['NAME']}",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXY_COUNT": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    web_port, nginx_port = free_port(), free_port()
    running = ExitStack()
    with running:
        web = start_web(env, web_port)
        running.callback(stop, web)
        bare = f"http://127.0.0.1:{web_port}"

        # Given gunicorn alone, three slow connections hold its two sync workers
        attackers = Slowloris(web_port, 3).start()
        time.sleep(0.5)
        bare_took, bare_answer = timed(lambda: httpx.get(f"{bare}/healthz", timeout=1.0))
        attackers.stop()
        print(
            f"\n[slow] bare gunicorn, 3 slow connections: /healthz "
            f"{'no answer' if bare_answer is None else bare_answer.status_code} "
            f"after {bare_took:.2f} s"
        )
        assert bare_answer is None, "the attack did not reproduce; the test proves nothing"

        # When nginx stands in front and 200 connections trickle their headers
        nginx = start_nginx(tmp_path, upstream_port=web_port, port=nginx_port)
        running.callback(stop, nginx)
        fronted = f"http://127.0.0.1:{nginx_port}"
        wait_until(  # the bare attack's connections are gone from gunicorn
            lambda: timed(lambda: httpx.get(f"{bare}/healthz", timeout=1))[1] is not None,
            seconds=40,
            what="gunicorn to be free again",
        )
        attackers = Slowloris(nginx_port, SLOW_CONNECTIONS).start()
        running.callback(attackers.stop)
        time.sleep(2.5)  # every slow connection has trickled at least once

        # Then /healthz and signed ingest answer within a second, every time
        health = [timed(lambda: httpx.get(f"{fronted}/healthz", timeout=5)) for _ in range(10)]
        ingest = [timed(lambda n=n: signed_ingest(fronted, created, n)) for n in range(10)]
        worst_health = max(took for took, _ in health)
        worst_ingest = max(took for took, _ in ingest)
        print(
            f"[slow] nginx + gunicorn, {SLOW_CONNECTIONS} slow connections: /healthz worst "
            f"{worst_health * 1000:.0f} ms, signed ingest worst {worst_ingest * 1000:.0f} ms"
        )
        assert all(r is not None and r.status_code == 200 for _, r in health)
        assert all(r is not None and r.status_code == 202 for _, r in ingest), [
            r and r.content for _, r in ingest
        ]
        assert worst_health < 1.0 and worst_ingest < 1.0
        assert Submission.objects.filter(tenant_id="t_slow").count() == 10
        # The client's address came through the one trusted hop
        assert set(Submission.objects.values_list("ip", flat=True)) == {"127.0.0.1"}
