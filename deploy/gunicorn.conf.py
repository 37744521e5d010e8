"""gunicorn settings, overridable from the environment (PORT, WEB_CONCURRENCY, WEB_THREADS)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
# Sync workers: the fastest per request here (bench-ingest), and safe only behind a buffering
# proxy (nginx in docker-compose.yml, the ALB on AWS), which holds slow clients and hands over
# whole requests. A sync worker facing clients directly is held by any one that trickles
# (tests/faults/test_slow_clients.py shows three suffice); never publish gunicorn's port.
worker_class = "gthread" if threads > 1 else "sync"
# Keep-alive lets a load balancer (or wrk) reuse connections.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# A worker stuck past this is killed and replaced (nginx waits 35 s, a little longer).
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# gunicorn 27 opens a control socket at one fixed path per user; two servers would fight over it.
control_socket_disable = True
