"""The one JSON decoder for request bodies: every endpoint (the lean ingest views and DRF's, through
core.parsers) refuses what it could not store faithfully, as a 400 with a stable code, never a
500: not JSON, nested too deeply (Python's parser raises RecursionError past ~1,000 levels), NaN
or Infinity, NUL characters and lone surrogates (PostgreSQL's jsonb holds neither).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import Invalid

MAX_DEPTH = 64
NUL_REFUSED = "The body contains a NUL character (\\u0000), which cannot be stored."
SURROGATE_REFUSED = "The body contains an unpaired UTF-16 surrogate escape."


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def depth(value: Any, limit: int) -> int:
    """How deep the value nests (counting stops once past `limit`)."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def decode_json(
    body: bytes, *, max_depth: int = MAX_DEPTH, depth_code: str = "invalid_json"
) -> Any:
    """The JSON value of a body, or Invalid: `invalid_json` when it is not JSON (or nests past
    what the parser can read), `depth_code` past `max_depth`, `invalid_payload` for text no
    database column could hold."""
    if not body.strip():
        raise Invalid("The body is empty; send a JSON object.", code="invalid_json")
    try:
        value = json.loads(body, parse_float=_finite_float, parse_constant=_reject_constant)
    except RecursionError:
        raise Invalid("The JSON is nested too deeply.", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge ints, NaN
        raise Invalid(f"The body is not valid JSON: {exc}", code="invalid_json") from None
    # Only escapes (\u...) can smuggle NUL or lone surrogates past the decoder; only then look.
    if b"\\u" in body:
        if b"\\u0000" in body and has_nul(value):
            raise Invalid(NUL_REFUSED, code="invalid_payload")
        try:  # json.loads keeps a lone surrogate escape as an unencodable str
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(SURROGATE_REFUSED, code="invalid_payload") from None
    # Counting brackets is cheap; walk the tree only when it could be too deep.
    if body.count(b"{") + body.count(b"[") > max_depth and depth(value, max_depth) > max_depth:
        raise Invalid(f"The JSON is nested more than {max_depth} levels deep.", code=depth_code)
    return value
