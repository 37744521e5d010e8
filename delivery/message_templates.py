"""Message templates for Slack and e-mail: one sandboxed Jinja2 engine, escaping per channel.

A tenant writes templates, so they run sandboxed (no attribute or method outside the safe set),
within bounds (output size, loop depth, `range` length, the operands of arithmetic), and every
value is escaped for where it lands: HTML for an e-mail's HTML part, Slack's three control
characters for mrkdwn, nothing for plain text. A template that does not compile or render
against a sample event is refused when the destination is saved, not dead-lettered at send time.

Compiling and rendering run in core.sandbox's child processes (hard CPU and memory limits):
`render`, `render_async` and `validate` are called by connectors and services; `render_here` is
what runs in the child.
"""

from __future__ import annotations

import enum
import operator
import re
import time
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from core import sandbox

from . import sandboxed
from .events import sample_event

MAX_TEMPLATE_LENGTH = 20_000
MAX_OUTPUT_CHARS = 40_000
MAX_LOOP_DEPTH = 2
MAX_RANGE = 1000
MAX_SECONDS = 0.2
# Arithmetic a template may do: integers up to this many bits, strings and lists up to the
# output's size. Bounded before the operation runs (Jinja would fold `10**(10**7)` at compile).
MAX_INT_BITS = 4096
MAX_SEQUENCE = MAX_OUTPUT_CHARS
# printf-style widths and precisions that would allocate before any bound is checked.
_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{4,}|\d*\.(\*|\d{4,}))")


class Channel(enum.Enum):
    TEXT = "text"
    HTML = "html"
    MRKDWN = "mrkdwn"


class TemplateInvalid(ValueError):
    """The template is not one we will render; the message says why."""


class TemplateBusy(sandbox.Busy):
    """The render was stopped for time on a busy machine: the template may render later."""


def mrkdwn_escape(value: Any) -> str:
    # Slack's rule: only &, < and > are control characters in mrkdwn text.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range() longer than {MAX_RANGE}")
    return values


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _check_format(template: Any) -> None:
    if isinstance(template, str) and _WIDE_FORMAT.search(template):
        raise SecurityError("a format width or precision over 999 is not allowed")


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be past the bounds, before it runs."""
    if op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if max(_int_bits(left), 1) * right > MAX_INT_BITS and abs(left) > 1:
            raise SecurityError(f"a power over {MAX_INT_BITS} bits is not allowed")
    elif op == "*":
        if isinstance(left, int) and isinstance(right, int):
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                raise SecurityError(f"a product over {MAX_INT_BITS} bits is not allowed")
        else:
            count = right if isinstance(right, int) else left if isinstance(left, int) else 0
            if max(_sized(left), _sized(right)) * max(count, 0) > MAX_SEQUENCE:
                raise SecurityError(f"a repetition longer than {MAX_SEQUENCE} is not allowed")
    elif op == "+" and _sized(left) + _sized(right) > MAX_SEQUENCE:
        raise SecurityError(f"a concatenation longer than {MAX_SEQUENCE} is not allowed")
    elif op == "%":
        _check_format(left)


_BINOPS = {"**": operator.pow, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
           "+": operator.add}  # fmt: skip


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
    from jinja2.filters import do_format

    _check_format(str(value))
    return do_format(value, *args, **kwargs)


def _bounded_width(name: str) -> Any:
    """center, indent and wordwrap with a width that is bounded."""
    from jinja2 import filters

    original = filters.FILTERS[name]

    def bounded(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if isinstance(width, int) and width > MAX_SEQUENCE:
            raise SecurityError(f"{name} wider than {MAX_SEQUENCE} is not allowed")
        return original(value, width, *args, **kwargs)

    return bounded


class _Sandbox(ImmutableSandboxedEnvironment):
    # Intercepted operators are never folded at compile time and go through call_binop.
    intercepted_binops = frozenset(_BINOPS)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _BINOPS[operator](left, right)

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
    environment.filters["format"] = _bounded_format
    for name in ("center", "indent", "wordwrap"):
        environment.filters[name] = _bounded_width(name)
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


def render_here(source: str, event: dict[str, Any], channel: str) -> str:
    """Render in this process, within the bounds; TemplateInvalid when it cannot be rendered.
    Runs in a core.sandbox child: callers use render()."""
    template = _compiled(source, Channel(channel))
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


_RENDER = "delivery.message_templates:render_here"


def _refusal(exc: sandbox.SandboxFailed) -> Exception:
    if exc.transient:
        return TemplateBusy(f"stopped on a busy machine ({exc.message}); retried")
    return TemplateInvalid(exc.message)


def _sandboxed(source: str, event: dict[str, Any], channel: Channel) -> str:
    try:
        return sandbox.call(_RENDER, source, event, channel.value)
    except sandbox.SandboxFailed as exc:
        raise _refusal(exc) from None


async def render_async(source: str, event: dict[str, Any], channel: Channel) -> str:
    """render, from the sender's event loop: batched with the other renders of the moment."""
    try:
        return await sandboxed.evaluate(_RENDER, source, event, channel.value)
    except sandbox.SandboxFailed as exc:
        raise _refusal(exc) from None


def render(source: str, event: dict[str, Any], channel: Channel) -> str:
    """The rendered template, from a sandbox process (blocking: keep it off an event loop).
    TemplateInvalid when the template cannot be rendered, TemplateBusy when a busy machine
    stopped it (worth another try)."""
    return _sandboxed(source, event, channel)


def validate(source: Any, channel: Channel) -> str:
    """The template, if it compiles and renders against the sample event (in a sandbox
    process). A template stopped for time on a busy machine is refused too: it is saved only
    once it renders: TemplateBusy, a 503 to the caller)."""
    if not isinstance(source, str) or not source.strip():
        raise TemplateInvalid("must be a non-empty string")
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise TemplateInvalid(f"longer than {MAX_TEMPLATE_LENGTH} characters")
    _sandboxed(source, sample_event(tenant_id="t_sample"), channel)
    return source
