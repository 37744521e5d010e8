"""A template's or mapping's time bound counts the CPU it spends, not the clock: a worker that
is descheduled (or waits) mid-render must not dead-letter a cheap message as too slow. These
are the bounds inside the evaluation (render_here, what a sandbox child runs); the child's own
hard limits have their tests in test_sandbox.py."""

from __future__ import annotations

import time

import pytest

from delivery import mapping, message_templates
from delivery.message_templates import TemplateInvalid

PAUSE = mapping.MAX_SECONDS * 1.5


class SlowToRead(dict):
    """A payload whose reads wait (as a descheduled process does) without using the CPU."""

    def get(self, key, default=None):
        time.sleep(PAUSE)
        return super().get(key, default)

    def __str__(self) -> str:
        time.sleep(PAUSE)
        return "Jane"


def event(payload) -> dict:
    return {"submission_id": "s-1", "form_id": "contact", "payload": payload}


def test_a_template_that_waits_still_renders():
    started = time.monotonic()
    text = message_templates.render_here("Hi {{ payload }}!", event(SlowToRead()), "text")
    assert text == "Hi Jane!"
    assert time.monotonic() - started > message_templates.MAX_SECONDS  # it did wait


def test_a_template_that_burns_cpu_is_still_stopped():
    burner = (
        "{% for i in range(1000) %}{% for j in range(1000) %}"
        "{% if (i ~ '-' ~ j)|upper|reverse|length > 99 %}x{% endif %}{% endfor %}.{% endfor %}"
    )
    with pytest.raises(TemplateInvalid, match="of CPU to render"):
        message_templates.render_here(burner, event({}), "text")


def test_a_mapping_that_waits_still_evaluates():
    payload = SlowToRead(email="jane@example.com", name="Jane")
    started = time.monotonic()
    body = mapping.render_here(event(payload), {"to": "payload.email", "name": "payload.name"})
    assert body == {"to": "jane@example.com", "name": "Jane"}
    assert time.monotonic() - started > mapping.MAX_SECONDS


def test_a_mapping_that_burns_cpu_is_still_stopped(monkeypatch):
    monkeypatch.setattr(mapping, "MAX_STEPS", 10**9)  # the time bound, not the step bound
    rows = [{"n": n, "tags": [str(k) for k in range(20)]} for n in range(2000)]
    expensive = "payload.rows[*].tags[?@ != 'x'] | [*][?@ != 'y'] | [*][?@ != 'z']"
    with pytest.raises(mapping.MappingLimitExceeded, match="of CPU"):
        for _ in range(50):
            mapping.render_here(event({"rows": rows}), expensive)
