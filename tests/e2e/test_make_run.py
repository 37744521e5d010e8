"""`make run` on the embedded default (SQLite, no services): the printed curl gets a 202 and the
demo receiver visibly gets the submission, signed."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited early with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up in {seconds} s")


def wait_for_log(log: Path, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in the make run output:\n{log.read_text()[-3000:]}")


def wait_for_row(database, sql: str, params: tuple, until, seconds: float = 15) -> list:
    deadline = time.monotonic() + seconds
    while True:
        rows = database.execute(sql, params).fetchall()
        if until(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def assert_port_closes(port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return
        time.sleep(0.2)
    raise AssertionError(f"something still listens on {port} after make run stopped")


def test_make_run_serves_and_the_printed_curl_is_accepted(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    receiver_port = free_port()
    env.update(
        PORT=str(port),
        DEMO_RECEIVER_PORT=str(receiver_port),
        FORMBRIDGE_VAR_DIR=str(tmp_path / "var"),
    )
    log = tmp_path / "make-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        printed = log.read_text()
        snippet = printed[printed.index("SECRET=") :].split("\n\n")[0]
        assert f"http://127.0.0.1:{port}/v1/ingest" in snippet

        result = subprocess.run(
            ["bash", "-c", snippet], capture_output=True, text=True, timeout=30, check=True
        )

        receipt = json.loads(result.stdout)
        assert receipt["status"] == "accepted", receipt
        database = sqlite3.connect(tmp_path / "var" / "formbridge.sqlite3")
        rows = database.execute(
            "SELECT tenant_id, form_id, payload FROM ingest_submission WHERE submission_id = ?",
            (receipt["submission_id"],),
        ).fetchall()
        assert len(rows) == 1
        assert rows[0][:2] == ("t_demo", "contact_us")
        assert json.loads(rows[0][2])["email"] == "jane@example.com"
        assert receipt["deliveries"] == 2  # the demo receiver and the tenant's inbox

        # The worker delivers it to the demo receiver, which checks the signature and prints it.
        wait_for_log(log, f"received submission {receipt['submission_id']} (signature verified)")
        # The receiver prints before its 2xx reaches the worker, so the row settles a moment later.
        status = wait_for_row(
            database,
            "SELECT d.status, d.attempts FROM delivery_delivery d JOIN ingest_submission s "
            "ON s.id = d.submission_id JOIN delivery_destination t ON t.id = d.destination_id "
            "WHERE s.submission_id = ? AND t.kind = 'rest'",
            (receipt["submission_id"],),
            until=lambda rows: rows and rows[0][0] != "in_flight",
        )
        assert status == [("succeeded", 1)]

        # The printed API curls work: the submission reads back and waits in the inbox.
        api = printed[printed.index("KEY=") :].split("\n\n")[0]
        listing = subprocess.run(
            ["bash", "-c", api.splitlines()[0] + "\n" + api.splitlines()[1]],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        items = json.loads(listing.stdout)["items"]
        assert [i["submission_id"] for i in items] == [receipt["submission_id"]]
        inbox = subprocess.run(
            ["bash", "-c", api.splitlines()[0] + "\n" + api.splitlines()[2]],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        events = json.loads(inbox.stdout)["events"]
        assert [e["event_id"] for e in events] == [receipt["submission_id"]]
        assert events[0]["payload"]["email"] == "jane@example.com"

        # Ctrl-C stops everything make run started: nothing keeps serving in the background.
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        assert_port_closes(port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
