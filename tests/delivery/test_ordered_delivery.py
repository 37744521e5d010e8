"""Ordered (FIFO) destinations in the engine: one delivery in flight per key, in received order;
a failing head blocks only its own key; dead letters and replay keep the documented rules."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Invalid
from delivery import dispatcher, engine, lifecycle
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def ordered(acme, receiver):
    def make(**fields):
        fields.setdefault("retry_schedule", [60])
        return delivery_services.destination_create(
            tenant=acme.tenant, name="fifo", config={"url": receiver.url("/hook")},
            ordering_key="payload.customer", max_concurrency=0, **fields,
        ).destination  # fmt: skip

    return make


def arrivals(receiver) -> list[tuple[str, int]]:
    return [(r.event["payload"]["customer"], r.event["payload"]["n"]) for r in receiver.at("/hook")]


def submit(signed, acme, customers: list[str], start: int = 0) -> None:
    for n, customer in enumerate(customers, start):
        signed.submit(acme, payload={"customer": customer, "n": n})


def test_each_key_goes_one_at_a_time_in_received_order(signed, acme, receiver, ordered):
    ordered()
    submit(signed, acme, ["a", "b", "a", "b", "a"])

    first = engine.deliveries_claim(limit=50)

    # One head per key is claimed; the others wait for their turn, out of the due set.
    assert sorted(c.job.event["payload"]["n"] for c in first) == [0, 1]
    waiting = Delivery.objects.filter(next_attempt_at__isnull=True)
    assert waiting.count() == 3
    assert {d.ordering_key for d in Delivery.objects.all()} == {"a", "b"}
    engine.deliveries_record(dispatcher.send_batch(first))
    dispatcher.drain()

    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 5
    for key in ("a", "b"):
        sent = [n for k, n in arrivals(receiver) if k == key]
        assert sent == sorted(sent)


def test_a_failing_head_blocks_only_its_key(signed, acme, receiver, ordered):
    ordered()
    receiver.set("/hook", [503, 200])  # the first request (a's head) fails
    signed.submit(acme, payload={"customer": "a", "n": 0})
    dispatcher.drain()
    submit(signed, acme, ["a", "b", "b", "a"], start=1)

    dispatcher.drain()

    # b flowed; a's head waits for its retry and a's later events wait behind it.
    assert [n for k, n in arrivals(receiver) if k == "b"] == [2, 3]
    assert [n for k, n in arrivals(receiver) if k == "a"] == [0]
    head = Delivery.objects.get(submission__payload__n=0, submission__payload__customer="a")
    assert head.status == DeliveryStatus.RETRYING
    # Its retry comes due: a's events follow in order.
    Delivery.objects.filter(pk=head.pk).update(next_attempt_at=timezone.now())
    dispatcher.drain()
    assert [n for k, n in arrivals(receiver) if k == "a"] == [0, 0, 1, 4]


def test_a_dead_head_hands_over_and_replay_puts_it_back_in_its_place(
    signed, acme, receiver, ordered
):
    destination = ordered()
    receiver.set("/hook", [400, 200])  # a's head is refused for good
    submit(signed, acme, ["a", "a"])
    dispatcher.drain()
    dead = Delivery.objects.get(status=DeliveryStatus.DEAD)
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 1
    # Replayed, the dead letter is the oldest open delivery of its key again: the next event
    # of that key waits for it.
    submit(signed, acme, ["a"], start=2)
    delivery_services.deliveries_replay(destination=destination, delivery_ids=[dead.id])
    claimed = engine.deliveries_claim(limit=50)
    assert [c.job.delivery_id for c in claimed] == [dead.id]
    engine.deliveries_record(dispatcher.send_batch(claimed))
    dispatcher.drain()
    assert [n for _, n in arrivals(receiver)] == [0, 1, 0, 2]


def test_a_head_left_waiting_is_promoted_by_the_sweep(signed, acme, receiver, ordered, monkeypatch):
    ordered()
    submit(signed, acme, ["a"])
    # The race the sweep covers: the head parked as if behind a predecessor that is gone.
    lifecycle.wait_turn(list(Delivery.objects.values_list("id", flat=True)), now=timezone.now())
    # The claim's own sweep has just run (else, 5 s after the last one, it would promote it).
    monkeypatch.setattr(engine, "_last_sweep", time.monotonic())
    assert engine.deliveries_claim(limit=10) == []

    promoted = lifecycle.promote_stalled(now=timezone.now())

    assert promoted == 1
    dispatcher.drain()
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_a_disabled_destinations_waiting_heads_stay_put(signed, acme, ordered):
    destination = ordered()
    submit(signed, acme, ["a"])
    delivery_services.destination_update(destination=destination, enabled=False)
    engine.deliveries_claim(limit=10)  # parks it: the destination is disabled

    assert lifecycle.promote_stalled(now=timezone.now() + timedelta(seconds=1)) == 0


def test_ordering_key_is_checked_on_save(acme):
    with pytest.raises(Invalid) as refused:
        delivery_services.destination_create(
            tenant=acme.tenant, name="bad", config={"url": "https://93.184.216.34/h"},
            ordering_key="payload.[[",
        )  # fmt: skip
    assert refused.value.field == "ordering_key"
    with pytest.raises(Invalid) as refused:
        delivery_services.destination_create(
            tenant=acme.tenant, name="inbox", kind="inbox", ordering_key="form_id"
        )
    assert refused.value.field == "ordering_key"
