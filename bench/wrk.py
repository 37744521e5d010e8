"""Driving wrk with bench/replay.lua: one request file format and one result shape for every
benchmark that replays prepared requests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

LUA = Path(__file__).resolve().parent / "replay.lua"
THREADS = 2


def request_line(method: str, path: str, headers: dict[str, str], body: str = "") -> str:
    """One line of a requests file (no tabs or newlines in any part)."""
    joined = "\x1f".join(f"{name}: {value}" for name, value in headers.items())
    return f"{method}\t{path}\t{joined}\t{body}\n"


def run_wrk(wrk: str, url: str, seconds: float, connections: int, requests_file: Path) -> dict:
    """wrk's figures for the run: requests, rps, p50/p90/p99/max in µs, errors_* counts."""
    result = subprocess.run(
        [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s",
         str(LUA), url],
        env={**os.environ, "BENCH_REQUESTS_FILE": str(requests_file),
             "BENCH_THREADS": str(THREADS)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats
