"""make bench-schema: the JSON Schema check on the ingest path, jsonschema-rs (what FormBridge
uses) against the pure-Python jsonschema library, on a contact form's payload and schema.

Both validate Draft 2020-12 with formats on; the figure is microseconds per check (median of
rounds that alternate the two), for a valid payload and for one with three errors listed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

SCHEMA = {
    "type": "object",
    "required": ["name", "email", "message"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "phone": {"type": "string", "pattern": "^[+0-9 ()-]{6,20}$"},
        "message": {"type": "string", "maxLength": 5000},
        "consent": {"enum": ["yes", "no"]},
        "topics": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
    },
}
VALID = {
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "phone": "+1 555 0100",
    "message": "Hello! I would like a quote for the spring campaign, please. " * 4,
    "consent": "yes",
    "topics": ["pricing", "support"],
}
INVALID = {**VALID, "email": "not-an-address", "consent": "maybe", "name": ""}


def per_check_us(check, document, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        check(document)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formbridge.settings")
    django.setup()
    from ingest import schemas

    ours = schemas._compile(schemas.clean_schema(SCHEMA))
    library = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    checks = {
        "jsonschema-rs (FormBridge)": lambda d: (
            schemas.violations(ours, d) if not ours.is_valid(d) else []
        ),
        "jsonschema (pure Python)": lambda d: list(library.iter_errors(d)),
    }
    assert checks["jsonschema-rs (FormBridge)"](VALID) == []
    assert len(checks["jsonschema-rs (FormBridge)"](INVALID)) == 3
    assert len(checks["jsonschema (pure Python)"](INVALID)) == 3
    results = {(name, kind): [] for name in checks for kind in ("valid", "3 errors")}
    for _ in range(5):
        for name, check in checks.items():
            results[(name, "valid")].append(per_check_us(check, VALID, 3000))
            results[(name, "3 errors")].append(per_check_us(check, INVALID, 1000))
    print("schema check per payload, µs (median of 5 alternating rounds)")
    print(f"  {'':<28}{'valid':>10}{'3 errors':>10}")
    for name in checks:
        valid = statistics.median(results[(name, "valid")])
        errors = statistics.median(results[(name, "3 errors")])
        print(f"  {name:<28}{valid:>10.1f}{errors:>10.1f}")
    fast = statistics.median(results[("jsonschema-rs (FormBridge)", "valid")])
    slow = statistics.median(results[("jsonschema (pure Python)", "valid")])
    print(f"  jsonschema-rs is {slow / fast:.0f}x faster on a valid payload")


if __name__ == "__main__":
    main()
