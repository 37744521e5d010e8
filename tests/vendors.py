"""Local stand-ins for vendor clouds, at the HTTP boundary: Slack, HubSpot and Salesforce as their
API references document the requests and answers (status codes, error bodies, rate-limit
headers, token endpoints), and a fault-injecting proxy in front of moto's AWS server.

Each server records what it received; `fail_next()` queues scripted answers (a 429 with its
headers, a 503) that come before the vendor's own behaviour.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


Answer = tuple[int, dict[str, str], bytes]


def json_answer(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


@dataclass
class VendorServer:
    calls: list[Call] = field(default_factory=list)
    faults: list[tuple[str, Answer]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> VendorServer:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = Call(self.command, self.path, dict(self.headers), body)
                with vendor.lock:
                    vendor.calls.append(call)
                    fault = vendor.take_fault(urlsplit(call.path).path)
                status, headers, reply = fault or vendor.answer(call)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, *answers: Answer, path: str = "/") -> None:
        """Answer the next requests under `path` with these, before the vendor's own answer."""
        with self.lock:
            self.faults.extend((path, answer) for answer in answers)

    def take_fault(self, path: str) -> Answer | None:
        for index, (prefix, answer) in enumerate(self.faults):
            if path.startswith(prefix):
                del self.faults[index]
                return answer
        return None

    def at(self, path_prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if urlsplit(c.path).path.startswith(path_prefix)]

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, call: Call) -> Answer:
        raise NotImplementedError


def _bearer(call: Call) -> str:
    value = {k.lower(): v for k, v in call.headers.items()}.get("authorization", "")
    return value.removeprefix("Bearer ")


class Slack(VendorServer):
    """Incoming webhooks (/services/T/B/secret) and the Web API's chat.postMessage."""

    def __init__(self, *, token: str, channels: tuple[str, ...] = ("C0SALES",)) -> None:
        super().__init__()
        self.token = token
        self.channels = set(channels)
        self.hooks: set[str] = set()
        self.ts = itertools.count(1)

    def webhook(self, team: str = "T0000001", bot: str = "B0000001") -> str:
        path = f"/services/{team}/{bot}/{'x' * 8}{next(self.ts):016d}"
        self.hooks.add(path)
        return self.base + path

    def answer(self, call: Call) -> Answer:
        path = urlsplit(call.path).path
        if path.startswith("/services/"):
            if path not in self.hooks:
                return 404, {"Content-Type": "text/html"}, b"no_service"
            if not isinstance(call.json(), dict) or not call.json().get("text"):
                return 400, {"Content-Type": "text/html"}, b"invalid_payload"
            return 200, {"Content-Type": "text/html"}, b"ok"
        if path == "/api/chat.postMessage":
            if _bearer(call) != self.token:
                return json_answer(200, {"ok": False, "error": "invalid_auth"})
            message = call.json()
            if message.get("channel") not in self.channels:
                return json_answer(200, {"ok": False, "error": "channel_not_found"})
            return json_answer(
                200, {"ok": True, "channel": message["channel"], "ts": f"{next(self.ts)}.000100"}
            )
        return json_answer(404, {"ok": False, "error": "unknown_method"})


