"""Processes of the fault suites: a Redis of their own, gunicorn on the test database, and a
supervisor that restarts what exits, as Docker's restart policy or ECS would."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.stack import ROOT, stop, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server for this suite alone, killed and restarted at will (nothing persisted)."""

    def __init__(self, tmp) -> None:
        self.port, self.dir, self.process = free_port(), tmp, None

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._up, seconds=10, what="redis-server to listen")
        return self

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        stop(self.process, signal.SIGKILL)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def start_web(env: dict, port: int, log: Path | None = None) -> subprocess.Popen:
    """gunicorn on loopback; its output to `log` (appended) or nowhere."""
    with log.open("ab") if log else open(os.devnull, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "formbridge.wsgi:application",
                "--config",
                "deploy/gunicorn.conf.py",
            ],
            cwd=ROOT,
            env={**env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )

    def serving() -> bool:
        if process.poll() is not None:
            return True  # exited: the assertion below says so
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(serving, seconds=30, what="gunicorn")
        assert process.poll() is None, "gunicorn exited"
    except AssertionError:
        stop(process)  # not left behind by a failed start
        raise
    return process


class Supervised:
    """A process kept running, as Docker's `restart: unless-stopped` or ECS would: one that
    exits on its own is started again (and counted)."""

    def __init__(self, start) -> None:
        self.start, self.lock, self.unplanned_restarts = start, threading.Lock(), 0
        self.process = start()
        self.watching = threading.Event()
        self.watching.set()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while self.watching.is_set():
            with self.lock:
                if self.process.poll() is not None and self.watching.is_set():
                    self.unplanned_restarts += 1
                    self.process = self.start()
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL (a crash we inject) and start again."""
        with self.lock:
            stop(self.process, signal.SIGKILL)
            self.process = self.start()

    def stop(self) -> None:
        self.watching.clear()
        with self.lock:
            stop(self.process)


NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "formbridge.conf.template"


def render_nginx(tmp: Path, *, upstream_port: int, port: int) -> Path:
    """The template the compose nginx renders, wrapped in a main config a test can run."""
    server = NGINX_TEMPLATE.read_text()
    for name, value in {
        "FORMBRIDGE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "NGINX_PORT": f"127.0.0.1:{port}",
        "NGINX_MAX_BODY": "12m",
    }.items():
        server = server.replace("${" + name + "}", value)
    (tmp / "formbridge.conf").write_text(server)
    config = tmp / "nginx.conf"
    config.write_text(
        f"""daemon off;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/formbridge.conf;
}}
"""
    )
    return config


def start_nginx(tmp: Path, *, upstream_port: int, port: int) -> subprocess.Popen:
    """Debian's nginx with the compose template, in front of gunicorn at `upstream_port`."""
    config = render_nginx(tmp, upstream_port=upstream_port, port=port)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / folder).mkdir(exist_ok=True)
    process = subprocess.Popen(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(config), "-p", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def serving() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    try:
        wait_until(serving, seconds=15, what=lambda: (tmp / "error.log").read_text())
        assert process.poll() is None, (tmp / "error.log").read_text()
    except AssertionError:
        stop(process)
        raise
    return process
