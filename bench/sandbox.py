"""What evaluating tenant-written templates and mappings in sandbox processes costs, and the
margin their CPU bound leaves a cheap one (issue 27: a lead e-mail was dead-lettered by a 0.2 s
bound on a busy worker).

Prints, for a typical Slack message, e-mail body and HubSpot mapping: the CPU one evaluation
takes in the child (and the bound's multiple of it), the round trip through core.sandbox (p50,
p99) beside evaluating in-process, evaluations per second from 8 threads sharing the pool, and
per second in batches of 32 (how the sender's loop sends a claim's messages).

    make bench-sandbox
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formbridge.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from core import sandbox  # noqa: E402
from delivery import mapping, message_templates  # noqa: E402
from delivery.events import sample_event  # noqa: E402
from delivery.message_templates import Channel  # noqa: E402

EVENT = {
    **sample_event(tenant_id="t_bench"),
    "payload": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
                "company": "Acme", "message": "Please call me back about pricing. " * 8},
}  # fmt: skip
CASES = {
    "slack message": ("template", "*New lead* from {{ payload.email }}\n"
                      "{% for k, v in fields %}• {{ k }}: {{ v }}\n{% endfor %}", Channel.MRKDWN),
    "e-mail html": ("template", "<h1>{{ payload.first_name }} {{ payload.last_name }}</h1>"
                    "<table>{% for k, v in fields %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>"
                    "{% endfor %}</table>", Channel.HTML),
    "hubspot mapping": ("mapping", {"email": "payload.email", "firstname": "payload.first_name",
                                    "lastname": "payload.last_name", "company": "payload.company"},
                        None),
}  # fmt: skip
ROUNDS = 2000


def sandboxed(kind: str, source, channel):
    if kind == "template":
        return lambda: message_templates.render(source, EVENT, channel)
    return lambda: mapping.render(EVENT, source)


def in_process(kind: str, source, channel):
    if kind == "template":
        return lambda: message_templates.render_here(source, EVENT, channel.value)
    return lambda: mapping.render_here(EVENT, source)


def timings(call, rounds: int) -> list[float]:
    call()  # compiled, children started
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def child_cpu(kind: str, source, channel) -> float:
    """CPU seconds one evaluation takes in a child (as the child's own timer counts it)."""
    target = "render_here"
    module = "delivery.message_templates" if kind == "template" else "delivery.mapping"
    args = (source, EVENT, channel.value) if kind == "template" else (EVENT, source)
    pool = sandbox.pool()
    pool.call(f"{module}:{target}", *args)
    child = next(c for c in pool._idle.queue if c is not None)
    before = sandbox._cpu_of(child.process.pid)
    for _ in range(ROUNDS):
        child.exchange({"target": f"{module}:{target}", "args": list(args)}, sandbox.limits())
    return (sandbox._cpu_of(child.process.pid) - before) / ROUNDS


def batched_rate(kind: str, source, channel, size: int = 32) -> float:
    """Evaluations per second when a claim's messages go as batches (delivery/sandboxed.py)."""
    module = "delivery.message_templates" if kind == "template" else "delivery.mapping"
    args = [source, EVENT, channel.value] if kind == "template" else [EVENT, source]
    pool, batch = sandbox.pool(), [args] * size
    pool.call_many(f"{module}:render_here", batch)
    started, done = time.perf_counter(), 0
    while done < ROUNDS:
        pool.call_many(f"{module}:render_here", batch)
        done += size
    return done / (time.perf_counter() - started)


def threaded_rate(call, threads: int = 8, seconds: float = 3.0) -> float:
    done = [0] * threads
    until = time.monotonic() + seconds

    def work(slot: int) -> None:
        while time.monotonic() < until:
            call()
            done[slot] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / seconds


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.3f}"


def main() -> None:
    bound = sandbox.limits().cpu_seconds
    print(f"sandbox: {settings.SANDBOX_PROCESSES} children a process, CPU bound {bound} s, "
          f"{ROUNDS} evaluations each")  # fmt: skip
    header = f"{'case':<16} {'child CPU':>10} {'margin':>8} {'in-process':>16} {'sandboxed':>16}"
    print(header + f" {'8 threads':>10} {'batches of 32':>14}")
    print(
        f"{'':<16} {'ms':>10} {'x':>8} {'p50 / p99 ms':>16} {'p50 / p99 ms':>16} {'per s':>10} "
        f"{'per s':>14}"
    )
    for name, (kind, source, channel) in CASES.items():
        cpu = child_cpu(kind, source, channel)
        local = timings(in_process(kind, source, channel), ROUNDS)
        remote = timings(sandboxed(kind, source, channel), ROUNDS)
        rate = threaded_rate(sandboxed(kind, source, channel))
        batched = batched_rate(kind, source, channel)
        print(
            f"{name:<16} {cpu * 1000:>10.3f} {bound / cpu if cpu else float('inf'):>8.0f} "
            f"{ms(local, 0.5) + ' / ' + ms(local, 0.99):>16} "
            f"{ms(remote, 0.5) + ' / ' + ms(remote, 0.99):>16} {rate:>10.0f} {batched:>14.0f}"
        )
    print(f"(median of the sandboxed round trip: {statistics.median(remote) * 1e6:.0f} us)")
    sandbox.shutdown()


if __name__ == "__main__":
    main()