class HubSpot(VendorServer):
    """CRM v3 contacts (batch upsert by e-mail, update by e-mail) and the secure Forms API."""

    PROPERTIES = frozenset({"email", "firstname", "lastname", "company", "phone", "message"})

    def __init__(self, *, token: str) -> None:
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(501)
        self.form_submissions: list[dict[str, Any]] = []

    def _unknown_property(self, properties: dict[str, Any]) -> Answer | None:
        unknown = sorted(set(properties) - self.PROPERTIES)
        if not unknown:
            return None
        return json_answer(
            400,
            {
                "status": "error",
                "message": f'Property values were not valid: [{{"name":"{unknown[0]}",'
                '"error":"PROPERTY_DOESNT_EXIST"}]',
                "category": "VALIDATION_ERROR",
                "correlationId": "3d0e5a07",
            },
        )

    def _store(self, email: str, properties: dict[str, Any]) -> dict[str, Any]:
        contact = self.contacts.setdefault(email, {"id": str(next(self.ids)), "properties": {}})
        contact["properties"].update(properties)
        return {"id": contact["id"], "properties": contact["properties"]}

    def answer(self, call: Call) -> Answer:
        if _bearer(call) != self.token:
            return json_answer(
                401,
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        parts = urlsplit(call.path)
        if call.method == "POST" and parts.path == "/crm/v3/objects/contacts/batch/upsert":
            results = []
            for item in call.json()["inputs"]:
                refused = self._unknown_property(item["properties"])
                if refused:
                    return refused
                new = item["id"] not in self.contacts
                results.append({**self._store(item["id"], item["properties"]), "new": new})
            return json_answer(200, {"status": "COMPLETE", "results": results})
        match = re.fullmatch(r"/crm/v3/objects/contacts/([^/]+)", parts.path)
        if call.method == "PATCH" and match and "idProperty=email" in parts.query:
            email = unquote(match.group(1))
            if email not in self.contacts:
                return json_answer(404, {"status": "error", "message": "resource not found"})
            return json_answer(200, self._store(email, call.json()["properties"]))
        if call.method == "POST" and parts.path.startswith(
            "/submissions/v3/integration/secure/submit/"
        ):
            fields = call.json().get("fields", [])
            email = next((f["value"] for f in fields if f["name"] == "email"), "")
            if "@" not in email:
                return json_answer(
                    400,
                    {
                        "status": "error",
                        "message": "The request is not valid",
                        "errors": [{"message": "Email is invalid", "errorType": "INVALID_EMAIL"}],
                    },
                )
            self.form_submissions.append(call.json())
            return json_answer(200, {"inlineMessage": "Thanks for submitting the form."})
        return json_answer(404, {"status": "error", "message": "not found"})


class Salesforce(VendorServer):
    """OAuth 2.0 client credentials and the sObjects upsert by external id (Lead needs LastName
    and Company, as in a new org)."""

    REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens: set[str] = set()
        self.counter = itertools.count(1)
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def answer(self, call: Call) -> Answer:
        parts = urlsplit(call.path)
        if parts.path == "/services/oauth2/token":
            form = call.form
            if form.get("grant_type") != "client_credentials":
                return json_answer(400, {"error": "unsupported_grant_type"})
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return json_answer(
                    400,
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                )
            token = f"00D000000000001!AQ{next(self.counter):06d}"
            self.tokens.add(token)
            return json_answer(
                200,
                {
                    "access_token": token,
                    "instance_url": self.base,
                    "id": f"{self.base}/id/00D000000000001/005000000000001",
                    "token_type": "Bearer",
                    "issued_at": "1767225600000",
                    "signature": "c2lnbmF0dXJl",
                },
            )
        if _bearer(call) not in self.tokens:
            return json_answer(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        match = re.fullmatch(r"/services/data/v[\d.]+/sobjects/(\w+)/(\w+)/([^/]+)", parts.path)
        if call.method != "PATCH" or not match:
            return json_answer(404, [{"message": "not found", "errorCode": "NOT_FOUND"}])
        sobject, _field, value = match.group(1), match.group(2), unquote(match.group(3))
        record = call.json()
        key = (sobject, value)
        existing = self.records.get(key)
        merged = {**(existing or {}), **record}
        missing = [f for f in self.REQUIRED.get(sobject, ()) if not merged.get(f)]
        if missing:
            return json_answer(
                400,
                [
                    {
                        "message": f"Required fields are missing: [{', '.join(missing)}]",
                        "errorCode": "REQUIRED_FIELD_MISSING",
                        "fields": missing,
                    }
                ],
            )
        merged.setdefault("Id", f"00Q{next(self.counter):015d}")
        self.records[key] = merged
        created = existing is None
        return json_answer(
            201 if created else 200,
            {"id": merged["Id"], "success": True, "errors": [], "created": created},
        )


class FaultProxy(VendorServer):
    """Forwards every request to `target` (moto's server) unless a scripted fault comes first:
    AWS's own throttling and error answers, over real HTTP."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)
        self.held_back: list[int] = []
        self.throttled_batches = 0

    def hold_back_next_batch(self, count: int) -> None:
        """The next BatchWriteItem writes all but its first `count` requests, and answers them
        as UnprocessedItems, as DynamoDB does when a partition is over its capacity."""
        with self.lock:
            self.held_back.append(count)

    def throttle_next_batch(self) -> None:
        """The next BatchWriteItem is refused whole: ProvisionedThroughputExceededException."""
        with self.lock:
            self.throttled_batches += 1

    def answer(self, call: Call) -> Answer:
        if urlsplit(call.path).path == "/__fault":
            # A client under test in another process (PHP) scripts the next answer itself.
            script = call.json()
            answer = json_answer(script["status"], script.get("body", {}), script.get("headers"))
            with self.lock:
                self.faults.append((script.get("path", "/"), answer))
            return 204, {}, b""
        target = {k.lower(): v for k, v in call.headers.items()}.get("x-amz-target", "")
        if target.endswith(".BatchWriteItem"):
            with self.lock:
                held = self.held_back.pop(0) if self.held_back else None
                throttled = held is None and self.throttled_batches > 0
                self.throttled_batches -= throttled
            if held is not None:
                return self._partial_batch(call, held)
            if throttled:
                return aws_json_error(400, "ProvisionedThroughputExceededException", "capacity")
        return self._forward(call)

    def _partial_batch(self, call: Call, count: int) -> Answer:
        request = call.json()
        [(table, writes)] = request["RequestItems"].items()
        kept, unprocessed = writes[count:], writes[:count]
        body = json.dumps({"RequestItems": {table: kept}}).encode() if kept else b""
        if kept:
            self._forward(Call(call.method, call.path, call.headers, body))
        return json_answer(
            200, {"UnprocessedItems": {table: unprocessed}},
            {"Content-Type": "application/x-amz-json-1.0"},
        )  # fmt: skip

    def _forward(self, call: Call) -> Answer:
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        headers = {
            k: v for k, v in call.headers.items() if k.lower() not in ("host", "content-length")
        }
        connection.request(call.method, call.path, body=call.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read()
        skip = {"content-length", "transfer-encoding", "connection", "server", "date"}
        kept = {k: v for k, v in response.getheaders() if k.lower() not in skip}
        connection.close()
        return response.status, kept, body


def aws_json_error(status: int, code: str, message: str = "") -> Answer:
    """An error as AWS's JSON protocols (DynamoDB, EventBridge, SQS) answer it."""
    return json_answer(
        status,
        {"__type": f"com.amazonaws#{code}", "message": message or code},
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code},
    )


def s3_error(status: int, code: str, message: str = "") -> Answer:
    body = f"<Error><Code>{code}</Code><Message>{message or code}</Message></Error>"
    return status, {"Content-Type": "application/xml"}, body.encode()
