"""Real processes for end-to-end tests: a Celery worker and beat on the test database, and a
local HTTP receiver whose behaviour a test changes mid-run."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
TEST_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None  # the status sent back; None: reset or cut off
    when: float = field(default_factory=time.monotonic)  # arrival, on this process's clock

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) refuses connections when a batch opens dozens at once: the
    # receiver would fail by accident, not by its script.
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up mid-answer (a timeout we test) is not the receiver's error


@dataclass
class Receiver:
    """Answers each path with the next step of its script (the last one repeats). A step is a
    status, (status, headers, body), "reset" (close the connection without an answer),
    ("slow", seconds) (wait, then answer 200) or ("trickle", seconds) (answer 200 and send a
    100-byte body one byte at a time over that long)."""

    scripts: dict[str, list] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.path, dict(self.headers), body)
                with receiver.lock:
                    receiver.requests.append(received)
                    script = receiver.scripts.get(self.path, [200])
                    step = script.pop(0) if len(script) > 1 else script[0]
                if step == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(step, tuple) and step[0] == "slow":
                    time.sleep(step[1])
                    step = 200
                if isinstance(step, tuple) and step[0] == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    with contextlib.suppress(OSError):  # the client may give up first
                        for _ in range(100):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(step[1] / 100)
                    received.answered = 200
                    return
                status, headers, reply = step if isinstance(step, tuple) else (step, {}, None)
                reply = json.dumps({"status": status}).encode() if reply is None else reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply)
                received.answered = status

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def set(self, path: str, statuses: list) -> None:
        with self.lock:
            self.scripts[path] = list(statuses)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()


def verify_standard_webhook(secret: str, received: Received) -> bool:
    """The receiver's side of Standard Webhooks, written from the spec, not from our code."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def process_env(**extra: str) -> dict[str, str]:
    """The environment for worker and beat: the test database, the test broker, loopback allowed."""
    database = connection.settings_dict
    user = database["USER"] or "postgres"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@127.0.0.1:5432/{database['NAME']}",
        "CELERY_BROKER_URL": TEST_BROKER_URL,
        "DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_celery(kind: str, env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "formbridge",
        kind,
        "--loglevel",
        "WARNING",
        *extra,
    ]
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_until(
    predicate: Callable[[], bool], *, seconds: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(
        f"timed out after {seconds} s waiting for {what() if callable(what) else what}"
    )
