"""The walls: nothing but delivery/lifecycle.py changes a Delivery's status, lease or next attempt,
and nothing but delivery/health.py changes a Destination's health (failures, circuit, enabled).

Scanned from the source (ORM update() and bulk_update() calls, attribute assignments, model
constructors and SQL text), so a new module that writes them directly fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("core", "formbridge", "tenants", "ingest", "delivery", "reporting", "sources", "webforms")
OWNER = ROOT / "delivery" / "lifecycle.py"
STATE_FIELDS = {"status", "lease_until", "lease_token", "next_attempt_at"}
HEALTH_OWNER = ROOT / "delivery" / "health.py"
HEALTH_FIELDS = {
    "consecutive_failures", "failing_since", "circuit_open_until", "disabled_reason",
    "disabled_at", "enabled",
}  # fmt: skip
# `enabled` is also a source's and a form's: those apps' own services write theirs.
HEALTH_APPS = ("core", "formbridge", "tenants", "ingest", "delivery", "reporting")


def sources(owner: Path = OWNER, apps=APPS):
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and path != owner:
                yield path


def _chain_root(node: ast.AST) -> str | None:
    """The name a call chain starts from: `Submission` in Submission.objects.filter().update()."""
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _other_model(node: ast.Call, model: str) -> bool:
    """An update() through another model's manager (Submission.objects...), which has a status
    of its own; a queryset in a variable is not known, so it counts."""
    root = _chain_root(node.func)
    return bool(root) and root[0].isupper() and root != model


def writes(
    path: Path,
    root: Path = ROOT,
    *,
    fields=STATE_FIELDS,
    model="Delivery",
    table="delivery_delivery",
) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            keywords = {k.arg for k in node.keywords if k.arg}
            if (
                name in ("update", "bulk_update", "create", model)
                and keywords & fields
                and not (name != model and _other_model(node, model))
            ):
                found.append(f"{where}: {name}({', '.join(sorted(keywords & fields))}=...)")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in fields
                    and not (isinstance(target.value, ast.Name) and target.value.id == "self")
                ):
                    found.append(f"{where}: assigns .{target.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "update" in text and table in text:
                found.append(f"{where}: SQL updating {table}")
    return found


def test_only_the_lifecycle_module_writes_delivery_state():
    offenders = [line for path in sources() for line in writes(path)]

    assert not offenders, "write these through delivery.lifecycle:\n" + "\n".join(offenders)


def health_writes(path: Path, root: Path = ROOT) -> list[str]:
    return writes(
        path, root, fields=HEALTH_FIELDS, model="Destination", table="delivery_destination"
    )


def test_only_the_health_module_writes_destination_health():
    offenders = [
        line for path in sources(HEALTH_OWNER, HEALTH_APPS) for line in health_writes(path)
    ]

    assert not offenders, "write these through delivery.health:\n" + "\n".join(offenders)


def found_in(tmp_path: Path, code: str, scan) -> list[str]:
    """What a scan reports in a file of this code, without the file's place."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(code)
    return sorted(line.split(": ", 1)[1] for line in scan(sneaky, root=tmp_path))


def test_the_health_scan_finds_a_write_it_should(tmp_path):
    code = (
        "def f(d, tenant):\n"
        "    d.consecutive_failures += 1\n"
        "    d.enabled = False\n"
        "    Destination.objects.filter(id=1).update(circuit_open_until=None)\n"
        "    Destination.objects.create(tenant=tenant, name='m', disabled_reason='x')\n"
        "    Form.objects.filter(id=1).update(enabled=False)\n"
        "    return 'UPDATE delivery_destination SET enabled = false'\n"
    )

    assert found_in(tmp_path, code, health_writes) == [
        "SQL updating delivery_destination",
        "assigns .consecutive_failures",
        "assigns .enabled",
        "create(disabled_reason=...)",
        "update(circuit_open_until=...)",
    ]


def test_the_scan_finds_a_write_it_should(tmp_path):
    code = (
        "def f(qs, d):\n"
        "    qs.update(status='dead')\n"
        "    Delivery.objects.filter(id=1).update(status='dead')\n"
        "    Submission.objects.filter(id=1).update(status='spam')\n"
        "    d.next_attempt_at = None\n"
        "    return 'UPDATE delivery_delivery SET status = 1'\n"
    )

    assert found_in(tmp_path, code, writes) == [
        "SQL updating delivery_delivery",
        "assigns .next_attempt_at",
        "update(status=...)",
        "update(status=...)",
    ]


HTTP_OWNER = ROOT / "delivery" / "connectors" / "http.py"


def http_clients(path: Path, root: Path = ROOT) -> list[str]:
    """Imports of an HTTP client library: outbound requests go through connectors/http.py."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in ("aiohttp", "requests", "urllib3") or name == "http.client":
                found.append(f"{path.relative_to(root)}:{node.lineno}: imports {name}")
    return found


def test_every_connector_sends_through_the_one_http_path(tmp_path):
    """One place re-checks the SSRF guard, pins the address, refuses redirects and bounds reads:
    a connector with a client of its own would skip all four."""
    offenders = [
        line
        for path in sorted((ROOT / "delivery").rglob("*.py"))
        if path != HTTP_OWNER and "migrations" not in path.parts
        for line in http_clients(path)
    ]

    assert not offenders, "send through delivery.connectors.http:\n" + "\n".join(offenders)
    assert found_in(tmp_path, "import aiohttp\nfrom requests import get\n", http_clients) == [
        "imports aiohttp", "imports requests",
    ]  # fmt: skip


def test_a_missing_object_is_raised_one_way():
    """core.errors.NotFound (404 not_found, as every domain error is answered); never an
    ApiError built by hand with the status and code spelled again."""
    spelled = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources(owner=ROOT / "core" / "http_errors.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "ApiError(404" in line.replace(" ", "")
    ]

    assert spelled == []
