"""Tenant-written templates and mappings cannot exhaust CPU or memory: they compile and evaluate
in core.sandbox's child processes (hard CPU-time and memory limits, a wall bound that kills),
with Jinja's arithmetic bounded before it runs (it used to fold `10**(10**7)` when compiling).
The review's bombs, on save through the API and at send through the real engine."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from core import crypto, sandbox
from delivery import dispatcher, mapping, message_templates, ordering
from delivery.message_templates import Channel
from delivery.models import Delivery, DeliveryStatus, Destination
from tests.conftest import assert_error
from tests.delivery.connectors.conftest import attempts_of
from tests.vendors import Slack

pytestmark = pytest.mark.django_db

BOMBS = {
    "folded power": "{{ (10**(10**7)) > 1 }}",
    "repetition": '{{ ("a"*(2*10**8))|length }}',
    "list repetition": "{{ [1]*(10**8) }}",
    "wide center": '{{ "a"|center(999999999) }}',
    "wide format": '{{ "%0999999999d"|format(1) }}',
    "printf operator": '{{ "%.999999999f" % 1.5 }}',
    "ljust": '{{ "ab".ljust(999999999) }}',
    "nested loops": (
        "{% for i in range(1000) %}{% for j in range(1000) %}"
        "{% if (i ~ j)|upper|reverse|length > 99 %}x{% endif %}{% endfor %}{% endfor %}"
    ),
}


@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
def test_a_template_bomb_is_refused_on_save_quickly_and_off_this_thread(acme, api, template):
    cpu, wall = time.thread_time(), time.monotonic()

    response = api(acme).post(
        "/v1/destinations",
        {"name": "bomb", "kind": "slack", "auth_secret": "xoxb-1-2-abc",
         "config": {"channel": "C0SALES", "template": template}},
    )  # fmt: skip

    body = assert_error(response, 400, "invalid_destination")
    assert "config.template" in body["error"]["fields"]
    assert time.monotonic() - wall < 3.0
    # The evaluation's CPU was a child's, not the web thread's.
    assert time.thread_time() - cpu < 0.2
    assert not Destination.objects.filter(name="bomb").exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bombs_leave_another_request_served(acme, api, client):
    """The review's stall: two bombs at once held both web workers for 24 s. Here the
    callers only wait on children; a third request is answered meanwhile."""
    answers: list[int] = []

    def bomb() -> None:
        answers.append(
            api(acme).post("/v1/destinations", {
                "name": "bomb", "kind": "slack", "auth_secret": "xoxb-1-2-abc",
                "config": {"channel": "C0SALES", "template": BOMBS["folded power"]},
            }).status_code
        )  # fmt: skip

    threads = [threading.Thread(target=bomb) for _ in range(2)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    health = client.get("/healthz")
    health_seconds = time.monotonic() - started
    for thread in threads:
        thread.join(timeout=10)

    assert answers == [400, 400]
    assert health.status_code == 200
    assert health_seconds < 1.0


@pytest.fixture
def slack(settings):
    stub = Slack(token="xoxb-1-2-abc").start()
    settings.SLACK_API_BASE = stub.base
    yield stub
    stub.stop()


def test_a_bomb_stored_before_the_checks_is_a_permanent_failure_and_others_deliver(
    acme, globex, signed, slack
):
    """A template saved before the sandbox (written straight to the table) is refused at send,
    with its reason, while another tenant's message in the same drain goes out."""
    for created, name in ((acme, "bombed"), (globex, "fine")):
        Destination.objects.create(
            tenant=created.tenant, name=name, kind="slack", retry_schedule=[0],
            config={"channel": "C0SALES", "template": "New lead {{ payload.n }}"},
            auth_secret_encrypted=crypto.encrypt("xoxb-1-2-abc"),
        )  # fmt: skip
    Destination.objects.filter(name="bombed").update(
        config={"channel": "C0SALES", "template": BOMBS["folded power"]}
    )
    signed.submit(acme)
    signed.submit(globex)
    cpu = time.thread_time()

    dispatcher.drain(time_budget_seconds=20)

    bombed = Delivery.objects.get(destination__name="bombed")
    assert bombed.status == DeliveryStatus.DEAD
    assert "a power over 4096 bits is not allowed" in attempts_of(bombed)[0].error
    assert Delivery.objects.get(destination__name="fine").status == DeliveryStatus.SUCCEEDED
    assert [c.json()["text"] for c in slack.at("/api/chat.postMessage")] == ["New lead 0"]
    assert time.thread_time() - cpu < 1.0  # the drain's own thread did not render the bomb


def test_a_render_stopped_on_a_starved_machine_is_retried_not_dead(acme, signed, slack, settings):
    """A wall trip with the child's CPU under its bound is the machine's load, not the
    template's: retryable (the review's lead e-mail was dead-lettered for this)."""
    Destination.objects.create(
        tenant=acme.tenant, name="chat", kind="slack", retry_schedule=[60],
        config={"channel": "C0SALES", "template": "New lead {{ payload.n }}"},
        auth_secret_encrypted=crypto.encrypt("xoxb-1-2-abc"),
    )  # fmt: skip
    # A starved machine, made exact: every child is stopped (SIGSTOP), so it cannot run at all
    # and its CPU stays under the bound while the wall bound passes.
    pool = sandbox.pool()
    slots = [pool._idle.get() for _ in range(settings.SANDBOX_PROCESSES)]
    for child in slots:
        child = child if child is not None else sandbox._Child(pool.preload, sandbox.limits())
        os.kill(child.process.pid, signal.SIGSTOP)
        pool._idle.put(child)
    settings.SANDBOX_WALL_SECONDS = 0.3
    signed.submit(acme)

    dispatcher.drain(time_budget_seconds=5)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert "busy machine" in attempts_of(delivery)[0].error
    assert slack.at("/api/chat.postMessage") == []


