"""Settings are read once, at start-up: to see what an environment makes of them, start a fresh
interpreter with that environment and ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settings_under(environment: dict[str, str], *names: str) -> dict:
    """The named settings (JSON-able) as a process started with `environment` sees them."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "formbridge.settings", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(shown.stdout.strip().splitlines()[-1])
