"""FormBridge as a WordPress site reaches it: up (each request forwarded to the live server), down
(nothing listens on its port) or hung (it accepts the connection and never answers). Every request
that arrives is kept, so a test can count what the plugin sent."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.faults.stack import free_port


@dataclass
class Arrival:
    path: str
    body: bytes
    answered: int | None = None


class FormBridgeGate:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self.mode = "up"
        self.arrivals: list[Arrival] = []
        self.holding = 0  # requests a hung FormBridge holds right now
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FormBridgeGate:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrival = Arrival(self.path, body)
                with gate.lock:
                    gate.arrivals.append(arrival)
                    hung = gate.mode == "hung"
                    gate.holding += hung
                if hung:
                    gate.hold()
                    self.close_connection = True
                    return
                skip = ("host", "content-length")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                answer = httpx.post(
                    gate.target + self.path, content=body, headers=headers, timeout=30
                )
                arrival.answered = answer.status_code
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Retry-After"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def hold(self) -> None:
        """Answers nothing until released."""
        try:
            self.release.wait(120)
        finally:
            with self.lock:
                self.holding -= 1

    def up(self) -> None:
        self.release.set()
        self.mode = "up"
        if self.server is None:
            self.start()

    def down(self) -> None:
        """Nothing listens: a connection is refused."""
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def hang(self) -> None:
        if self.server is None:
            self.start()
        self.release.clear()
        self.mode = "hung"

    def stop(self) -> None:
        self.down()

    def arrived(self, text: str) -> list[Arrival]:
        """The requests whose body holds `text`."""
        with self.lock:
            return [a for a in self.arrivals if text.encode() in a.body]

    def ingested(self) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path.startswith("/v1/ingest")]
