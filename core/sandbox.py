"""Tenant-written code (message templates, JMESPath mappings) evaluated outside the calling
process, with hard limits on CPU time and memory.

A template is code: Jinja folds constants when it compiles, filters allocate in C, and neither
checks a bound between two output chunks. Run in the web worker or on the delivery event loop,
one tenant's template could stall every tenant's requests and sends. Here each evaluation runs
in a child process (core/sandbox_child.py) whose address space is capped, whose CPU time per
request is capped, and which is killed when a request outlives its wall bound. The calling
thread only waits on a pipe; a killed child is replaced on the next call.

A CPU or wall trip is reported as `transient` when the child used less CPU than its bound (a
busy machine starved it): at send time that is a retry, never a dead letter.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from .errors import Unavailable
from .sandbox_child import ran_out_of_memory, read_message, write_message

logger = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A child that does not answer within this after starting is broken, not slow.
_START_SECONDS = 30.0


class SandboxFailed(Exception):
    """The evaluation was refused or stopped. `reason`: invalid (the code's own error), cpu,
    memory, wall (killed mid-step) or crashed; `transient` when trying again may succeed."""

    def __init__(
        self, reason: str, message: str, *, transient: bool = False, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.transient = transient
        # The class name of what the evaluated code raised (reason "invalid").
        self.kind = kind


class Busy(Unavailable):
    """An evaluation stopped for time on a busy machine: the same code may run later (a retry
    at send, 503 with Retry-After at save)."""

    code = "busy"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float
    wall_seconds: float
    memory_bytes: int


def limits() -> Limits:
    return Limits(
        cpu_seconds=settings.SANDBOX_CPU_SECONDS,
        wall_seconds=settings.SANDBOX_WALL_SECONDS,
        memory_bytes=settings.SANDBOX_MEMORY_BYTES,
    )


def _cpu_of(pid: int) -> float:
    """The CPU seconds a process has used (Linux /proc; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


class _Child:
    def __init__(self, preload: tuple[str, ...], bounds: Limits) -> None:
        arguments = {"preload": list(preload), "cpu_seconds": bounds.cpu_seconds,
                     "memory_bytes": bounds.memory_bytes,
                     "niceness": settings.SANDBOX_NICENESS}  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
            [sys.executable, "-m", "core.sandbox_child", json.dumps(arguments)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_ROOT,
        )
        ready = self._reply(_START_SECONDS)
        if ready is None:
            self.kill()
            raise SandboxFailed("crashed", "the sandbox process did not start", transient=True)
        # The CPU the child had used when it last answered: where a request's CPU starts.
        self.cpu_total: float = ready["cpu_total"]

    def _reply(self, seconds: float) -> dict[str, Any] | None:
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        if not ready:
            return None
        try:
            return read_message(self.process.stdout)
        except (OSError, ValueError):
            return None

    def exchange(self, request: dict[str, Any], bounds: Limits) -> dict[str, Any]:
        """One request and its reply; past the wall bound the child is killed and the reply
        says whether it was starved (transient) or stuck in one step (not)."""
        try:
            write_message(self.process.stdin, request)
        except (BrokenPipeError, OSError):
            raise SandboxFailed("crashed", "the sandbox process exited", transient=True) from None
        reply = self._reply(bounds.wall_seconds)
        if reply is not None:
            self.cpu_total = reply.pop("cpu_total", self.cpu_total)
            return reply
        used = _cpu_of(self.process.pid) - self.cpu_total
        alive = self.process.poll() is None
        self.kill()
        if not alive:
            return {"error": "crashed", "message": "the sandbox process exited", "transient": True}
        # Killed mid-step. Starved (it ran for less than its CPU bound): the machine's load,
        # not the code. Else one step in C ran past every bound: the code's fault.
        return {
            "error": "wall",
            "message": f"did not finish within {bounds.wall_seconds} s",
            "transient": used < bounds.cpu_seconds,
        }

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


def _outcome(target: str, reply: dict[str, Any]) -> Any:
    """An evaluation's reply as its value, or the SandboxFailed it stands for (returned)."""
    if "error" not in reply:
        return reply["ok"]
    reason = reply["error"]
    if reason in ("cpu", "wall", "crashed", "memory"):
        logger.warning("sandbox: %s stopped (%s): %s", target, reason, reply["message"])
    return SandboxFailed(
        reason, reply["message"], transient=bool(reply.get("transient")), kind=reply.get("type")
    )


class Pool:
    """Up to `size` children, started on first need, shared by this process's threads."""

    def __init__(self, size: int, preload: tuple[str, ...]) -> None:
        self.preload = preload
        self._idle: queue.LifoQueue[_Child | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a slot whose child is started when it is first taken

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        bounds = limits()
        child = self._idle.get()
        reply: dict[str, Any] | None = None
        try:
            if child is None or not child.alive:
                child = _Child(self.preload, bounds)
            reply = child.exchange(request, bounds)
        except SandboxFailed:
            child = None
            raise
        finally:
            if child is not None and reply is not None and ran_out_of_memory(reply):
                child.kill()  # it exits after answering: never hand it the next request
            self._idle.put(child if child is not None and child.alive else None)
        return reply

    def call(self, target: str, *args: Any) -> Any:
        """`target` ("module:function") applied to JSON-able `args` in a child; its JSON-able
        result, or SandboxFailed."""
        result = _outcome(target, self._exchange({"target": target, "args": list(args)}))
        if isinstance(result, SandboxFailed):
            raise result
        return result

    def call_many(self, target: str, batch: list[list[Any]]) -> list[Any]:
        """`target` applied to each argument list in one round trip, each with its own CPU
        bound: a value or a SandboxFailed per item. A batch stopped as a whole (killed past its
        wall bound) is evaluated again one by one, so only the item at fault fails."""
        if len(batch) == 1:
            return [self._captured(target, batch[0])]
        reply = self._exchange({"target": target, "batch": batch})
        if "results" not in reply:
            return [self._captured(target, args) for args in batch]
        return [
            self._captured(target, args) if result.get("error") == "skipped"
            else _outcome(target, result)
            for args, result in zip(batch, reply["results"], strict=True)
        ]  # fmt: skip

    def _captured(self, target: str, args: list[Any]) -> Any:
        try:
            return self.call(target, *args)
        except SandboxFailed as exc:
            return exc


_pools: dict[int, Pool] = {}
_pools_lock = threading.Lock()


def pool() -> Pool:
    """This process's pool (a forked child, a Celery pool process, makes its own)."""
    pid = os.getpid()
    with _pools_lock:
        if pid not in _pools:
            _pools[pid] = Pool(settings.SANDBOX_PROCESSES, tuple(settings.SANDBOX_PRELOAD))
        return _pools[pid]


def call(target: str, *args: Any) -> Any:
    return pool().call(target, *args)


def shutdown() -> None:
    """Stop this process's children (tests; they also exit when the parent's pipe closes)."""
    with _pools_lock:
        found = _pools.pop(os.getpid(), None)
    if found is None:
        return
    while True:
        try:
            child = found._idle.get_nowait()
        except queue.Empty:
            return
        if child is not None:
            child.kill()
