"""A pull worker for the FormBridge inbox (the seed's "mock worker", made safe to run many of).

    KEY=$(python manage.py apikeys create t_acme --scopes inbox --json | jq -r .key)
    FORMBRIDGE_API_KEY=$KEY python examples/worker.py --base-url http://127.0.0.1:8000

It leases a page of events (no other worker gets them for --lease seconds), processes each,
and acknowledges the page in one call. An event it fails on is not acked: it comes back after
the lease, and goes dead after the inbox destination's max_attempts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx


def process(event: dict) -> None:
    # Pretend we run some action (send a Slack message, create a CRM lead...).
    print(f"processing {event['event_id']} {event['event_type'] or '-'} {event['payload']}")


def run(base_url: str, api_key: str, *, lease: int, interval: float, once: bool) -> int:
    headers = {"Authorization": f"Bearer {api_key}"}
    handled = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while True:
            response = client.get("/v1/inbox", params={"lease": lease, "limit": 100})
            if response.status_code != 200:
                print(f"inbox: {response.status_code} {response.text}", file=sys.stderr)
                return -1
            events = response.json()["events"]
            done = []
            for event in events:
                try:
                    process(event)
                except Exception as exc:  # left unacked: it comes back after the lease
                    print(f"failed {event['event_id']}: {exc}", file=sys.stderr)
                else:
                    done.append(event["event_id"])
            if done:
                ack = client.post("/v1/ack", json={"event_ids": done})
                ack.raise_for_status()
                handled += ack.json()["acknowledged"]
            if not events and once:
                return handled
            if not events:
                time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("FORMBRIDGE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--lease", type=int, default=60, help="Seconds a page is ours alone.")
    parser.add_argument("--interval", type=float, default=2.0, help="Seconds between empty polls.")
    parser.add_argument("--once", action="store_true", help="Exit when the inbox is empty.")
    args = parser.parse_args()
    api_key = os.environ.get("FORMBRIDGE_API_KEY")
    if not api_key:
        sys.exit("Set FORMBRIDGE_API_KEY (manage.py apikeys create <tenant> --scopes inbox).")
    handled = run(args.base_url, api_key, lease=args.lease, interval=args.interval, once=args.once)
    if handled < 0:
        sys.exit(1)
    print(f"acknowledged {handled} events")


if __name__ == "__main__":
    main()
