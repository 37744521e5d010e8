"""The kernel: errors, ids, time, db helpers, crypto, counters and HTTP helpers every app uses.

It imports no app (tests/test_imports.py holds that), so anything may import it.
"""

__version__ = "0.1.0"