# --- the pool itself ---


def test_a_cpu_bound_evaluation_is_stopped_at_its_cpu_bound(settings):
    settings.SANDBOX_CPU_SECONDS = 0.1
    with pytest.raises(sandbox.SandboxFailed) as stopped:
        sandbox.call("tests.sandbox_targets:spin", 5.0)
    assert (stopped.value.reason, stopped.value.transient) == ("cpu", False)
    assert sandbox.call("tests.sandbox_targets:echo", "still here") == "still here"


def test_an_allocation_past_the_memory_cap_is_refused_and_the_child_replaced(settings):
    with pytest.raises(sandbox.SandboxFailed) as refused:
        sandbox.call("tests.sandbox_targets:allocate", 2048)
    assert refused.value.reason == "memory"
    assert sandbox.call("tests.sandbox_targets:allocate", 16) == 16 * 1024 * 1024


def test_one_step_in_c_past_every_bound_is_killed_and_permanent(settings):
    settings.SANDBOX_WALL_SECONDS = 0.5
    settings.SANDBOX_CPU_SECONDS = 0.05  # it burns well past this within the wall bound
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxFailed) as killed:
        sandbox.call("tests.sandbox_targets:uninterruptible_spin", 10.0)
    assert time.monotonic() - started < 2.0
    assert (killed.value.reason, killed.value.transient) == ("wall", False)
    assert sandbox.call("tests.sandbox_targets:echo", 2) == 2  # a new child took its place


def test_a_starved_child_is_a_transient_trip(settings):
    settings.SANDBOX_WALL_SECONDS = 0.2
    with pytest.raises(sandbox.SandboxFailed) as slept:
        sandbox.call("tests.sandbox_targets:sleep", 2.0)
    assert (slept.value.reason, slept.value.transient) == ("wall", True)


def test_a_new_child_loads_the_settings_before_its_first_request(settings):
    """Loading them (the project's package, Celery's app) costs over 0.1 s of CPU: charged to a
    tenant's first mapping, a busy machine refused `{"email": "payload.email"}` as too slow."""
    fresh = sandbox.Pool(1, tuple(settings.SANDBOX_PRELOAD))
    assert fresh.call("tests.sandbox_targets:settings_loaded") is True


def test_a_cheap_template_has_a_wide_margin_under_the_bound():
    """The bound's margin, measured: a lead message's render uses a small fraction of it."""
    event = {"payload": {"email": "jane@example.com", "note": "hello " * 50}, "form_id": "c"}
    template = (
        "New lead {{ payload.email }}\n{% for k, v in fields %}{{ k }}: {{ v }}\n{% endfor %}"
    )
    message_templates.render(template, event, Channel.MRKDWN)  # compiled in a child
    started = time.process_time()
    for _ in range(200):
        message_templates.render_here(template, event, "mrkdwn")
    per_render = (time.process_time() - started) / 200
    assert per_render * 50 < sandbox.limits().cpu_seconds, per_render


# --- mappings and ordering keys ---


def test_a_join_that_would_outgrow_memory_is_refused_before_it_runs():
    event = {"payload": {"sep": "x" * 500_000, "items": [""] * 100_000}}
    with pytest.raises(mapping.MappingLimitExceeded, match="join"):
        mapping.render_here(event, "join(payload.sep, payload.items)")
    with pytest.raises(mapping.MappingLimitExceeded):
        mapping.render(event, "join(payload.sep, payload.items)")


def test_an_ordering_key_bomb_costs_the_ingest_request_nothing(acme, signed):
    """`[@,@]` doubled 30 times is 2^30 copies once dumped as a key: bounded, it is no key."""
    doubling = "payload" + " | [@,@]" * 28
    started = time.process_time()
    assert ordering.key_of(doubling, {"payload": {"a": "b" * 100}}) == ""
    assert time.process_time() - started < 0.5


# --- batches: one round trip for a claim's many messages, each with its own bound ---


def test_a_batch_fails_only_its_bomb(settings):
    settings.SANDBOX_CPU_SECONDS = 0.1
    results = sandbox.pool().call_many("tests.sandbox_targets:spin", [[0.001], [5.0], [0.001]])
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], sandbox.SandboxFailed) and results[1].reason == "cpu"


def test_a_batch_killed_whole_is_tried_again_one_by_one(settings):
    """A step no timer stops kills the batch; its innocent neighbours still succeed."""
    settings.SANDBOX_WALL_SECONDS = 0.5
    settings.SANDBOX_CPU_SECONDS = 0.05
    results = sandbox.pool().call_many(
        "tests.sandbox_targets:uninterruptible_spin", [[0.0], [10.0], [0.0]]
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert (results[1].reason, results[1].transient) == ("wall", False)


def test_the_renders_of_one_moment_go_as_one_round_trip(monkeypatch):
    from delivery import aio

    batches = []
    original = sandbox.Pool.call_many

    def counting(self, target, batch):
        batches.append(len(batch))
        return original(self, target, batch)

    monkeypatch.setattr(sandbox.Pool, "call_many", counting)

    async def many():
        event = {"payload": {"n": 1}}
        return await asyncio.gather(
            *(message_templates.render_async(f"#{n} {{{{ payload.n }}}}", event, Channel.TEXT)
              for n in range(40))
        )  # fmt: skip

    texts = aio.run(many())

    assert texts == [f"#{n} 1" for n in range(40)]
    assert sorted(batches) == [8, 32]  # MAX_BATCH a round trip
