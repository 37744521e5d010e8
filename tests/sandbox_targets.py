"""Functions a test runs in a core.sandbox child (imported there by name): each misbehaves in
one way a tenant's template or mapping could."""

from __future__ import annotations

import signal
import time


def echo(value):
    return value


def spin(seconds: float) -> int:
    """Python bytecode burning CPU: the child's CPU timer stops it."""
    end, n = time.process_time() + seconds, 0
    while time.process_time() < end:
        n += 1
    return n


def sleep(seconds: float) -> str:
    """Using no CPU while the wall clock runs: what a starved child looks like from outside."""
    time.sleep(seconds)
    return "slept"


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def uninterruptible_spin(seconds: float) -> int:
    """A step no CPU timer interrupts (a C routine that never checks for signals): the timer's
    signal is held back while it burns the CPU."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM})
    return spin(seconds)


def settings_loaded() -> bool:
    """Whether Django's settings were loaded before this request (reading them does not load
    them: `configured` looks without touching)."""
    from django.conf import settings

    return settings.configured
