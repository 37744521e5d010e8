"""The child side of core.sandbox: a process that evaluates tenant-written code (a template, a
mapping) one request at a time, under hard limits set before the first request.

Run as `python -m core.sandbox_child <limits JSON>` by core.sandbox, never by hand. Requests and
replies are length-prefixed JSON on stdin and stdout; a request is one evaluation (`args`) or a
batch of them (`batch`, each with its own CPU bound: one round trip for many cheap ones). Its
address space is capped (RLIMIT_AS: an allocation past it is a MemoryError, not the machine's
memory), each evaluation's CPU time is capped (ITIMER_VIRTUAL), and the parent kills it if a
request outlives its wall bound (a long step in C that no timer interrupts).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import struct
import sys
import time
from typing import Any, BinaryIO

HEADER = struct.Struct("!I")


class CpuLimit(BaseException):
    """Raised into the request's frame by the CPU timer (a BaseException: no template or filter
    catches it on the way out)."""


def _on_timer(signum: int, frame: Any) -> None:
    raise CpuLimit


def read_message(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    return json.loads(stream.read(length))


def write_message(stream: BinaryIO, message: Any) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _target(name: str, cache: dict[str, Any]) -> Any:
    if name not in cache:
        module, _, function = name.partition(":")
        cache[name] = getattr(importlib.import_module(module), function)
    return cache[name]


def _answer(function: Any, args: list[Any], cpu_seconds: float) -> dict[str, Any]:
    started = time.process_time()
    signal.setitimer(signal.ITIMER_VIRTUAL, cpu_seconds)
    try:
        result = function(*args)
        return {"ok": result, "cpu": time.process_time() - started}
    except CpuLimit:
        return {"error": "cpu", "message": f"takes more than {cpu_seconds} s of CPU"}
    except MemoryError:
        return {"error": "memory", "message": "needs more memory than it may use"}
    except RecursionError:
        return {"error": "invalid", "message": "nests too deeply"}
    except Exception as exc:  # the target's refusal (TemplateInvalid...): its message says why
        return {"error": "invalid", "message": str(exc), "type": type(exc).__name__}
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)


def _answer_batch(function: Any, batch: list[list[Any]], cpu_seconds: float) -> dict[str, Any]:
    """Each item with its own CPU bound; after a memory error the rest are left to the parent
    (this process exits once it has answered)."""
    results: list[dict[str, Any]] = []
    for args in batch:
        if results and results[-1].get("error") == "memory":
            results.append({"error": "skipped", "message": "not evaluated"})
            continue
        results.append(_answer(function, args, cpu_seconds))
    return {"results": results}


def ran_out_of_memory(reply: dict[str, Any]) -> bool:
    return reply.get("error") == "memory" or any(
        r.get("error") == "memory" for r in reply.get("results", ())
    )


def _load_settings() -> None:
    """Django's settings, loaded before the first request (importing them imports the project's
    package and Celery's app: over 0.1 s of CPU that would be charged to a tenant's first
    evaluation, refusing a trivial mapping as too slow on a busy machine)."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        from django.conf import settings

        settings.USE_TZ  # noqa: B018 (the read is what loads them)


def main() -> None:
    limits = json.loads(sys.argv[1])
    # Tenant-written code yields the CPU to the work it serves, from its first import on (a
    # child replaced after a bomb starts again: a tenant saving bombs in a loop must not starve
    # another tenant's ingest and deliveries on the same machine).
    os.nice(limits["niceness"])
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    cache: dict[str, Any] = {}
    _load_settings()
    for name in limits["preload"]:  # imported before the cap: the cap is for the tenant's code
        _target(name, cache)
    if limits["memory_bytes"]:
        cap = _address_space() + limits["memory_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    signal.signal(signal.SIGVTALRM, _on_timer)
    # Every message says how much CPU this process has used so far: the parent, killing it past
    # the wall bound, tells a starved child from a stuck one without reading /proc each time.
    write_message(replies, {"ready": True, "cpu_total": time.process_time()})
    while (request := read_message(requests)) is not None:
        function = _target(request["target"], cache)
        if "batch" in request:
            reply = _answer_batch(function, request["batch"], limits["cpu_seconds"])
        else:
            reply = _answer(function, request["args"], limits["cpu_seconds"])
        reply["cpu_total"] = time.process_time()
        write_message(replies, reply)
        if ran_out_of_memory(reply):
            return  # a process that ran out of memory is not trusted with the next request


if __name__ == "__main__":
    main()
