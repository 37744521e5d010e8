"""Operators' grants (core.secret_refs, delivery's AWS targets) are patterns: literal text where
`*` stands for any run of characters, nothing else special."""

from __future__ import annotations

import functools
import re

ANY = "*"


@functools.lru_cache(maxsize=1024)
def wildcard(pattern: str) -> re.Pattern[str]:
    """The pattern compiled (once: a snapshot checks its tenant's grants on every claim)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split(ANY)))
