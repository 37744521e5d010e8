"""Message templates for Slack and e-mail: one sandboxed Jinja2 engine, escaping per channel.

A tenant writes templates, so they run sandboxed (no attribute or method outside the safe set),
within bounds (output size, loop depth, `range` length), and every value is escaped for where
it lands: HTML for an e-mail's HTML part, Slack's three control characters for mrkdwn, nothing
for plain text. A template that does not compile or render against a sample event is refused
when the destination is saved, not dead-lettered at send time.
"""

from __future__ import annotations

import enum
import time
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from .events import sample_event

MAX_TEMPLATE_LENGTH = 20_000
MAX_OUTPUT_CHARS = 40_000
MAX_LOOP_DEPTH = 2
MAX_RANGE = 1000
MAX_SECONDS = 0.2


class Channel(enum.Enum):
    TEXT = "text"
    HTML = "html"
    MRKDWN = "mrkdwn"


class TemplateInvalid(ValueError):
    """The template is not one we will render; the message says why."""


def mrkdwn_escape(value: Any) -> str:
    # Slack's rule: only &, < and > are control characters in mrkdwn text.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range() longer than {MAX_RANGE}")
    return values


class _Sandbox(ImmutableSandboxedEnvironment):
    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # The default renders an unsafe attribute as empty; saying so at save time is clearer.
        raise SecurityError(f"access to attribute {attribute!r} is not allowed")


def _environment(channel: Channel) -> ImmutableSandboxedEnvironment:
    finalize = None
    if channel is Channel.MRKDWN:
        # Values are escaped; the template's own text (its links, <!here>) is not, nor a
        # value the author marked |safe.
        def finalize(value: Any) -> Any:
            return value if isinstance(value, Markup) else mrkdwn_escape(value)

    environment = _Sandbox(
        autoescape=channel is Channel.HTML,
        finalize=finalize,
        undefined=jinja2.ChainableUndefined,  # payload.missing.field renders empty, not an error
        keep_trailing_newline=True,
    )
    environment.globals = {"range": _bounded_range}
    return environment


_ENVIRONMENTS = {channel: _environment(channel) for channel in Channel}


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    deepest = depth
    for child in node.iter_child_nodes():
        deepest = max(deepest, _loop_depth(child, depth + isinstance(child, nodes.For)))
    return deepest


@lru_cache(maxsize=512)
def _compiled(source: str, channel: Channel) -> jinja2.Template:
    environment = _ENVIRONMENTS[channel]
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise TemplateInvalid(f"longer than {MAX_TEMPLATE_LENGTH} characters")
    try:
        tree = environment.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateInvalid(f"line {exc.lineno}: {exc.message}") from None
    if _loop_depth(tree) > MAX_LOOP_DEPTH:
        raise TemplateInvalid(f"loops nest deeper than {MAX_LOOP_DEPTH}")
    try:
        return environment.from_string(source)
    except jinja2.TemplateError as exc:  # an unknown filter or test is found when compiling
        raise TemplateInvalid(str(exc)) from None


def context(event: dict[str, Any]) -> dict[str, Any]:
    """What a template sees: the event's fields at top level, the payload as `payload`, and its
    items as `fields` (for a loop that lists a form's answers)."""
    payload = event.get("payload")
    items = list(payload.items()) if isinstance(payload, dict) else []
    return {**event, "event": event, "fields": items}


def render(source: str, event: dict[str, Any], channel: Channel) -> str:
    """Render within the bounds; TemplateInvalid when the template cannot be rendered."""
    template = _compiled(source, channel)
    # This thread's CPU time, not the clock's: a busy worker descheduled mid-render (or waiting
    # on the GIL) must not turn a cheap template into a permanent failure, dead-lettered.
    deadline = time.thread_time() + MAX_SECONDS
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context(event)):
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateInvalid(f"renders longer than {MAX_OUTPUT_CHARS} characters")
            if time.thread_time() > deadline:
                raise TemplateInvalid(f"takes longer than {MAX_SECONDS} s of CPU to render")
    except TemplateInvalid:
        raise
    except Exception as exc:  # the sandbox's SecurityError, a TypeError in a filter...
        raise TemplateInvalid(f"{type(exc).__name__}: {exc}") from None
    return "".join(parts)


def validate(source: Any, channel: Channel) -> str:
    """The template, if it compiles and renders against the sample event."""
    if not isinstance(source, str) or not source.strip():
        raise TemplateInvalid("must be a non-empty string")
    render(source, sample_event(tenant_id="t_sample"), channel)
    return source
