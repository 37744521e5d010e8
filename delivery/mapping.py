"""JMESPath mappings, evaluated within bounds a tenant cannot raise.

`payload | [@,@]` repeated 30 times is 250 characters and 2^30 copies of the payload: unbounded,
one tenant's mapping would stall the sender's event loop (and every other tenant's sends). Each
evaluation counts its steps, watches the clock, and sizes every intermediate value as the JSON it
would become (shared sub-values are sized once, so a doubling is caught at its first step); the
one function whose output outgrows its inputs, `join`, is sized before it runs.

Mappings are evaluated in core.sandbox's child processes (hard CPU and memory limits):
`render` and `validate` send them there; `render_here` and `validate_here` run in the child.
Ordering keys (delivery/ordering.py) use the same bounded interpreter in-process: they are
evaluated at fan-out, on the ingest path, and are at most 200 characters.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import functions as jmespath_functions
from jmespath.visitor import Options, TreeInterpreter

from core import sandbox

from . import sandboxed
from .events import sample_event

MAX_EXPRESSION_LENGTH = 2000
MAX_FIELDS = 200
# Output may be this large, or a few times the event, whichever is more.
MAX_OUTPUT_BYTES = 1024 * 1024
OUTPUT_TO_EVENT_RATIO = 4
MAX_STEPS = 200_000
MAX_SECONDS = 0.2


class MappingInvalid(ValueError):
    """The mapping is not one we will evaluate; the message says why."""


class MappingLimitExceeded(Exception):
    """An evaluation went past its size, step or time bound."""


# What render() may raise for one event: the same event would fail again (a permanent outcome).
RENDER_ERRORS = (MappingLimitExceeded, jmespath.exceptions.JMESPathError, MappingInvalid)


def _json_size(value: Any, memo: dict[int, int], keep: list[Any], limit: int) -> int:
    """Bytes of `value` as JSON (roughly), stopping once past `limit`."""
    if isinstance(value, str):
        return len(value) + 2
    if not isinstance(value, list | dict):
        return 8
    known = memo.get(id(value))
    if known is not None:
        return known
    total = 2
    if isinstance(value, dict):
        for key, child in value.items():
            total += len(key) + 4 + _json_size(child, memo, keep, limit)
            if total > limit:
                raise MappingLimitExceeded(f"its output is over {limit} bytes")
    else:
        for child in value:
            total += 1 + _json_size(child, memo, keep, limit)
            if total > limit:
                raise MappingLimitExceeded(f"its output is over {limit} bytes")
    memo[id(value)] = total
    keep.append(value)  # an id stays this object's while it is alive
    return total


class MappingBusy(sandbox.Busy):
    """The evaluation was stopped for time on a busy machine: the mapping may run later."""


class _BoundedFunctions(jmespath_functions.Functions):
    """JMESPath's functions, with join's output sized before it is built (a 1 MB separator
    between 100,000 items is 100 GB, made in one step)."""

    size_limit = MAX_OUTPUT_BYTES

    def call_function(self, function_name: str, resolved_args: list[Any]) -> Any:
        if function_name == "join" and len(resolved_args) == 2:
            separator, items = resolved_args
            if isinstance(separator, str) and isinstance(items, list):
                size = len(separator) * max(len(items) - 1, 0)
                size += sum(len(item) for item in items if isinstance(item, str))
                if size > self.size_limit:
                    raise MappingLimitExceeded(f"join's output is over {self.size_limit} bytes")
        return super().call_function(function_name, resolved_args)


class _BoundedInterpreter(TreeInterpreter):
    def __init__(self, event: dict[str, Any]) -> None:
        functions = _BoundedFunctions()
        super().__init__(Options(custom_functions=functions))
        # CPU time of this thread: a worker descheduled mid-evaluation is not a slow mapping
        # (its failure is permanent: the delivery would be dead-lettered for the machine's load).
        self.deadline = time.thread_time() + MAX_SECONDS
        self.steps = 0
        self._sizes: dict[int, int] = {}
        self._alive: list[Any] = []
        # Sized into the same memo as every result: a field the mapping reads is already known.
        event_size = _json_size(event, self._sizes, self._alive, 2**62)
        self.size_limit = max(MAX_OUTPUT_BYTES, OUTPUT_TO_EVENT_RATIO * event_size)
        functions.size_limit = self.size_limit

    def visit(self, node, *args, **kwargs):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise MappingLimitExceeded(f"it takes over {MAX_STEPS} steps")
        if time.thread_time() > self.deadline:
            raise MappingLimitExceeded(f"it runs for over {MAX_SECONDS} s of CPU")
        result = super().visit(node, *args, **kwargs)
        if isinstance(result, list | dict | str):
            _json_size(result, self._sizes, self._alive, self.size_limit)
        return result


@lru_cache(maxsize=1024)
def _compiled(mapping_json: str) -> Any:
    mapping = json.loads(mapping_json)
    if isinstance(mapping, str):
        return jmespath.compile(mapping)
    return {name: jmespath.compile(expression) for name, expression in mapping.items()}


def compile_mapping(mapping: Any) -> Any:
    """A JMESPath expression (str) or an object of field -> expression, compiled once."""
    if not isinstance(mapping, str | dict) or (
        isinstance(mapping, dict)
        and not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    ):
        raise MappingInvalid("mapping must be a JMESPath expression or an object of expressions")
    expressions = [mapping] if isinstance(mapping, str) else list(mapping.values())
    if isinstance(mapping, dict) and len(mapping) > MAX_FIELDS:
        raise MappingInvalid(f"mapping may have at most {MAX_FIELDS} fields")
    if sum(len(e) for e in expressions) > MAX_EXPRESSION_LENGTH:
        raise MappingInvalid(f"mapping may be at most {MAX_EXPRESSION_LENGTH} characters long")
    try:
        return _compiled(json.dumps(mapping, sort_keys=True))
    except jmespath.exceptions.JMESPathError as exc:
        raise MappingInvalid(f"mapping does not compile: {exc}") from None


def search(compiled: Any, event: dict[str, Any]) -> Any:
    """One compiled expression over an event, within the bounds (in this process)."""
    try:
        return _BoundedInterpreter(event).visit(compiled.parsed, event)
    except RecursionError:
        raise MappingLimitExceeded("it nests too deeply") from None


def render_here(event: dict[str, Any], mapping: Any) -> Any:
    """The body a mapping makes of an event, in this process (a sandbox child: callers use
    render). Raises MappingLimitExceeded past its bounds, and JMESPathError when the event does
    not fit it (a function given the wrong type)."""
    if not mapping:
        return event
    compiled = compile_mapping(mapping)
    interpreter = _BoundedInterpreter(event)
    try:
        if isinstance(compiled, dict):
            return {name: interpreter.visit(e.parsed, event) for name, e in compiled.items()}
        return interpreter.visit(compiled.parsed, event)
    except RecursionError:
        raise MappingLimitExceeded("it nests too deeply") from None


def validate_here(mapping: Any) -> None:
    """Refuse a mapping that does not compile, or that blows its bounds on a sample event (in a
    sandbox child: callers use validate)."""
    compile_mapping(mapping)
    try:
        render_here(sample_event(), mapping)
    except MappingLimitExceeded as exc:
        raise MappingInvalid(f"mapping refused: on a sample event {exc}") from None
    except jmespath.exceptions.JMESPathError:
        pass  # a sample need not fit every mapping's functions; the real events may


# The child's refusals by the name of what it raised, as the caller's exceptions.
_REFUSALS = {"MappingInvalid": MappingInvalid, "MappingLimitExceeded": MappingLimitExceeded}


def _refusal(exc: sandbox.SandboxFailed) -> Exception:
    if exc.transient:
        return MappingBusy(f"stopped on a busy machine ({exc.message}); retried")
    if exc.reason != "invalid":
        return MappingLimitExceeded(exc.message)
    refusal = _REFUSALS.get(exc.kind or "")
    if refusal is not None:
        return refusal(exc.message)
    # A JMESPath error: the event does not fit the mapping (a function given the wrong type).
    return jmespath.exceptions.JMESPathError(exc.message)


def _sandboxed(target: str, *args: Any) -> Any:
    try:
        return sandbox.call(f"delivery.mapping:{target}", *args)
    except sandbox.SandboxFailed as exc:
        raise _refusal(exc) from None


def render(event: dict[str, Any], mapping: Any) -> Any:
    """The body a mapping makes of an event, evaluated in a sandbox process (blocking: keep it
    off an event loop, or use render_async). Raises RENDER_ERRORS for this event, MappingBusy
    when a busy machine stopped it (worth another try)."""
    if not mapping:
        return event
    return _sandboxed("render_here", event, mapping)


async def render_async(event: dict[str, Any], mapping: Any) -> Any:
    """render, from the sender's event loop: batched with the other evaluations of the moment
    (the loop never waits on the sandbox)."""
    if not mapping:
        return event
    try:
        return await sandboxed.evaluate("delivery.mapping:render_here", event, mapping)
    except sandbox.SandboxFailed as exc:
        raise _refusal(exc) from None


def validate(mapping: Any) -> None:
    """Refuse a mapping that does not compile, or that blows its bounds on a sample event
    (MappingInvalid); a 503 (MappingBusy) when a busy machine stopped the check."""
    try:
        _sandboxed("validate_here", mapping)
    except (MappingLimitExceeded, jmespath.exceptions.JMESPathError) as exc:
        raise MappingInvalid(f"mapping refused: on a sample event {exc}") from None
